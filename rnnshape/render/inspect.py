"""The views of `rnnshape inspect`, `--check` and `--save-state-dict`: Rich tables (each module gets the main
command's tables) and the JSON documents (schema_version 1, shapes as lists)."""

from __future__ import annotations

from enum import Enum

from rich import box
from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from rnnshape.checkpoint.against import LoadCheck, command_line
from rnnshape.checkpoint.convert import TOLERANCE, Conversion
from rnnshape.checkpoint.inspection import Inspection, Recovered, not_stored
from rnnshape.model.report import Report, document_header
from rnnshape.render import fmt, tables
from rnnshape.render.deploy import group_dict
from rnnshape.render.fit import Fit
from rnnshape.render.words import Verbatim, Words
from rnnshape.views.code import constructor


def prefix_text(prefix: str) -> str:
    return prefix or "(top level)"


def render_inspection(ins: Inspection) -> RenderableType:
    parts: list[RenderableType] = [_file_line(ins), *_notes(ins.notes)]
    for where, values in ins.checkpoint.hyperparameters:
        parts += [Text(), _hyperparameters(where, values)]
    if len(ins.modules) > 1:
        parts += [Text(), _summary(ins.modules)]
    for m in ins.modules:
        parts += [Text(), render_module(m)]
    if ins.checkpoint.onnx:
        from rnnshape.render.deploy import group_tables

        for g in ins.checkpoint.onnx:
            parts += [Text(), Rule(Text(f"{prefix_text(g.prefix)} in the ONNX graph", style="bold"), align="left"),
                      *group_tables(g)]
    return Group(*parts)


def _file_line(ins: Inspection) -> Words:
    ckpt = ins.checkpoint
    n = len(ins.modules)
    return Words([Text(ckpt.file, style="bold"), ckpt.format, fmt.counted(len(ckpt.entries), "tensor"),
                  fmt.counted(n, "recurrent module")], sep=" · ")


def _notes(notes) -> list[Words]:
    return [Words(Text.assemble(("note: ", "cyan"), n), indent=2) for n in notes]


def _summary(modules: tuple[Recovered, ...]) -> Fit:
    table = Table(title="Recurrent modules", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("prefix", no_wrap=True)
    table.add_column("constructor", ratio=1)
    table.add_column("parameters", justify="right", no_wrap=True)
    for m in modules:
        numel = sum(_numel(e.shape) for e in m.entries)
        what = Text(m.constructor) if m.recognised else Text("not recognised", style="red")
        table.add_row(prefix_text(m.prefix), what, fmt.count(numel))
    return Fit(table)


_SHOWN = 12  # hyperparameters in the table; the JSON has them all


def _hyperparameters(where: str, values) -> RenderableType:
    """The constructor arguments training code saved beside the weights (size-holding names first)."""
    more = len(values) - _SHOWN
    title = Words(Text.assemble((f"Hyperparameters in {where}", "bold"),
                                f" (first {_SHOWN} of {len(values)}; --json has all)" if more > 0 else ""))
    table = Table(box=None, pad_edge=False, show_header=False, padding=(0, 3, 0, 1))
    table.add_column("name", no_wrap=True)
    table.add_column("value", ratio=1)
    for name, value in values[:_SHOWN]:
        table.add_row(name, repr(value))
    return Group(title, Fit(table))


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def render_module(m: Recovered) -> RenderableType:
    title = Rule(Text(prefix_text(m.prefix), style="bold"), align="left")
    if not m.recognised:
        why = Text.assemble(("not recognised: ", "red"), m.reason or "")
        return Group(title, why, *_candidates(m), _raw_table(m))
    spec = m.spec
    facts = Words([spec.dtype.value, f"{fmt.counted(len(m.entries), 'tensor')}, names and shapes exactly as predicted",
                   f"tensors for a dummy batch L={spec.seq_len}, N={spec.batch}"], sep=" · ")
    title = Group(title, Verbatim(m.constructor, style="bold green"))
    report = Report(m.prediction, verified=False, torch_version=None, timing=None)
    return Group(
        title, facts, *_notes(m.notes), *_untorchable(m), *_candidates(m), Text(),
        tables.parameters_table(report), Text(), tables.tensors_table(report), Text(), tables.totals_table(report),
    )


def _untorchable(m: Recovered) -> list[Words]:
    said = " ".join(m.notes)  # a reader may already have said it in a note
    return [Words(Text.assemble(("not torch's function: ", "bold red"), why), indent=2)
            for why in m.untorchable if why not in said]


def _candidates(m: Recovered) -> list[Text]:
    if not m.candidates:
        return []
    return [Text("candidates (the shapes fit each):")] + [Verbatim("  " + c.constructor) for c in m.candidates]


def _raw_table(m: Recovered) -> Fit:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("name", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("dtype", no_wrap=True)
    for e in m.entries:
        table.add_row(e.name, fmt.shape(e.shape), e.dtype)
    return Fit(table)


def render_load_check(c: LoadCheck) -> RenderableType:
    where = f"{c.module.prefix!r} in {c.file}" if c.module.prefix else f"the top-level module of {c.file}"
    if c.considered > 1:
        where += (f" (the closest of {c.considered} recurrent modules; pick another with "
                  f"rnnshape inspect FILE --prefix NAME --against ...)")
    found = (Verbatim("checkpoint " + c.module.constructor) if c.module.constructor
             else Words(Text.assemble("checkpoint ", (f"not recognised: {c.module.reason}", "red")), indent=11))
    parts: list[RenderableType] = [Words("compared with " + where),
                                   Verbatim("requested  " + constructor(c.requested.modules()[0])), found, Text()]
    n = len(c.mismatches)
    differences = f": {n} difference{'s' if n != 1 else ''}" if n else ""
    if c.loads and not c.mismatches:
        parts.append(Words(f"✓ matches: load_state_dict(strict=True) would load all {len(c.module.entries)} "
                           f"tensors", style="green"))
    elif c.loads:
        parts.append(Words(f"✗ loads, but computes another function{differences}", style="bold red"))
    else:
        parts.append(Text("✗ would not load" + differences, style="bold red"))
    if c.torch_load:
        parts.append(Words(Text.assemble(("✗ ", "bold red"), c.torch_load), indent=2))
    if c.loads and not c.mismatches:
        parts += _notes(c.module.notes)
        return Group(*parts)
    if c.mismatches:
        bullets = Table.grid(padding=(0, 1))
        bullets.add_column(no_wrap=True)
        bullets.add_column()
        for x in c.mismatches:
            bullets.add_row(" •", Words(x.message))
        parts.append(bullets)
    if not c.loads:
        parts += [Text(), _load_table(c)]
    if c.module.recognised and not c.module.untorchable:
        parts.append(Verbatim(Text.assemble(("fix: ", "bold"), command_line(c.module.spec))))  # to copy whole
    return Group(*parts)


def render_conversion(c: Conversion) -> RenderableType:
    """What was written, into which module it loads, and how each was checked."""
    n = sum(len(m.keys) for m in c.modules)
    parts: list[RenderableType] = [Words([Text(c.out, style="bold"), c.format, fmt.counted(n, "tensor"),
                                          f"from {c.file}"], sep=" · ")]
    for m in c.modules:
        parts += [Text(), Rule(Text(prefix_text(m.prefix), style="bold"), align="left"),
                  Verbatim(m.constructor, style="bold green"),
                  Words(f"✓ load_state_dict(strict=True) takes all {len(m.keys)} tensors ({m.dtype}); the file "
                        f"read back bit for bit", style="green")]
        if m.compared_with:
            parts.append(Words(f"✓ outputs match {m.compared_with} on a random input {fmt.shape(m.input_shape)}: "
                               f"max |diff| {m.max_abs_diff:.2g} (allowed {TOLERANCE:g} × max(1, |y|))",
                               style="green", indent=2))
        else:
            parts.append(Words(f"outputs not compared: {m.not_compared}", indent=2))
    parts += [Text(), Text("load it:", style="bold"), *(Verbatim("  " + line) for line in _load_code(c))]
    return Group(*parts)


def _load_code(c: Conversion) -> list[str]:
    """The Python that loads the file into the printed module (the first module when there are several)."""
    m = c.modules[0]
    read = ["from safetensors.torch import load_file", f"sd = load_file({c.out!r})"] if c.format == "safetensors" \
        else [f"sd = torch.load({c.out!r})"]
    net = f"net = {m.constructor}"
    if not c.prefixed:
        return [*read, net, "net.load_state_dict(sd)"]
    cut = m.prefix + "."
    return [*read, f"{net}  # {m.prefix}", f"net.load_state_dict({{k.removeprefix({cut!r}): v for k, v in sd.items() "
                                           f"if k.startswith({cut!r})}})"]


def _load_table(c: LoadCheck) -> Fit:
    table = Table(title="load_state_dict(strict=True) would report", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("checkpoint", no_wrap=True)
    table.add_column("requested", no_wrap=True)
    for name, have, want in c.size_mismatch:
        table.add_row("size mismatch", name, fmt.shape(have), fmt.shape(want))
    for name, want in c.missing:
        table.add_row("missing", name, "-", fmt.shape(want))
    for name, have in c.unexpected:
        table.add_row("unexpected", name, fmt.shape(have), "-")
    return Fit(table)


# JSON

_FIELDS = ("input_size", "hidden_size", "num_layers", "bidirectional", "proj_size", "bias")


def module_dict(r: Recovered) -> dict:
    m = r.module
    doc = {"prefix": r.prefix, "recognised": r.recognised, "kind": m.kind.value if m else None, "cell": r.cell}
    doc.update({f: getattr(m, f) if m else None for f in _FIELDS})
    doc.update({
        "dtype": r.spec.dtype.value if r.spec else None,
        "constructor": r.constructor,
        "command": command_line(r.spec) if r.spec else None,
        "parameters": [{"name": e.name, "shape": list(e.shape), "dtype": e.dtype} for e in r.entries],
        "candidates": [
            {"kind": c.kind.value, "cell": c.cell, "nonlinearity": c.nonlinearity, "constructor": c.constructor}
            for c in r.candidates
        ],
    })
    unknown = not_stored(r)  # a default is never reported as a fact: null, and why, beside it
    doc.update({f: None if (m is None or f in unknown) else getattr(m, f) for f in ("batch_first", "dropout",
                                                                                       "nonlinearity")})
    doc.update({"not_stored": unknown, "untorchable": list(r.untorchable), "reason": r.reason,
                "notes": list(r.notes)})
    return doc


def inspection_dict(ins: Inspection) -> dict:
    ckpt = ins.checkpoint
    return {
        **document_header(),
        "file": ckpt.file,
        "format": ckpt.format,
        "location": list(ckpt.location),
        "reader": ckpt.reader,
        "foreign": list(ckpt.foreign),
        "module_class": ckpt.module_class,
        "origin": ckpt.origin,
        "files": list(ckpt.files),
        "config": dict(ckpt.config),
        "hyperparameters": [{"where": where, "values": dict(values)} for where, values in ckpt.hyperparameters],
        "tensors": len(ckpt.entries),
        "modules": [module_dict(m) for m in ins.modules],
        "onnx": [group_dict(g) for g in ckpt.onnx],
        "notes": list(ins.notes),
    }


def _plain(value):
    return value.value if isinstance(value, Enum) else value


def load_check_dict(c: LoadCheck) -> dict:
    m = c.requested.modules()[0]
    return {
        **document_header(),
        "file": c.file,
        "prefix": c.module.prefix,
        "considered": c.considered,
        "match": c.match,
        "loads": c.loads,
        "torch_load": c.torch_load,
        "requested": {"constructor": constructor(m), "command": command_line(c.requested)},
        "checkpoint": module_dict(c.module),
        "mismatches": [
            {"field": x.field, "requested": _plain(x.requested), "checkpoint": _plain(x.checkpoint),
             "message": x.message, "loads": x.loads}
            for x in c.mismatches
        ],
        "missing": [{"name": n, "requested": list(want)} for n, want in c.missing],
        "unexpected": [{"name": n, "checkpoint": list(have)} for n, have in c.unexpected],
        "size_mismatch": [
            {"name": n, "checkpoint": list(saved), "requested": list(want)} for n, saved, want in c.size_mismatch
        ],
    }


def conversion_dict(c: Conversion) -> dict:
    return {
        **document_header(),
        "file": c.file,
        "out": c.out,
        "format": c.format,
        "modules": [
            {"prefix": m.prefix, "constructor": m.constructor, "keys": list(m.keys), "dtype": m.dtype,
             "loaded_strict": True, "compared_with": m.compared_with, "max_abs_diff": m.max_abs_diff,
             "input_shape": list(m.input_shape) if m.input_shape else None, "not_compared": m.not_compared}
            for m in c.modules
        ],
        "tolerance": TOLERANCE,
        "notes": list(c.notes),
    }
