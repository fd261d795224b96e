"""`compare` and `sweep`: their columns as data, read alike by the Rich, CSV and Markdown writers; the JSON
(the results' declared keys), the Rich views and the sweep's chart. Reads only the result objects.

A table is a list of :class:`Column`: its key, its title, its unit (a time column states one for the whole
column), how a row's value is formatted (with its ratio to the first entry under it), and the raw fields it
gives the CSV (torchinfo's ColumnSettings and HEADER_TITLES are the model). A writer takes the columns it
shows: the terminal's Cost and Shapes tables, the one Markdown table, every raw field in the CSV.

>>> from rnnshape.api import analyze
>>> from rnnshape.model.many import comparison
>>> c = comparison(("rnn", "gru"), [analyze("rnn", dry_run=True), analyze("gru", dry_run=True)])
>>> print(compare_csv(c).splitlines()[2])
2,gru,7320,216000,43920,,,,,,,"(10, 3, 20)","h_n=(1, 3, 20)",3.0,3.0,1.8,,,
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rnnshape.model.many import Comparison, PowerFit, Sweep, backward, forward, memory_bytes
from rnnshape.model.report import Report, TensorInfo, document, dumps
from rnnshape.model.stats import Stats
from rnnshape.render import fmt
from rnnshape.render.fit import Fit
from rnnshape.render.tables import PATHS, LineChart, Series
from rnnshape.render.words import AtWidth, Words, prose

RATIO_STYLE = "cyan"
TIME_GAP = 0.15  # exponent difference beyond which time and work are said to part ways
GOOD_FIT = 0.9  # R² below this: the times do not follow one power law (noise, or a regime change)


@dataclass(frozen=True)
class Row:
    """One entry or point, as every column reads it."""

    i: int  # counted from 1
    label: str
    report: Report
    relative: Any = None  # comparison.Ratios (compare only)
    values: tuple[int, ...] = ()  # the varied options' values (sweep only)
    steps_per_s: float | None = None
    base: Report | None = None  # the first entry's report (compare only)


@dataclass(frozen=True)
class Column:
    """``title`` (with the column's unit in Rich), ``value`` (a row's text; a tuple is one line each), ``ratio``
    (under the value in Rich, after it in Markdown), ``csv`` (raw fields: name, value), ``stats`` (a time
    column: one unit for all its rows), ``shown`` (whether the table has the column at all)."""

    key: str
    title: str
    value: Callable[[Row, tuple[str, float] | None], str | tuple[str, ...]] | None = None
    ratio: Callable[[Row], str] | None = None
    csv: tuple[tuple[str, Callable[[Row], Any]], ...] = ()
    stats: Callable[[Report], Stats | None] | None = None
    left: bool = False  # justified left (text), else right (numbers)
    shown: Callable[[list[Row]], bool] = lambda rows: True
    csv_when_shown: bool = False  # the CSV has its fields only when shown (else always, empty where unknown)

    def unit(self, rows: list[Row]) -> tuple[str, float] | None:
        return fmt.table_unit([self.stats(r.report) for r in rows]) if self.stats else None

    def heading(self, unit: tuple[str, float] | None) -> str:
        return f"{self.title} ({unit[0]})" if unit else self.title

    def style(self, row: Row) -> str:
        s = self.stats(row.report) if self.stats else None
        return "yellow" if s is not None and (s.noisy or s.stalled) else ""


def _timed(stats: Callable[[Report], Stats | None]) -> Callable[[list[Row]], bool]:
    return lambda rows: any(stats(r.report) is not None for r in rows)


def _none(v):
    return "" if v is None else v


def _time_column(key: str, title: str, stats, rel: str = "") -> Column:
    """A timed statement: the median ± IQR in one unit, its ratio to #1 (± its spread from paired rounds)."""
    ratio = None
    if rel:
        ratio = lambda r: fmt.time_ratio(getattr(r.relative, rel), getattr(r.relative, rel + "_iqr") if r.i > 1  # noqa: E731
                                         else None)
    return Column(key, title, lambda r, u: fmt.time_cell(stats(r.report), u), ratio,
                  ((f"{key}_median_s", lambda r: _none(stats(r.report) and stats(r.report).median)),
                   (f"{key}_iqr_s", lambda r: _none(stats(r.report) and stats(r.report).iqr)),
                   (f"{key}_runs", lambda r: _none(stats(r.report) and stats(r.report).runs))),
                  stats=stats, shown=_timed(stats))


def output_tensor(report: Report) -> TensorInfo | None:
    return next((t for t in report.prediction.outputs if t.name == "output"), None)


def state_tensors(report: Report) -> list[TensorInfo]:
    return [t for t in report.prediction.outputs if not t.name.startswith("output")]


def _path_words(report: Report) -> str:
    """The kernel path the configuration ran (rnnshape.run.build.graph_path): why one kind is slower than another."""
    path = _path(report)
    return PATHS[path][0] if path in PATHS else (path or "–")


def _path(report: Report) -> str | None:
    return getattr(report.timing, "path", None)


def _training(report: Report) -> int | None:
    """--backward untimed: the training step's memory, predicted (issue 24)."""
    return report.memory.estimate_bytes if report.memory is not None else None


def _training_shown(rows: list[Row]) -> bool:
    return any(r.report.memory is not None for r in rows)


def _training_ratio(r: Row) -> str:
    here, first = _training(r.report), _training(r.base) if r.base is not None else None
    return fmt.ratio(here / first if here is not None and first else None)


TRAINING = Column("training memory", "training memory", lambda r, u: fmt.nbytes(m) if (m := _training(r.report))
                  is not None else "–", shown=_training_shown)
TRAINING_CSV = Column("training_memory_bytes", "",
                      csv=(("training_memory_bytes", lambda r: _none(_training(r.report))),),
                      shown=_training_shown, csv_when_shown=True)


def _totals(r: Row):
    return r.report.prediction.totals


COUNTS = (  # the columns compare and sweep share: parameters, MACs, memory
    Column("parameters", "parameters", lambda r, u: fmt.count(_totals(r).parameters),
           lambda r: fmt.ratio(r.relative.parameters), (("parameters", lambda r: _totals(r).parameters),)),
    Column("macs", "MACs", lambda r, u: fmt.count(_totals(r).macs), lambda r: fmt.ratio(r.relative.macs),
           (("macs", lambda r: _totals(r).macs),)),
    Column("memory", "memory", lambda r, u: fmt.nbytes(memory_bytes(r.report)),
           lambda r: fmt.ratio(r.relative.memory_bytes), (("memory_bytes", lambda r: memory_bytes(r.report)),)),
)
SHAPES = (  # CSV: what one forward returns
    Column("output", "output", lambda r, u: fmt.shape(out.shape) if (out := output_tensor(r.report)) else "–",
           csv=(("output_shape", lambda r: fmt.shape(out.shape) if (out := output_tensor(r.report)) else ""),),
           left=True),
    Column("states", "states", lambda r, u: tuple(f"{t.name} {fmt.shape(t.shape)}" for t in state_tensors(r.report)),
           csv=(("states", lambda r: " ".join(f"{t.name}={fmt.shape(t.shape)}" for t in state_tensors(r.report))),),
           left=True),
)
COMPARE = (
    Column("#", "#", lambda r, u: str(r.i), csv=(("entry", lambda r: r.i),)),
    Column("configuration", "configuration", lambda r, u: r.label, csv=(("label", lambda r: r.label),), left=True),
    *COUNTS,
    _time_column("forward", "forward", forward, "forward"),
    _time_column("backward", "backward", backward, "backward"),
    Column(TRAINING.key, TRAINING.title, TRAINING.value, _training_ratio, shown=_training_shown),
    *SHAPES,
    *(Column(f"relative_{name}", "", csv=((f"relative_{name}", lambda r, n=name: _none(getattr(r.relative, n))),))
      for name in ("parameters", "macs", "memory_bytes", "forward", "backward")),
    Column("kernel", "kernel", lambda r, u: _path_words(r.report),
           csv=(("kernel_path", lambda r: _none(_path(r.report))),), left=True,
           shown=lambda rows: any(_path(r.report) for r in rows)),
    TRAINING_CSV,
)
COST_TABLE = ("#", "configuration", "parameters", "macs", "memory", "forward", "backward", "training memory", "kernel")
SHAPES_TABLE = ("#", "configuration", "output", "states")


def sweep_columns(s: Sweep) -> tuple[Column, ...]:
    """A column per varied option, the forward time, steps/s, then the counts (and the shapes in the CSV)."""
    varied = tuple(Column(v.option, v.option, lambda r, u, k=k: str(r.values[k]), csv=((v.field, lambda r, k=k:
                   r.values[k]),)) for k, v in enumerate(s.varies))
    fwd = _time_column("forward", "forward", forward)
    steps = Column("steps/s", "steps/s", lambda r, u: fmt.count(round(r.steps_per_s)) if r.steps_per_s else "–",
                   csv=(("steps_per_s", lambda r: _none(r.steps_per_s)),), shown=fwd.shown)
    counts = tuple(Column(c.key, c.title, c.value, None, c.csv) for c in COUNTS)  # no ratios in a sweep
    return (*varied, fwd, steps, *counts, TRAINING, *(Column(c.key, c.title, None, None, c.csv) for c in SHAPES),
            TRAINING_CSV)


def _compare_rows(c: Comparison) -> list[Row]:
    base = c.entries[0].report if c.entries else None
    return [Row(i, e.label, e.report, e.relative, base=base) for i, e in enumerate(c.entries, 1)]


def _sweep_rows(s: Sweep) -> list[Row]:
    return [Row(i, "", p.report, values=p.values, steps_per_s=p.steps_per_s) for i, p in enumerate(s.points, 1)]


def _pick(columns: Sequence[Column], rows: list[Row], keys: Sequence[str] | None = None) -> list[Column]:
    """The columns a table shows: those with a value (of ``keys``, in that order) that the rows have."""
    by_key = {c.key: c for c in columns}
    chosen = [by_key[k] for k in keys if k in by_key] if keys is not None else columns
    return [c for c in chosen if c.value is not None and c.shown(rows)]


# JSON: each result's declared keys (rnnshape.model.report.document)


def compare_json(c: Comparison) -> str:
    return dumps(document(c)) + "\n"


def sweep_json(s: Sweep) -> str:
    return dumps(document(s)) + "\n"


# CSV: every raw field, one row per entry or point


def _csv(columns: Sequence[Column], rows: list[Row]) -> str:
    fields = [f for c in columns if not c.csv_when_shown or c.shown(rows) for f in c.csv]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([name for name, _ in fields])
    writer.writerows([[get(r) for _, get in fields] for r in rows])
    return buf.getvalue()


def compare_csv(c: Comparison) -> str:
    return _csv(COMPARE, _compare_rows(c))


def sweep_csv(s: Sweep) -> str:
    return _csv(sweep_columns(s), _sweep_rows(s))


# Markdown: formatted like the terminal table, each time with its unit and runs, each ratio after its value


def _md(columns: list[Column], rows: list[Row]) -> str:
    def cell(c: Column, r: Row) -> str:
        v = c.value(r, None)
        text = "  ".join(v) if isinstance(v, tuple) else v
        return f"{text} {c.ratio(r)}" if c.ratio and r.relative is not None else text

    lines = [[c.title for c in columns], [":---" if c.left else "---:" for c in columns],
             *([cell(c, r) for c in columns] for r in rows)]
    return "\n".join("| " + " | ".join(str(x).replace("|", "\\|") for x in line) + " |" for line in lines) + "\n"


def compare_markdown(c: Comparison) -> str:
    rows = _compare_rows(c)
    note = f"\nShared options: `{c.shared}`. " if c.shared else "\n"
    note += "Ratios (×) are relative to entry 1; memory is parameters plus input, output and state tensors.\n"
    if c.interrupted:
        note += fmt.interrupted_text(len(c.entries), c.planned, "configurations").capitalize() + ".\n"
    return _md(_pick(COMPARE, rows), rows) + note


def sweep_markdown(s: Sweep) -> str:
    rows = _sweep_rows(s)
    text = _md(_pick(sweep_columns(s), rows), rows)
    lines = [x for x in (power_law("time", s.growth.time), power_law("MACs", s.growth.macs),
                         power_law("training memory", s.growth.training_memory)) if x]
    lines += growth_verdicts(s)
    if s.interrupted:
        lines.append(fmt.interrupted_text(len(s.points), s.planned, "points").capitalize() + ".")
    return text + "".join(f"\n{line}\n" for line in lines)


# Rich


def _table(title: str, columns: list[Column], rows: list[Row], *, wrap: Sequence[str] = (),
           min_widths: dict[str, int] | None = None) -> Table:
    """The columns as a Rich table: a ratio under its value, a time in its column's unit, a section per row
    when a cell has two lines."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    units = [c.unit(rows) for c in columns]
    for c, u in zip(columns, units):
        table.add_column(c.heading(u), justify="left" if c.left else "right", no_wrap=c.key not in wrap,
                         overflow="fold", min_width=(min_widths or {}).get(c.key))
    two_lines = any(c.ratio for c in columns)
    for r in rows:
        cells = []
        for c, u in zip(columns, units):
            v = c.value(r, u)
            text = Text("\n".join(v) if isinstance(v, tuple) else v, style=c.style(r))
            if c.ratio and r.relative is not None:
                text = Text.assemble(text, "\n", (c.ratio(r), RATIO_STYLE))
            cells.append(text)
        table.add_row(*cells, end_section=two_lines)
    return table


def _verdict(reports: list[Report]) -> Text:
    if reports and all(r.verified for r in reports):
        versions = sorted({r.torch_version for r in reports})
        return Text(f"verified by torch {', '.join(versions)}", style="green")
    return Text("predicted without torch (--dry-run): not run, not timed", style="yellow")


def _notes(lines: list[str]) -> list[RenderableType]:
    """What the numbers stand on, under the table (not a caption: a caption wraps at the table's width)."""
    return [prose(Text(line, style="dim")) for line in lines]


def render_comparison(c: Comparison) -> RenderableType:
    """The whole comparison; it lays itself out for the width of whatever console prints it."""
    return AtWidth(lambda width: _comparison(c, width))


def _comparison(c: Comparison, width: int) -> Group:
    rows = _compare_rows(c)
    stats = [forward(r.report) for r in rows] + [backward(r.report) for r in rows]
    n = len(rows)
    head = [Text(f"{n} configuration{'' if n == 1 else 's'}", style="bold")]
    if c.shared:
        head.append(Text(f"shared: {c.shared}", style="bold"))
    table = costs_table(c, width)
    parts: list[RenderableType] = [Group(Words(head, sep=" · "), Words(_verdict([r.report for r in rows]))), Text()]
    if not any(col.header == "configuration" for col in table.columns):
        legend = Table.grid(padding=(0, 2))  # the configurations by number, too narrow to give them a column
        legend.add_column(justify="right", no_wrap=True)
        legend.add_column()
        for r in rows:
            legend.add_row(f"#{r.i}", Words(r.label))
        parts += [legend, Text()]
    lines = ["× relative to #1 · memory: parameters + input, output and state tensors"]
    if any(s is not None for s in stats):
        lines.append(f"times: median ± IQR of {fmt.runs_range(stats)}")
        if all(s.interleaved for s in stats if s is not None):
            lines.append("time ratios: median ± IQR of each round's ratio (medians' ratio if steadier)")
    if any(_path(r.report) for r in rows):
        lines.append("kernel: the implementation torch ran, seen in the autograd graph of one forward")
    parts += [Fit(table, merge=False), *_notes(lines + fmt.time_marks(stats)), Text(),
              Fit(_table("Shapes", _pick(COMPARE, rows, SHAPES_TABLE), rows, wrap=("configuration",)))]
    if c.interrupted:
        parts += [Text(), Text(fmt.interrupted_text(n, c.planned, "configurations"), style="yellow")]
    return Group(*parts)


def costs_table(c: Comparison, width: int = 80) -> Table:
    """Labels get a column when it can hold their longest word; otherwise they go above, as a legend."""
    rows = _compare_rows(c)
    columns = _pick(COMPARE, rows, COST_TABLE)
    longest_word = max([len("configuration")] + [len(w) for r in rows for w in r.label.split()])
    whole = _table("Cost", columns, rows)
    need = [max(len(line) for cell in [col.header, *col.cells] for line in str(cell).split("\n")) + 2
            for col in whole.columns]
    labels = [i for i, col in enumerate(columns) if col.key == "configuration"]
    if sum(need) - sum(need[i] for i in labels) + longest_word + 2 > width:
        columns = [col for col in columns if col.key != "configuration"]
    return _table("Cost", columns, rows, wrap=("configuration",), min_widths={"configuration": longest_word})


def render_sweep(s: Sweep) -> RenderableType:
    """The whole sweep; it lays itself out for the width of whatever console prints it."""
    return AtWidth(lambda width: _sweep(s))


def _sweep(s: Sweep) -> Group:
    spec = s.points[0].report.spec if s.points else None
    what = f"{spec.kind.value} on {spec.device} · {spec.dtype.value}" if spec else ""
    varied = " × ".join(f"{v.option} {','.join(str(x) for x in v.values)}" for v in s.varies)
    verdict = _verdict([p.report for p in s.points])
    if s.points and verdict.plain.startswith("verified"):
        verdict = Text(f"verified by torch {s.points[0].report.torch_version}", style="green")
    parts: list[RenderableType] = [Group(Words([f"sweep {what}", varied], sep=" · ", style="bold"), Words(verdict)),
                                   Text(), points_table(s), *notes(s)]
    if s.points:
        parts += [Text(), chart(s)]
    lines = growth_lines(s)
    if lines:
        parts += [Text(), *lines]
    if s.interrupted:
        parts += [Text(), Text(fmt.interrupted_text(len(s.points), s.planned, "points"), style="yellow")]
    return Group(*parts)


def points_table(s: Sweep, width: int | None = None) -> Fit:
    """One row per point; at a narrow width the least telling columns go first, never a cut number."""
    rows = _sweep_rows(s)
    table = _table("Points", _pick(sweep_columns(s), rows), rows)
    return Fit(table, drop=("parameters", "memory", "steps/s"), label_first=True)


def notes(s: Sweep) -> list[RenderableType]:
    stats = [forward(p.report) for p in s.points]
    if not any(x is not None for x in stats):
        return []
    return _notes([f"times: median ± IQR of {fmt.runs_range(stats)}",
                   "steps/s: (sample, time step) pairs per second", *fmt.time_marks(stats)])


def power_law(what: str, f: PowerFit | None) -> str | None:
    """`time ∝ seq_len^0.93 (R² 0.998, 4 points)`."""
    if f is None:
        return None
    terms = " · ".join(f"{name}^{k:.2f}" for name, k in f.exponents)
    return f"{what} ∝ {terms} (R² {f.r2:.3f}, {f.points} points)"


def growth_verdicts(s: Sweep) -> list[str]:
    """Where measured time and work (MACs) part ways, per variable."""
    g = s.growth
    if not (g.time and g.macs):
        return []
    if g.time.r2 < GOOD_FIT:
        return [f"the time fit is loose (R² {g.time.r2:.2f}): the times are noisy or change regime within the "
                f"range; read the chart, or raise --min-time"]
    out = []
    for name in g.variables:
        gap = g.time.exponent(name) - g.macs.exponent(name)
        if gap < -TIME_GAP:
            out.append(f"over {name}, time grows slower than the work: fixed per-call overheads dominate the "
                       f"small end")
        elif gap > TIME_GAP:
            out.append(f"over {name}, time grows faster than the work: memory traffic or caches dominate the "
                       f"large end")
        else:
            out.append(f"over {name}, time grows with the work")
    return out


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


# The sweep's chart: time (MACs without torch) against the first varied option, a series per value of the rest


def chart(s: Sweep) -> LineChart:
    timed = any(forward(p.report) is not None for p in s.points)
    by_rest: dict[tuple[int, ...], list[tuple[float, float]]] = {}
    for p in s.points:
        st = forward(p.report)
        y = st.median if timed and st is not None else (None if timed else p.report.prediction.totals.macs)
        if y is not None:
            by_rest.setdefault(p.values[1:], []).append((p.values[0], y))
    series = [Series(", ".join(f"{v.option}={x}" for v, x in zip(s.varies[1:], key)), tuple(sorted(pts)))
              for key, pts in by_rest.items()]
    if timed:
        return LineChart(series, x_label=s.varies[0].option, y_label="forward time, median", y_format=fmt.seconds)
    return LineChart(series, x_label=s.varies[0].option, y_label="MACs per forward", y_format=_si)


def _si(v: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= scale:
            return f"{v / scale:.3g} {unit}"
    return f"{v:.3g}"
