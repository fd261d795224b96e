"""Compare a requested configuration with a checkpoint's module and say, in words, why it would not load.

``rnnshape lstm ... --check FILE`` and ``rnnshape inspect FILE --against "lstm ..."`` both end here.
Torch-free: the requested side is the predictor's parameter list, the checkpoint side its header shapes.

>>> from rnnshape.checkpoint.files import Entry
>>> from rnnshape.checkpoint.inspection import find_modules
>>> from rnnshape.model.spec import make_spec
>>> found = find_modules([Entry("weight_ih_l0", (80, 10), "float32"), Entry("weight_hh_l0", (80, 20), "float32"),
...                       Entry("weight_ih_l0_reverse", (80, 10), "float32"),
...                       Entry("weight_hh_l0_reverse", (80, 20), "float32")])
>>> [m.message for m in check_module(make_spec("lstm", input_size=10, bias=False), found[0]).mismatches]
['the checkpoint has 2 directions (weight_ih_l0_reverse ...): add --bidirectional']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rnnshape.checkpoint.inspection import Recovered
from rnnshape.errors import UsageError
from rnnshape.model import options
from rnnshape.model.predict import predict
from rnnshape.model.spec import Kind, Module, Spec


@dataclass(frozen=True)
class Mismatch:
    field: str  # a constructor argument: kind, cell, input_size, hidden_size, num_layers, ...
    requested: object
    checkpoint: object
    message: str
    loads: bool = False  # load_state_dict would take the weights, but the module would compute another function


@dataclass(frozen=True)
class LoadCheck:
    """What load_state_dict(strict=True) of the checkpoint's module into the requested one would meet."""

    file: str
    requested: Spec
    module: Recovered
    considered: int  # recurrent modules in the file (the closest one is compared)
    mismatches: tuple[Mismatch, ...]
    missing: tuple[tuple[str, tuple[int, ...]], ...]  # (name, requested shape): not in the checkpoint
    unexpected: tuple[tuple[str, tuple[int, ...]], ...]  # (name, checkpoint shape): not in the requested module
    size_mismatch: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]  # name, checkpoint, requested
    torch_load: str | None = None  # why torch.load (weights_only=True, its default) refuses the file; None: it reads it

    @property
    def loads(self) -> bool:
        """load_state_dict(strict=True) would take the checkpoint's tensors."""
        return not (any(not m.loads for m in self.mismatches) or self.missing or self.unexpected or self.size_mismatch)

    @property
    def match(self) -> bool:
        """It loads, computes the same function, and torch.load reads the file."""
        return self.loads and not self.mismatches and self.torch_load is None


def load_check(spec: Spec, modules: tuple[Recovered, ...], file: str, checkpoint=None) -> LoadCheck:
    """Compare ``spec`` with the closest recurrent module among ``modules`` (the file's ``checkpoint``)."""
    if spec.is_stack:
        raise UsageError(
            f"--check compares one module, but a --hidden-size list stacks {len(spec.modules())} "
            f"(got {','.join(str(h) for h in spec.hidden_sizes())})",
            hint="compare one size at a time, or use rnnshape inspect FILE to see every module",
        )
    if not modules:
        raise UsageError(f"{file} holds no recurrent module to compare with",
                         hint=f"run rnnshape inspect {file} to see what it holds")
    refusal = torch_load_refusal(checkpoint) if checkpoint is not None else None
    results = [dataclasses.replace(check_module(spec, m, file, len(modules)), torch_load=refusal) for m in modules]
    return min(results, key=_distance)


# Globals whose call runs commands, code or file operations: a pickle that names one is an attack, not a checkpoint.
_DANGEROUS = ("os.", "posix.", "nt.", "subprocess.", "builtins.eval", "builtins.exec", "builtins.open",
              "builtins.__import__", "builtins.compile", "builtins.getattr", "io.open", "sys.", "shutil.", "socket.",
              "runpy.", "importlib.", "pty.", "webbrowser.", "code.", "ctypes.", "pickle.", "marshal.")


def torch_load_refusal(ckpt) -> str | None:
    """Why ``torch.load(FILE)`` with its default weights_only=True (torch >= 2.6) does not return this file's
    contents, or None when it does. rnnshape read it anyway, inertly; the user's own code would not.
    """
    if ckpt.format == "pickle":
        return ("torch.load cannot read it: it is a plain pickle (pickle.dump), not torch.save's format"
                + (f"; pickle.load would import {_names(ckpt.foreign)}" if ckpt.foreign else "")
                + (" — which runs code: do not load it" if _dangerous(ckpt.foreign) else ""))
    if ckpt.reader != "inert" or ckpt.format not in ("pytorch zip", "pytorch legacy"):
        return None
    names = _names(ckpt.foreign) if ckpt.foreign else "a global outside its allowlist"
    if _dangerous(ckpt.foreign):
        return (f"torch.load (weights_only=True, its default) refuses it: the pickle names {names}, which runs "
                f"code when loaded: never load it with weights_only=False")
    listed = f"[{', '.join(ckpt.foreign)}]" if ckpt.foreign and len(ckpt.foreign) <= 4 else "[...those classes]"
    return (f"torch.load (weights_only=True, its default) refuses it: the pickle names {names}; load it inside "
            f"torch.serialization.safe_globals({listed}), or with weights_only=False if you trust the file")


def _names(foreign: tuple[str, ...]) -> str:
    return ", ".join(foreign[:4]) + (f" and {len(foreign) - 4} more" if len(foreign) > 4 else "")


def _dangerous(foreign: tuple[str, ...]) -> bool:
    return any(n.startswith(_DANGEROUS) for n in foreign)


def _distance(c: LoadCheck) -> tuple[int, int, int]:
    """Closest first: recognised, then fewest differences in words (a kind or cell change weighs most)."""
    words = sum(3 if m.field in ("kind", "cell") else 1 for m in c.mismatches)
    return (0 if c.module.recognised else 1, words,
            len(c.missing) + len(c.unexpected) + len(c.size_mismatch))


def check_module(spec: Spec, module: Recovered, file: str = "", considered: int = 1) -> LoadCheck:
    requested = {p.name: p.shape for p in predict(spec).parameters}
    saved = module.local()
    return LoadCheck(
        file=file,
        requested=spec,
        module=module,
        considered=considered,
        mismatches=tuple(_mismatches(spec.modules()[0], module.module) + _function(spec.modules()[0], module))
        if module.recognised else (),
        missing=tuple((n, s) for n, s in requested.items() if n not in saved),
        unexpected=tuple((n, s) for n, s in saved.items() if n not in requested),
        size_mismatch=tuple((n, saved[n], requested[n]) for n in requested if n in saved and saved[n] != requested[n]),
    )


def _mismatches(want: Module, have: Module) -> list[Mismatch]:
    out: list[Mismatch] = []

    def add(field, message):
        out.append(Mismatch(field, getattr(want, field), getattr(have, field), message))

    sfx = "" if have.cell else "_l0"
    name = have.kind.torch_name + ("Cell" if have.cell else "")
    if want.kind is not have.kind:
        rows = have.kind.gates * have.hidden_size
        article = "a" if have.kind is Kind.GRU else "an"
        add("kind", f"the checkpoint holds {article} {name} (weight_ih{sfx} has {rows} rows = "
                    f"{have.kind.gates}·H with H={have.hidden_size}): use the {have.kind.value} command")
    if want.cell != have.cell:
        add("cell", "the checkpoint holds a cell (weight_ih, no _l0 suffix): add --cell" if have.cell
            else "the checkpoint holds a layer module (weight_ih_l0 ...), not a cell: drop --cell")
    if want.cell == have.cell:  # directions, layers and projection only line up between the same sort
        if want.bidirectional != have.bidirectional:
            add("bidirectional",
                "the checkpoint has 2 directions (weight_ih_l0_reverse ...): add --bidirectional" if have.bidirectional
                else "the checkpoint has 1 direction (no _reverse parameters): drop --bidirectional")
        if want.num_layers != have.num_layers:
            last = have.num_layers - 1
            add("num_layers", f"the checkpoint has {have.num_layers} layer{'s' if last else ''} (weight_ih_l0"
                              f"{f' … weight_ih_l{last}' if last else ''}): use --layers {have.num_layers} "
                              f"(got {want.num_layers})")
        if want.proj_size != have.proj_size:
            add("proj_size", _proj_message(want, have))
    if want.hidden_size != have.hidden_size:
        where = (f"weight_hr_l0 is {have.proj_size, have.hidden_size}" if have.proj_size
                 else f"weight_hh{sfx} is {(have.kind.gates * have.hidden_size, have.hidden_size)}")
        add("hidden_size", f"the checkpoint's hidden size is {have.hidden_size} ({where}): "
                           f"use --hidden-size {have.hidden_size} (got {want.hidden_size})")
    if want.input_size != have.input_size:
        shape = (have.kind.gates * have.hidden_size, have.input_size)
        add("input_size", f"{'the' if have.cell else 'layer 0'} input is {have.input_size} wide in the checkpoint "
                          f"(weight_ih{sfx} is {shape}): use --input-size {have.input_size} (got {want.input_size})")
    if want.bias != have.bias:
        add("bias", f"the checkpoint has no biases (no bias_ih{sfx}): add --no-bias" if not have.bias
            else f"the checkpoint has biases (bias_ih{sfx}, bias_hh{sfx}): drop --no-bias")
    return out


def _function(want: Module, found: Recovered) -> list[Mismatch]:
    """What the file records of the function beyond the shapes: the weights would load, the outputs differ."""
    have, out = found.module, []
    if want.kind is not have.kind or want.cell != have.cell:
        return out
    if "batch_first" in found.stored and want.batch_first != have.batch_first:
        out.append(Mismatch("batch_first", want.batch_first, have.batch_first, loads=True, message=(
            "the file stores batch_first=True (input (N, L, H_in)): add --batch-first" if have.batch_first else
            "the file stores batch_first=False (input (L, N, H_in)): drop --batch-first")))
    if "nonlinearity" in found.stored and want.nonlinearity != have.nonlinearity:
        out.append(Mismatch("nonlinearity", want.nonlinearity, have.nonlinearity, loads=True, message=(
            f"the file stores nonlinearity={have.nonlinearity!r}: use --nonlinearity {have.nonlinearity} "
            f"(got {want.nonlinearity})")))
    for why in found.untorchable:
        out.append(Mismatch("function", None, why, loads=True,
                            message=f"the file computes what no torch module can: {why}"))
    return out


def _proj_message(want: Module, have: Module) -> str:
    if not have.proj_size:
        return "the checkpoint has no projection (no weight_hr_l0): drop --proj-size"
    shape = (have.proj_size, have.hidden_size)
    fix = f"add --proj-size {have.proj_size}" if not want.proj_size else \
        f"use --proj-size {have.proj_size} (got {want.proj_size})"
    if have.num_layers > 1:
        return (f"layer 1 input is {have.directions * have.proj_size} wide: the checkpoint was saved with "
                f"proj_size {have.proj_size} (weight_hr_l0 is {shape}): {fix}")
    return f"the checkpoint was saved with proj_size {have.proj_size} (weight_hr_l0 is {shape}): {fix}"


def command_line(spec: Spec) -> str:
    """The rnnshape command that builds ``spec``'s module: what to run instead (the one spec writer)."""
    return options.command_line(spec, input=False)
