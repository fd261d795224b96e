"""The Rich view of a Report: tables that fit an 80-column terminal. Reads only the Report."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rnnshape.model.memory import MARGIN, MARGIN_BYTES, estimate
from rnnshape.model.report import ParamInfo, Report
from rnnshape.render import fmt
from rnnshape.render.fit import Fit
from rnnshape.render.layout import AtWidth
from rnnshape.render.words import Verbatim, Words

NOTE_WIDTH = 24  # narrower than this, the notes of the Totals go under their numbers


def render(report: Report, *, with_header: bool = True) -> RenderableType:
    """The whole report (or all below its header); it lays itself out for the console that prints it."""
    return AtWidth(lambda width: Group(
        *([header(report)] if with_header else []),
        Text(),
        parameters_table(report, width),
        Text(),
        tensors_table(report, width),
        Text(),
        totals_table(report),
        *([Text(), timing_table(report)] if report.timing else []),
        *([Text(), _deploy(report)] if report.deploy else []),
    ))


def _deploy(report: Report) -> RenderableType:
    from rnnshape.render.deploy import deploy_view

    return deploy_view(report.deploy)


def header(report: Report) -> RenderableType:
    p = report.prediction
    spec = p.spec
    status = (
        Text(f"verified by torch {report.torch_version}", style="green")
        if report.verified
        else Text("predicted without torch (--dry-run): not run, not timed", style="yellow")
    )
    facts = [Text(spec.device), Text(spec.dtype.value), status]
    if report.verified and report.timing is None:
        facts.append(Text("not timed" + (" (meta holds no data)" if spec.device == "meta" else "")))
    lines = [Verbatim(p.module_repr, style="bold"), Words(facts, sep=" · ")]
    if spec.nonlinearity == "relu" and not spec.cell:
        lines.append(Words("nonlinearity relu (torch's repr of RNN does not show it)", style="bold"))
    return Group(*lines)


def _legend(report: Report) -> str:
    return "  ".join(f"{k}={v}" for k, v in report.prediction.symbols)


def parameters_table(report: Report, width: int | None = None) -> Fit:
    """Every parameter torch registers; at a narrow width "row blocks" and "from" go first (``width`` is
    kept for callers; the table fits whatever console prints it)."""
    params = report.prediction.parameters
    rows = [
        (q, [q.name, fmt.shape(q.shape), fmt.count(q.numel), fmt.dims(q.dims, " × ")[1:-1], _gates(q)])
        for q in params
    ]
    headers = ["name", "shape", "numel", "from", "row blocks"]
    if not any(q.gates for q in params):
        headers = headers[:-1]
    table = Table(title="Parameters", title_justify="left", box=box.SIMPLE_HEAD, caption=_legend(report),
                  caption_justify="left", pad_edge=False)
    for h in headers:
        table.add_column(h, no_wrap=True, justify="right" if h == "numel" else "left")
    group = None
    for q, cells in rows:
        key = (q.module, q.layer, q.direction)
        if group is not None and key != group:
            table.add_section()
        group = key
        table.add_row(*cells[:len(headers)], style="magenta" if q.direction else None)
    return Fit(table, drop=("row blocks", "from"))


def _gates(q: ParamInfo) -> str:
    if not q.gates:
        return "projection" if q.name.split(".")[-1].startswith("weight_hr") else ""
    return " ".join(q.gates)


def tensors_table(report: Report, width: int | None = None) -> RenderableType:
    p = report.prediction
    rows = []
    for role, tensors in (("in", p.inputs), ("out", p.outputs)):
        for i, t in enumerate(tensors):
            rows.append((role if i == 0 else "", t.name, fmt.shape(t.shape), fmt.dims(t.dims), i == len(tensors) - 1))
    table = Table(title="Tensors", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for h in ("", "name", "shape", "dims"):
        table.add_column(h, no_wrap=True)
    for r in rows:
        table.add_row(*r[:4], end_section=r[4])
    fitted = Fit(table, drop=("dims", ""))
    notes = _grouped_notes(p.inputs + p.outputs)
    if not notes and not p.reading:
        return fitted
    lines: list[RenderableType] = [Words(Text.assemble((f"{names}: ", "bold"), note), indent=2)
                                   for names, note in notes]
    if p.reading:
        lines.append(Words(Text.assemble(("your tensor ", "bold"), p.reading[0]), indent=2))
        lines += [Verbatim(Text.assemble(("  hint: ", "yellow"), line)) for line in p.reading[1:]]  # to copy
    return Group(fitted, *lines)


def _grouped_notes(tensors) -> list[tuple[str, str]]:
    """One line per distinct note, naming every tensor it applies to (notes are '; '-separated parts)."""
    by_note: dict[str, list[str]] = {}
    for t in tensors:
        for part in (t.note or "").split("; "):
            if part:
                by_note.setdefault(part, []).append(t.name)
    return [(", ".join(names), note) for note, names in by_note.items()]


def totals_table(report: Report) -> Fit:
    p = report.prediction
    t = p.totals
    dtype = p.spec.dtype.value
    weights = t.macs // t.steps if t.steps else 0
    table = Table(title="Totals", title_justify="left", box=box.SIMPLE_HEAD, show_header=False, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(ratio=1, min_width=NOTE_WIDTH)
    table.add_row("parameters", fmt.count(t.parameters), _keras_note(report))
    table.add_row("parameter memory", fmt.nbytes(t.parameter_bytes), f"{fmt.count(t.parameter_bytes)} B at {dtype}")
    table.add_row("MACs / forward", fmt.count(t.macs),
                  f"{fmt.count(t.steps)} steps × {fmt.count(weights)} weights (biases excluded) · "
                  f"{steps_defined(p.spec)}")
    flops_note = "2 × MACs"
    if report.flops_counted is not None:
        flops_note += f"; FlopCounterMode on meta counts {fmt.count(report.flops_counted)}: equal"
    table.add_row("FLOPs / forward", fmt.count(t.flops), flops_note)
    table.add_row("input memory", fmt.nbytes(t.input_bytes), ", ".join(x.name for x in p.inputs))
    table.add_row("output memory", fmt.nbytes(t.output_bytes), ", ".join(x.name for x in p.outputs))
    # the same with --dry-run as after torch ran: a timed run measures it under Timing
    table.add_row("peak memory", fmt.nbytes(estimate(p, backward=False)[1]),
                  "forward at its peak, estimated without torch")
    if report.memory is not None:  # --backward untimed: the training step, predicted, with its parts
        m = report.memory
        parts = " · ".join(f"{name} {fmt.nbytes(b)}" for name, b in m.parts)
        table.add_row("training memory", fmt.nbytes(m.estimate_bytes),
                      f"forward+backward at its peak, estimated without torch: {parts} "
                      f"(+ {MARGIN:.0%} + {fmt.nbytes(MARGIN_BYTES)} margin)".replace("%", " %"))
    return Fit(table)


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


def steps_defined(spec) -> str:
    """What a "step" is, said where steps are counted: one (sequence, time step) pair."""
    if spec.lengths is not None:
        return f"steps: sum(lengths) = {fmt.count(sum(spec.lengths))} real (sequence, time step) pairs"
    if spec.batch is None:
        return f"steps: L = {fmt.count(spec.seq_len)} time steps of the one sequence"
    return f"steps: L × N = {fmt.count(spec.seq_len)} × {fmt.count(spec.batch)} (sequence, time step) pairs"


def timing_table(report: Report) -> Fit:
    from rnnshape.render.timing_table import timing_table as table

    return Fit(table(report))
