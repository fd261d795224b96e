"""A small line chart drawn with text, for any Rich console: markers joined by dots, log axes when the
values span more than 10x. No plotting library.

>>> from rich.console import Console
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

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

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
    """``LineChart(series, x_label="seq_len", y_label="time per forward", y_format=fmt.seconds)``."""

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
        xs = [x for s in self.series for x, _ in s.points]
        ys = [y for s in self.series for _, y in s.points]
        ax = _Axis(xs)
        # log-log whenever x is on a log scale, so that a power law is a straight line
        ay = _Axis(ys, log=True) if ax.log and min(ys) > 0 else _Axis(ys)
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
                    fy = y0 + (y1 - y0) * (c - c0) / (c1 - c0)
                    row = place(0, fy)[1]
                    if grid[row][c][0] == " ":
                        grid[row][c] = ("·", color)
            for fx, fy in pts:
                c, row = place(fx, fy)
                grid[row][c] = (marker, color)

        yield Text(self.y_label + (" (log scale)" if ay.log else ""), style="bold")
        for row in range(h):
            line = Text(ticks.get(row, "").rjust(margin - 1) + (" ┤" if row in ticks else " │"))
            cells = grid[row]
            end = max((c + 1 for c, (ch, _) in enumerate(cells) if ch != " "), default=0)
            for ch, style in cells[:end]:
                line.append(ch, style=style or None)
            yield line
        yield Text(" " * margin + "└" + "─" * w)
        yield self._x_ticks(ax, margin, w)
        yield Text(" " * margin + " " + self.x_label + (" (log scale)" if ax.log else ""), style="bold")
        if len(self.series) > 1 or self.series[0].name:
            yield self._legend(margin)

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

    def _legend(self, margin: int) -> Text:
        legend = Text(" " * margin + " ")
        for n, s in enumerate(self.series):
            if n:
                legend.append("   ")
            legend.append(MARKERS[n % len(MARKERS)], style=COLORS[n % len(COLORS)])
            legend.append(f" {s.name}")
        return legend
