"""The Rich view of a Sweep: a table per point, a chart of time (MACs without torch) against the first
varied option, one series per value of the others, and the growth exponents measured and predicted."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rnnshape.model.comparison import forward, memory_bytes
from rnnshape.model.sweep import Point, Sweep
from rnnshape.render import fmt
from rnnshape.render.chart import LineChart, Series
from rnnshape.render.fit import Fit
from rnnshape.render.layout import AtWidth
from rnnshape.render.multi_fmt import (
    growth_verdicts,
    interrupted_text,
    power_law,
    runs_range,
    table_unit,
    time_cell,
    time_marks,
)
from rnnshape.render.words import Words, prose


def render_sweep(s: Sweep) -> RenderableType:
    """The whole sweep; it lays itself out for the width of whatever console prints it."""
    return AtWidth(lambda width: _sweep(s, width))


def _sweep(s: Sweep, width: int) -> Group:
    parts: list[RenderableType] = [_header(s), Text(), points_table(s, width), *notes(s)]
    if s.points:
        parts += [Text(), chart(s)]
    lines = growth_lines(s)
    if lines:
        parts += [Text(), *lines]
    if s.interrupted:
        parts += [Text(), Text(interrupted_text(len(s.points), s.planned, "points"), style="yellow")]
    return Group(*parts)


def _timed(s: Sweep) -> bool:
    return any(forward(p.report) is not None for p in s.points)


def _header(s: Sweep) -> Group:
    spec = s.points[0].report.spec if s.points else None
    what = f"{spec.kind.value} on {spec.device} · {spec.dtype.value}" if spec else ""
    varied = " × ".join(f"{v.option} {','.join(str(x) for x in v.values)}" for v in s.varies)
    head = Words([f"sweep {what}", varied], sep=" · ", style="bold")
    if s.points and all(p.report.verified for p in s.points):
        status = Text(f"verified by torch {s.points[0].report.torch_version}", style="green")
    else:
        status = Text("predicted without torch (--dry-run): not run, not timed", style="yellow")
    return Group(head, Words(status))


def points_table(s: Sweep, width: int | None = None) -> Fit:
    """One row per point; at a narrow width the least telling columns go first, never a cut number."""
    timed = _timed(s)
    unit = table_unit([forward(p.report) for p in s.points])
    headers = [v.option for v in s.varies]
    headers += ([f"forward ({unit[0]})", "steps/s"] if timed else []) + ["parameters", "MACs", "memory"]
    headers += ["training memory"] if any(p.report.memory is not None for p in s.points) else []
    rows = [_point_row(p, unit if timed else None) for p in s.points]
    table = Table(title="Points", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for h in headers:
        table.add_column(h, justify="right", no_wrap=True)
    for r in rows:
        table.add_row(*r)
    return Fit(table, drop=("parameters", "memory", "steps/s"), label_first=True)


def _point_row(p: Point, unit) -> list:
    t = p.report.prediction.totals
    cells: list = [str(x) for x in p.values]
    if unit is not None:
        st = forward(p.report)
        cells.append(Text(time_cell(st, unit), style="yellow" if st is not None and (st.noisy or st.stalled) else ""))
        cells.append(fmt.count(round(p.steps_per_s)) if p.steps_per_s else "–")
    cells += [fmt.count(t.parameters), fmt.count(t.macs), fmt.nbytes(memory_bytes(p.report))]
    return cells + ([fmt.nbytes(p.report.memory.estimate_bytes)] if p.report.memory is not None else [])


def notes(s: Sweep) -> list[Text]:
    stats = [forward(p.report) for p in s.points]
    if not _timed(s):
        return []
    lines = [f"times: median ± IQR of {runs_range(stats)}", "steps/s: (sample, time step) pairs per second"]
    lines += time_marks(stats)
    return [prose(Text(line, style="dim")) for line in lines]


def chart(s: Sweep) -> LineChart:
    """Time (or MACs, without a time) against the first varied option; a series per value of the rest."""
    timed = _timed(s)
    by_rest: dict[tuple[int, ...], list[tuple[float, float]]] = {}
    for p in s.points:
        st = forward(p.report)
        y = st.median if timed and st is not None else (None if timed else p.report.prediction.totals.macs)
        if y is not None:
            by_rest.setdefault(p.values[1:], []).append((p.values[0], y))
    rest = s.varies[1:]
    series = [Series(", ".join(f"{v.option}={x}" for v, x in zip(rest, key)), tuple(sorted(pts)))
              for key, pts in by_rest.items()]
    if timed:
        return LineChart(series, x_label=s.varies[0].option, y_label="forward time, median", y_format=fmt.seconds)
    return LineChart(series, x_label=s.varies[0].option, y_label="MACs per forward", y_format=_si)


def _si(v: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= scale:
            return f"{v / scale:.3g} {unit}"
    return f"{v:.3g}"


def growth_lines(s: Sweep) -> list[RenderableType]:
    """The fits, measured over predicted, and what their difference says; wrapped lines keep their indent."""
    g = s.growth
    rows = [(label, text) for label, text in (("measured", power_law("time", g.time)),
                                              ("predicted", power_law("MACs", g.macs)),
                                              ("predicted", power_law("training memory", g.training_memory)))
            if text]
    rows += [("", v) for v in growth_verdicts(s)]
    if not rows:
        return []
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for label, text in rows:
        table.add_row(label, Words(text))
    return [table]
