"""The Rich view of a Comparison: one row per configuration, each number over its ratio to the first."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rnnshape.model.comparison import Comparison, Entry, backward, forward, memory_bytes
from rnnshape.model.stats import Stats
from rnnshape.render import fmt
from rnnshape.render.fit import Fit
from rnnshape.render.layout import AtWidth
from rnnshape.render.multi_fmt import (
    interrupted_text,
    output_tensor,
    runs_range,
    states_text,
    table_unit,
    time_cell,
    time_marks,
    time_ratio,
)
from rnnshape.render.words import Words, prose

RATIO_STYLE = "cyan"


def render_comparison(c: Comparison) -> RenderableType:
    """The whole comparison; it lays itself out for the width of whatever console prints it."""
    return AtWidth(lambda width: _comparison(c, width))


def _comparison(c: Comparison, width: int) -> Group:
    stats = [forward(e.report) for e in c.entries] + [backward(e.report) for e in c.entries]
    table = costs_table(c, width)
    parts: list[RenderableType] = [_header(c), Text()]
    if not any(col.header == "configuration" for col in table.columns):
        parts += [_legend(c), Text()]
    parts += [Fit(table, merge=False), *notes(stats), Text(), shapes_table(c)]  # its cells have two lines
    if c.interrupted:
        parts += [Text(), Text(interrupted_text(len(c.entries), c.planned, "configurations"),
                               style="yellow")]
    return Group(*parts)


def _legend(c: Comparison) -> Table:
    """The configurations by number, for a terminal too narrow to give them a column."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    for i, e in enumerate(c.entries, 1):
        grid.add_row(f"#{i}", Words(e.label))
    return grid


def _header(c: Comparison) -> Group:
    reports = [e.report for e in c.entries]
    if all(r.verified for r in reports):
        versions = sorted({r.torch_version for r in reports})
        status = Text(f"verified by torch {', '.join(versions)}", style="green")
    else:
        status = Text("predicted without torch (--dry-run): not run, not timed", style="yellow")
    n = len(c.entries)
    head = [Text(f"{n} configuration{'' if n == 1 else 's'}", style="bold")]
    if c.shared:
        head.append(Text(f"shared: {c.shared}", style="bold"))
    return Group(Words(head, sep=" · "), Words(status))


def _cell(value: str, rel: float | None, style: str | None = None, rel_iqr: float | None = None) -> Text:
    return Text.assemble((value, style or ""), "\n", (time_ratio(rel, rel_iqr), RATIO_STYLE))


def _time_column(stats: list[Stats | None]) -> tuple[tuple[str, float], bool]:
    return table_unit(stats), any(s is not None for s in stats)


def costs_table(c: Comparison, width: int = 80) -> Table:
    """Labels get a column when it can hold their longest word; otherwise they go above, as a legend."""
    fwd = [forward(e.report) for e in c.entries]
    bwd = [backward(e.report) for e in c.entries]
    f_unit, timed = _time_column(fwd)
    b_unit, timed_b = _time_column(bwd)
    units = (f_unit if timed else None, b_unit if timed_b else None)
    rows = [_cost_row(i, e, *units) for i, e in enumerate(c.entries, 1)]
    headers = ["#", "configuration", "parameters", "MACs", "memory"]
    headers += ([f"forward ({f_unit[0]})"] if timed else []) + ([f"backward ({b_unit[0]})"] if timed_b else [])
    if any(e.report.memory is not None for e in c.entries):  # --backward untimed: the training step, predicted
        headers.append("training memory")
        first = c.entries[0].report.memory
        for r, e in zip(rows, c.entries):
            m = e.report.memory
            rel = m.estimate_bytes / first.estimate_bytes if m is not None and first else None
            r.append(_cell(fmt.nbytes(m.estimate_bytes), rel) if m is not None else "–")
    need = [max([len(h)] + [_width(r[i]) for r in rows]) + 2 for i, h in enumerate(headers)]
    longest_word = max([len(headers[1])] + [len(w) for e in c.entries for w in e.label.split()])
    with_labels = sum(need) - need[1] + longest_word + 2 <= width
    table = Table(title="Cost", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for i, h in enumerate(headers):
        if i == 1 and not with_labels:
            continue
        table.add_column(h, justify="left" if i == 1 else "right", no_wrap=i != 1, overflow="fold",
                         min_width=longest_word if i == 1 else None)
    for r in rows:
        table.add_row(*(cell for i, cell in enumerate(r) if i != 1 or with_labels), end_section=True)
    return table


def _width(cell) -> int:
    text = cell.plain if isinstance(cell, Text) else str(cell)
    return max(len(line) for line in text.split("\n"))


def _cost_row(i: int, e: Entry, f_unit, b_unit) -> list:
    t, r = e.report.prediction.totals, e.relative
    cells: list = [
        str(i), e.label, _cell(fmt.count(t.parameters), r.parameters), _cell(fmt.count(t.macs), r.macs),
        _cell(fmt.nbytes(memory_bytes(e.report)), r.memory_bytes),
    ]
    for unit, stats, rel, iqr in ((f_unit, forward(e.report), r.forward, r.forward_iqr),
                                  (b_unit, backward(e.report), r.backward, r.backward_iqr)):
        if unit is not None:
            style = "yellow" if stats is not None and (stats.noisy or stats.stalled) else None
            cells.append(_cell(time_cell(stats, unit), rel, style, iqr if i > 1 else None))
    return cells


def notes(stats: list[Stats | None]) -> list[Text]:
    """What the numbers stand on, under the table (not a caption: a caption wraps at the table's width)."""
    lines = ["× relative to #1 · memory: parameters + input, output and state tensors"]
    if any(s is not None for s in stats):
        lines.append(f"times: median ± IQR of {runs_range(stats)}")
        if all(s.interleaved for s in stats if s is not None):
            lines.append("time ratios: median ± IQR of each round's ratio (medians' ratio if steadier)")
    lines += time_marks(stats)
    return [prose(Text(line, style="dim")) for line in lines]


def shapes_table(c: Comparison) -> Fit:
    table = Table(title="Shapes", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("configuration", overflow="fold")
    table.add_column("output", no_wrap=True)
    table.add_column("states", no_wrap=True)
    for i, e in enumerate(c.entries, 1):
        out = output_tensor(e.report)
        table.add_row(str(i), e.label, fmt.shape(out.shape) if out else "–", states_text(e.report, "\n"))
    return Fit(table)
