"""Compare a requested configuration with a checkpoint's module and say, in words, why it would not load.

``rnnshape lstm ... --check FILE`` and ``rnnshape inspect FILE --against "lstm ..."`` both end here.
Torch-free: the requested side is the predictor's parameter list, the checkpoint side its header shapes.

>>> from rnnshape.checkpoint.files import Entry
>>> from rnnshape.checkpoint.recover import find_modules
>>> from rnnshape.model.spec import make_spec
>>> found = find_modules([Entry("weight_ih_l0", (80, 10), "float32"), Entry("weight_hh_l0", (80, 20), "float32"),
...                       Entry("weight_ih_l0_reverse", (80, 10), "float32"),
...                       Entry("weight_hh_l0_reverse", (80, 20), "float32")])
>>> [m.message for m in check_module(make_spec("lstm", input_size=10, bias=False), found[0]).mismatches]
['the checkpoint has 2 directions (weight_ih_l0_reverse ...): add --bidirectional']
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnshape.checkpoint.recover import Recovered
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

    @property
    def match(self) -> bool:
        return not (self.mismatches or self.missing or self.unexpected or self.size_mismatch)


def load_check(spec: Spec, modules: tuple[Recovered, ...], file: str) -> LoadCheck:
    """Compare ``spec`` with the closest recurrent module among ``modules`` (the file's)."""
    if spec.is_stack:
        raise UsageError(
            f"--check compares one module, but a --hidden-size list stacks {len(spec.modules())} "
            f"(got {','.join(str(h) for h in spec.hidden_sizes())})",
            hint="compare one size at a time, or use rnnshape inspect FILE to see every module",
        )
    if not modules:
        raise UsageError(f"{file} holds no recurrent module to compare with",
                         hint=f"run rnnshape inspect {file} to see what it holds")
    results = [check_module(spec, m, file, len(modules)) for m in modules]
    return min(results, key=_distance)


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
        mismatches=tuple(_mismatches(spec.modules()[0], module.module)) if module.recognised else (),
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
