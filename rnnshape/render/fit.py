"""Never cut: the one width policy every table follows (issue 16).

``Fit(table, drop=...)`` is the table as Rich draws it when it fits the width whole; otherwise without its
optional columns (least useful first); otherwise with its last columns stacked, one value over the other;
otherwise each row as ``header value`` pairs. Rich's own squeezing (``(2048, 2…``) never happens, and the
columns that may wrap break only between words (rnnshape.render.words).

>>> from rnnshape.render.screen import plain
>>> t = Table(box=None)
>>> for name in ("name", "shape", "numel"):
...     t.add_column(name, no_wrap=True)
>>> t.add_row("weight_ih_l0_reverse", "(2048, 256)", "524,288")
>>> print(plain(Fit(t), width=36), end="")
                       shape
 name                  numel
 weight_ih_l0_reverse  (2048, 256)
                       524,288
>>> print(plain(Fit(t), width=30), end="")
weight_ih_l0_reverse
  shape (2048, 256)
  numel 524,288
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

from rnnshape.render.words import Words, _as_text, prose

BIG = 10**6


class _Rigid:
    """A cell measured at its full width: Rich measures a cell by its longest word, but a ``no_wrap`` cell is
    never broken, so the narrowest its column can be is its widest line."""

    def __init__(self, renderable) -> None:
        self.renderable = renderable

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = Measurement.get(console, options, self.renderable).maximum
        return Measurement(widest, widest)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.renderable


def min_width(table: Table, console: Console, options: ConsoleOptions) -> int:
    """The narrowest the table can be without cutting a cell: a column that may wrap as wide as its longest
    word, a ``no_wrap`` column as wide as its widest cell (measured by Rich, borders and padding included)."""
    rigid = _rebuild(table, table.columns, lambda column, c: _Rigid(c) if column.no_wrap else c,
                     lambda column, h: _Rigid(h) if column.no_wrap else h)
    return Measurement.get(console, options.update_width(BIG), rigid).minimum


def _settings(c: Column) -> dict:
    """``add_column``'s keywords that make a column like ``c`` (its header aside)."""
    return dict(footer=c.footer, header_style=c.header_style, footer_style=c.footer_style, style=c.style,
                justify=c.justify, vertical=c.vertical, overflow=c.overflow, width=c.width, min_width=c.min_width,
                max_width=c.max_width, ratio=c.ratio, no_wrap=c.no_wrap, highlight=c.highlight)


def _rebuild(table: Table, columns: list[Column], cell=lambda column, c: c, header=lambda column, h: h,
             last: tuple[dict, list] | None = None) -> Table:
    """A copy of ``table`` with ``columns`` (read through Rich's public attributes), each cell through ``cell``
    and each header through ``header``; ``last`` adds one more column: (add_column keywords, its cells)."""
    copy = Table(title=table.title, caption=table.caption, box=table.box, show_header=table.show_header,
                 pad_edge=table.pad_edge, padding=table.padding, title_justify=table.title_justify,
                 caption_justify=table.caption_justify, title_style=table.title_style,
                 caption_style=table.caption_style, show_edge=table.show_edge, collapse_padding=table.collapse_padding,
                 header_style=table.header_style, expand=table.expand, width=table.width)
    body = []
    for c in columns:
        copy.add_column(header(c, c.header), **_settings(c))
        body.append([cell(c, x) for x in c.cells])
    if last is not None:
        copy.add_column(**last[0])
        body.append(list(last[1]))
    for i, row in enumerate(table.rows):
        copy.add_row(*[cells[i] for cells in body], style=row.style, end_section=row.end_section)
    return copy


def without(table: Table, header: str) -> Table:
    """A copy of ``table`` without the column headed ``header``."""
    return _rebuild(table, [c for c in table.columns if str(c.header) != header])


def merged(table: Table) -> Table | None:
    """The last two columns stacked into one, each value over the next (the headers too); None when they
    cannot be: fewer than three columns, no header to say which line is which, or a column that wraps."""
    cols = table.columns
    if len(cols) < 3 or not table.show_header or not (cols[-1].no_wrap and cols[-2].no_wrap):
        return None
    upper, lower = cols[-2], cols[-1]
    settings = {**_settings(upper), "justify": "right" if upper.justify == lower.justify == "right" else "left",
                "header": Text.assemble(_cell_text(upper.header), "\n", _cell_text(lower.header))}
    cells = [Text.assemble(_cell_text(x), "\n", _cell_text(y)) for x, y in zip(upper.cells, lower.cells)]
    return _rebuild(table, cols[:-2], last=(settings, cells))


class Fit:
    """``Fit(table, drop=("dims", "from"))``: the table as Rich draws it when it fits the width whole;
    otherwise without the ``drop`` columns (in that order, as many as needed); otherwise with its last
    columns stacked, one value over the other (unless ``merge=False``); otherwise each row as
    ``header value`` pairs. Columns that may wrap wrap between words only."""

    def __init__(self, table: Table, drop: Sequence[str] = (), *, label_first: bool = False,
                 merge: bool = True) -> None:
        self.table, self.drop, self.label_first, self.merge = table, tuple(drop), label_first, merge

    def _variants(self):
        table = self.table
        yield table
        for name in self.drop:
            if name in {str(c.header) for c in table.columns}:
                table = without(table, name)
                yield table

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        whole = Measurement.get(console, options.update_width(BIG), self.table)
        return Measurement(min(whole.minimum, options.max_width), whole.maximum)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = self.table
        for table in self._variants():
            worded = _rebuild(table, table.columns, lambda c, cell: cell if c.no_wrap else prose(cell))
            if min_width(worded, console, options) <= options.max_width:
                yield worded
                return
        narrower = merged(table) if self.merge else None
        while narrower is not None:
            if min_width(narrower, console, options) <= options.max_width:
                yield narrower
                return
            narrower = merged(narrower)
        yield from stacked(table, options.max_width, self.label_first)


def stacked(table: Table, width: int, label_first: bool = False) -> list[Text | Words]:
    """Each row as its first cell then ``header value`` pairs, wrapped between pairs; sections apart.
    The first cell is labelled too when ``label_first`` (a bare number says nothing alone); a ``#``
    column reads ``#1``."""
    out: list[Text | Words] = []
    if table.title:
        out.append(Words(_as_text(table.title, str(table.title_style or ""))))
    headers = [str(c.header) if table.show_header else "" for c in table.columns]
    by_column = [list(c.cells) for c in table.columns]
    for i, row in enumerate(table.rows):
        cells = [column_cells[i] for column_cells in by_column]
        style = str(row.style or "")
        items = []
        for j, (h, cell) in enumerate(zip(headers, cells)):
            text = _cell_text(cell).copy()
            text.plain = text.plain.replace("\n", " ")  # a two-line cell (value over ratio) becomes one
            if not text.plain.strip():
                continue
            if h == "#" and j == 0:
                text = Text.assemble(("#", "dim"), text)
            elif h and (j > 0 or label_first):
                text = Text.assemble((h + " ", "dim"), text)
            items.append(text)
        if not items:
            continue
        words = Words([Text.assemble(x, style=style) if style else x for x in items], sep="  ", indent=2)
        out.append(words)
        if row.end_section and i < len(table.rows) - 1:
            out.append(Text())
    if table.caption:
        out.append(Words(_as_text(table.caption, str(table.caption_style or ""))))
    return out


def _cell_text(cell) -> Text:
    if isinstance(cell, Text):
        return cell
    if isinstance(cell, Words):
        return Text(" ").join(cell.items)
    return Text(str(cell))
