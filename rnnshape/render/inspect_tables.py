"""The Rich views of `rnnshape inspect` and `--check`. Each module gets the main command's tables."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from rnnshape.checkpoint.against import LoadCheck, command_line
from rnnshape.checkpoint.inspection import Inspection
from rnnshape.checkpoint.recover import Recovered
from rnnshape.model.report import Report
from rnnshape.render import fmt, tables
from rnnshape.render.fit import Fit
from rnnshape.render.words import Verbatim, Words
from rnnshape.views.code import constructor


def prefix_text(prefix: str) -> str:
    return prefix or "(top level)"


def render_inspection(ins: Inspection) -> RenderableType:
    parts: list[RenderableType] = [_file_line(ins), *_notes(ins.notes)]
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
    return Words([Text(ckpt.file, style="bold"), ckpt.format, f"{fmt.count(len(ckpt.entries))} tensors",
                  f"{n} recurrent module{'' if n == 1 else 's'}"], sep=" · ")


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
    facts = Words([spec.dtype.value, f"{len(m.entries)} tensors, names and shapes exactly as predicted",
                   f"tensors for a dummy batch L={spec.seq_len}, N={spec.batch}"], sep=" · ")
    title = Group(title, Verbatim(m.constructor, style="bold green"))
    report = Report(m.prediction, verified=False, torch_version=None, timing=None)
    return Group(
        title, facts, *_notes(m.notes), *_candidates(m), Text(),
        tables.parameters_table(report), Text(), tables.tensors_table(report), Text(), tables.totals_table(report),
    )


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
    if c.match:
        parts.append(Words(f"✓ matches: load_state_dict(strict=True) would load all {len(c.module.entries)} "
                           f"tensors", style="green"))
        parts += _notes(c.module.notes)
        return Group(*parts)
    n = len(c.mismatches)
    parts.append(Text("✗ would not load" + (f": {n} difference{'s' if n != 1 else ''}" if n else ""),
                      style="bold red"))
    if c.mismatches:
        bullets = Table.grid(padding=(0, 1))
        bullets.add_column(no_wrap=True)
        bullets.add_column()
        for x in c.mismatches:
            bullets.add_row(" •", Words(x.message))
        parts.append(bullets)
    parts += [Text(), _load_table(c)]
    if c.module.recognised:
        parts.append(Verbatim(Text.assemble(("fix: ", "bold"), command_line(c.module.spec))))  # to copy whole
    return Group(*parts)


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
