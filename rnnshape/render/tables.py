"""The Rich view of a Report: tables that fit an 80-column terminal. Reads only the Report."""

from __future__ import annotations

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from rnnshape.render import fmt
from rnnshape.report import ParamInfo, Report


def render(report: Report) -> RenderableType:
    return Group(
        header(report),
        Text(),
        parameters_table(report),
        Text(),
        tensors_table(report),
        Text(),
        totals_table(report),
        *([Text(), timing_table(report)] if report.timing else []),
    )


def print_report(report: Report, console: Console) -> None:
    console.print(render(report))


def header(report: Report) -> RenderableType:
    p = report.prediction
    spec = p.spec
    status = (
        Text(f"verified by torch {report.torch_version}", style="green")
        if report.verified
        else Text("predicted without torch (--dry-run): not run, not timed", style="yellow")
    )
    facts = Text(f"{spec.device} · {spec.dtype.value} · ")
    facts.append_text(status)
    return Group(Text(p.module_repr, style="bold"), facts)


def _legend(report: Report) -> str:
    return "  ".join(f"{k}={v}" for k, v in report.prediction.symbols)


def parameters_table(report: Report) -> Table:
    params = report.prediction.parameters
    show_gates = any(q.gates for q in params)
    table = Table(title="Parameters", title_justify="left", box=box.SIMPLE_HEAD, caption=_legend(report),
                  caption_justify="left", pad_edge=False)
    table.add_column("name", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("numel", justify="right", no_wrap=True)
    table.add_column("from", no_wrap=True)
    if show_gates:
        table.add_column("row blocks", no_wrap=True)
    group = None
    for q in params:
        key = (q.module, q.layer, q.direction)
        if group is not None and key != group:
            table.add_section()
        group = key
        style = "magenta" if q.direction else None
        row = [q.name, fmt.shape(q.shape), fmt.count(q.numel), fmt.dims(q.dims, " × ")[1:-1]]
        if show_gates:
            row.append(_gates(q))
        table.add_row(*row, style=style)
    return table


def _gates(q: ParamInfo) -> str:
    if not q.gates:
        return "projection" if q.name.split(".")[-1].startswith("weight_hr") else ""
    return " ".join(q.gates)


def tensors_table(report: Report) -> RenderableType:
    p = report.prediction
    table = Table(title="Tensors", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("dims", no_wrap=True)
    for role, tensors in (("in", p.inputs), ("out", p.outputs)):
        for i, t in enumerate(tensors):
            table.add_row(role if i == 0 else "", t.name, fmt.shape(t.shape), fmt.dims(t.dims),
                          end_section=i == len(tensors) - 1)
    notes = _grouped_notes(p.inputs + p.outputs)
    if not notes:
        return table
    lines = [Text.assemble((f"{names}: ", "bold"), note) for names, note in notes]
    return Group(table, *lines)


def _grouped_notes(tensors) -> list[tuple[str, str]]:
    """One line per distinct note, naming every tensor it applies to (notes are '; '-separated parts)."""
    by_note: dict[str, list[str]] = {}
    for t in tensors:
        for part in (t.note or "").split("; "):
            if part:
                by_note.setdefault(part, []).append(t.name)
    return [(", ".join(names), note) for note, names in by_note.items()]


def totals_table(report: Report) -> Table:
    p = report.prediction
    t = p.totals
    dtype = p.spec.dtype.value
    weights = t.macs // t.steps if t.steps else 0
    table = Table(title="Totals", title_justify="left", box=box.SIMPLE_HEAD, show_header=False, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(ratio=1)
    table.add_row("parameters", fmt.count(t.parameters), _keras_note(report))
    table.add_row("parameter memory", fmt.nbytes(t.parameter_bytes), f"{fmt.count(t.parameter_bytes)} B at {dtype}")
    table.add_row("MACs / forward", fmt.count(t.macs),
                  f"{fmt.count(t.steps)} steps × {fmt.count(weights)} weights (biases excluded)")
    table.add_row("FLOPs / forward", fmt.count(t.flops), "2 × MACs")
    table.add_row("input memory", fmt.nbytes(t.input_bytes), ", ".join(x.name for x in p.inputs))
    table.add_row("output memory", fmt.nbytes(t.output_bytes), ", ".join(x.name for x in p.outputs))
    return table


def _keras_note(report: Report) -> str:
    spec = report.prediction.spec
    t = report.prediction.totals
    if t.keras_parameters is None:
        return "Keras has no LSTM projection to compare with"
    if t.keras_parameters != t.parameters:
        return f"Keras counts {fmt.count(t.keras_parameters)}: one bias vector where torch keeps two"
    if spec.kind.value == "gru" and spec.bias:
        return "Keras GRU (reset_after=True) counts the same"
    return ""


def timing_table(report: Report) -> Table:
    from rnnshape.render.timing_table import timing_table as table

    return table(report)
