"""The Rich view of a Report: tables that fit an 80-column terminal, the Timing table (each time with its spread,
rates, the kernel path, the memory); and the sweep's line chart. Reads only the results."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from rnnshape.model.memory import MARGIN, MARGIN_BYTES, estimate
from rnnshape.model.report import FUSED_OPS, Kernel, Memory, ParamInfo, Report
from rnnshape.model.stats import SLOW_FACTOR, Rates, ThreadChoice, timed
from rnnshape.render import fmt
from rnnshape.render.fit import Fit
from rnnshape.render.words import AtWidth, Verbatim, Words

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
        *([Text(), Fit(timing_table(report))] if report.timing else []),
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
                  f"{fmt.counted(t.steps, 'step')} × {fmt.count(weights)} weights (biases excluded) · "
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


# The Timing table

LABELS = {"forward": "forward", "backward": "fwd+bwd", "loop": "loop", "padded": "padded"}
# Each kernel path (rnnshape.model.report.Kernel.path) in words: (a compare column's, the Timing table's)
PATHS = {
    "onednn": ("oneDNN fused", "oneDNN fused kernel"),
    "cudnn": ("cuDNN fused", "cuDNN fused kernel"),
    "miopen": ("MIOpen fused", "MIOpen fused kernel"),
    "aten": ("aten per step", "plain aten ops: matmuls step by step"),
}
TEXT_WIDTH = 71  # 80 columns less the label column
MATMULS = ("aten.addmm", "aten.mm", "aten.bmm", "aten.baddbmm", "aten.linear", "aten.matmul")


def timing_table(report: Report) -> Table:
    timing = report.timing
    # No box: "forward  1.84 ms ± 0.06 (IQR) · … · 120 runs × 10 calls · 2 threads" is 80 columns already.
    table = Table(title="Timing", title_justify="left", box=None, show_header=False, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(ratio=1)
    for row in timed(report):
        key, s, r, relative = row.key, row.stats, row.rates, row.relative
        table.add_row(LABELS[key], Text(fmt.stats_line(s), style="yellow" if s.noisy or s.stalled else ""))
        caveat = fmt.caveat(s)
        if caveat:
            table.add_row("", Text(caveat, style="yellow"))
        table.add_row("", f"{fmt.seconds(r.per_step_s)}/step · {fmt.count(round(r.steps_per_s))} steps/s · "
                          f"{r.gflops:.3g} GFLOP/s")
        if relative is not None:
            table.add_row("", _comparison(report, key, r, relative))
    c = timing.threads
    if c and (c.probes or c.skipped or c.fallback):  # not for a plain --threads 1: the line above says it
        table.add_row("threads", threads_text(c))
    if timing.kernel:
        table.add_row("kernel", _kernel_text(timing.kernel, report.prediction.totals.flops))
    if timing.memory:
        table.add_row("memory", _memory_text(timing.memory, report.spec.device))
    return table


def threads_text(c: ThreadChoice) -> str:
    """`1: fastest in a probe of 1 and 2 threads (2.10 ms, 6.31 ms; torch's default 2 is 3.0 × slower)`."""
    text = f"{c.threads}: {c.reason}"
    probed = [p for p in c.probes if p.samples]
    if probed:
        text += f" ({', '.join(fmt.seconds(p.median) for p in probed)} per call"
        slow = c.asked_slowdown if c.asked else c.default_slowdown
        if slow is not None and slow >= SLOW_FACTOR:
            text += f"; {c.asked or c.default} threads {_times(slow)} slower than 1"
        text += ")"
    return text


def _comparison(report: Report, key: str, r: Rates, relative: float) -> str:
    if key == "backward":
        return f"{_times(relative)} the forward; GFLOP/s taken on 3 × the forward's FLOPs"
    if key == "loop":
        kernel = report.timing.kernel
        fused = kernel is not None and kernel.path != "aten"
        module = "the fused module" if fused else f"nn.{report.prediction.spec.kind.torch_name} (no fused kernel)"
        return f"{module} is {_faster(relative)} than this per-step cell loop"
    real = report.prediction.totals.steps
    return (f"{fmt.count(r.steps)} tokens, {fmt.count(real)} real ({real / r.steps:.0%}): "
            f"packed is {_faster(relative)} than padded").replace("%)", " %)")


def _times(x: float) -> str:
    return f"{x:.1f} ×" if x < 10 else f"{x:,.0f} ×"


def _faster(relative: float) -> str:
    return f"{_times(relative)} faster" if relative >= 1 else f"{_times(1 / relative)} slower"


def _kernel_text(k: Kernel, flops: int) -> str:
    ops = dict(k.ops)
    if k.path == "aten":
        shown = [(n, c) for n, c in k.ops if n in MATMULS]
    else:
        shown = [(n, c) for n, c in k.ops if n.split(".")[-1] in FUSED_OPS]
    calls = ", ".join(f"{n} × {c}" for n, c in shown) or f"{sum(ops.values())} ops"
    line = f"{PATHS[k.path][1] if k.path in PATHS else k.path} ({calls})\n"
    counted = k.flop_counter_flops
    if counted == 0 and flops:
        return line + f"FlopCounterMode counts 0 of {fmt.count(flops)} FLOPs (the fused op hides them)"
    if counted < flops:
        return line + f"FlopCounterMode counts {fmt.count(counted)} of {fmt.count(flops)} FLOPs"
    if counted == flops:
        return line + f"FlopCounterMode counts all {fmt.count(flops)} FLOPs: it sees every matmul"
    return line + f"FlopCounterMode counts {fmt.count(counted)} FLOPs (rnnshape counts {fmt.count(flops)})"


def _memory_text(m: Memory, device: str) -> str:
    parts = "\n".join(_joined([f"{name} {fmt.nbytes(b)}" for name, b in m.parts], width=TEXT_WIDTH))
    margin = f"{MARGIN:.0%}".replace("%", " %")
    line = (f"estimate {fmt.nbytes(m.estimate_bytes)} for {m.peak_of} "
            f"(peak model + {margin} + {fmt.nbytes(MARGIN_BYTES)})\n{parts}")
    if m.peak_bytes is not None:
        how = "torch.cuda.max_memory_allocated" if device.startswith("cuda") else "profiler allocation events"
        line += f"\nmeasured {fmt.nbytes(m.peak_bytes)} ({how}): estimate {m.estimate_bytes / m.peak_bytes:.2f} ×"
    return line


def _joined(items: list[str], width: int) -> list[str]:
    """Items joined by ' · ', broken into lines between items (never inside one) to fit ``width``."""
    lines = [items[0]]
    for item in items[1:]:
        if len(lines[-1]) + 3 + len(item) <= width:
            lines[-1] += " · " + item
        else:
            lines.append(item)
    return lines


# A line chart drawn with text (the sweep's)

MARKERS = ("●", "■", "▲", "◆", "✚", "○")
COLORS = ("cyan", "magenta", "green", "yellow", "blue", "red")
LOG_SPAN = 10.0  # a wider range than this (max/min) gets a log axis


@dataclass(frozen=True)
class Series:
    name: str  # in the legend; "" for a single unnamed series
    points: tuple[tuple[float, float], ...]  # (x, y), in x order


class _Axis:
    """Maps values to [0, 1], on a log scale when they are positive and span more than LOG_SPAN."""

    def __init__(self, values: Sequence[float], log: bool | None = None) -> None:
        lo, hi = min(values), max(values)
        self.log = lo > 0 and (hi / lo > LOG_SPAN if log is None else log)
        self.lo, self.hi = (math.log10(lo), math.log10(hi)) if self.log else (lo, hi)

    def frac(self, v: float) -> float:
        t = math.log10(v) if self.log else v
        return 0.5 if self.hi == self.lo else (t - self.lo) / (self.hi - self.lo)

    def value(self, frac: float) -> float:
        t = self.lo + frac * (self.hi - self.lo)
        return 10**t if self.log else t


class LineChart:
    """A line chart drawn with text for any console: markers joined by dots, log axes when the values span
    more than 10×, no plotting library.

    >>> c = Console(width=40, color_system=None, record=True, file=open("/dev/null", "w"))
    >>> c.print(LineChart([Series("", ((1, 1), (2, 2)))], x_label="x", y_label="y", y_format=str, height=3))
    >>> print(c.export_text())
    y
    2.0 ┤                         ········●
    1.5 ┤         ················
    1.0 ┤●········
        └──────────────────────────────────
         1                                2
         x
    <BLANKLINE>
    """

    def __init__(self, series: Sequence[Series], *, x_label: str, y_label: str,
                 y_format: Callable[[float], str], x_format: Callable[[float], str] = lambda v: f"{v:g}",
                 height: int = 11, max_width: int = 100) -> None:
        self.series = [s for s in series if s.points]
        self.x_label, self.y_label = x_label, y_label
        self.y_format, self.x_format = y_format, x_format
        self.height, self.max_width = height, max_width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.series:
            return
        ax = _Axis([x for s in self.series for x, _ in s.points])
        ys = [y for s in self.series for _, y in s.points]
        ay = _Axis(ys, log=True) if ax.log and min(ys) > 0 else _Axis(ys)  # log-log: a power law is a line
        h = self.height
        ticks = {row: self.y_format(ay.value(1 - row / (h - 1))) for row in (0, h // 2, h - 1)}
        margin = max(len(t) for t in ticks.values()) + 1
        w = max(10, min(options.max_width, self.max_width) - margin - 2)
        grid: list[list[tuple[str, str]]] = [[(" ", "")] * w for _ in range(h)]

        def place(fx: float, fy: float) -> tuple[int, int]:
            return round(fx * (w - 1)), round((1 - fy) * (h - 1))

        for n, s in enumerate(self.series):
            color, marker = COLORS[n % len(COLORS)], MARKERS[n % len(MARKERS)]
            pts = [(ax.frac(x), ay.frac(y)) for x, y in s.points]
            for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
                c0, c1 = place(x0, y0)[0], place(x1, y1)[0]
                for c in range(c0 + 1, c1):
                    row = place(0, y0 + (y1 - y0) * (c - c0) / (c1 - c0))[1]
                    if grid[row][c][0] == " ":
                        grid[row][c] = ("·", color)
            for fx, fy in pts:
                c, row = place(fx, fy)
                grid[row][c] = (marker, color)

        yield Text(self.y_label + (" (log scale)" if ay.log else ""), style="bold")
        for row in range(h):
            line = Text(ticks.get(row, "").rjust(margin - 1) + (" ┤" if row in ticks else " │"))
            end = max((c + 1 for c, (ch, _) in enumerate(grid[row]) if ch != " "), default=0)
            for ch, style in grid[row][:end]:
                line.append(ch, style=style or None)
            yield line
        yield Text(" " * margin + "└" + "─" * w)
        yield self._x_ticks(ax, margin, w)
        yield Text(" " * margin + " " + self.x_label + (" (log scale)" if ax.log else ""), style="bold")
        if len(self.series) > 1 or self.series[0].name:
            legend = Text(" " * margin + " ")
            for n, s in enumerate(self.series):
                legend.append("   " if n else "")
                legend.append(MARKERS[n % len(MARKERS)], style=COLORS[n % len(COLORS)])
                legend.append(f" {s.name}")
            yield legend

    def _x_ticks(self, ax: _Axis, margin: int, w: int) -> Text:
        chars = [" "] * (w + 1)
        free_from = 0
        for x in sorted({x for s in self.series for x, _ in s.points}):
            label = self.x_format(x)
            col = round(ax.frac(x) * (w - 1)) + 1
            start = min(max(col - len(label) // 2, free_from), w + 1 - len(label))
            if start < free_from or start < 0:
                continue
            chars[start:start + len(label)] = list(label)
            free_from = start + len(label) + 1
        return Text(" " * margin + "".join(chars).rstrip())
