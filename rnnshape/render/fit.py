"""Never cut: the one width policy every renderer uses (issue 16).

- ``Words``: prose that breaks only between words, never inside a value (``1.6 MiB``, ``± 0.06``,
  ``--layers 2``) or an expression (``output[:, 0, H_out:]``); a piece too long for the width runs past
  the edge rather than being cut or folded.
- ``Verbatim``: a line meant to be copied (a command, a hint, a constructor): never wrapped, never cut.
- ``Fit``: a table that drops its optional columns, least useful first, and when even that does not fit,
  stacks each row as ``header value`` pairs; Rich's own squeezing (``(2048, 2…``) never happens.

>>> from rich.console import Console
>>> c = Console(width=24, color_system=None, record=True, file=open("/dev/null", "w"))
>>> c.print(Words("estimate 1.6 MiB for the forward pass of output[:, 0, H_out:]"), crop=False)
>>> print(c.export_text().rstrip())
estimate 1.6 MiB for the
forward pass of
output[:, 0, H_out:]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

UNITS = frozenset("B KiB MiB GiB TiB PiB EiB s ms µs ns % × G M k".split())
GLUE = frozenset("± … × =".split())  # a value on either side belongs with it
_NUMBER = re.compile(r"^[(]?[-+]?[\d.,]+[)]?$")
_FLAG = re.compile(r"^(--[a-z][a-z-]*|-[A-Za-z])$")
_OPEN, _CLOSE = "([{", ")]}"
BIG = 10**6


def _closing(plain: str, i: int) -> int:
    """The index of the bracket that closes the one at ``i`` (or the end of the text)."""
    depth = 0
    for j in range(i, len(plain)):
        if plain[j] in _OPEN:
            depth += 1
        elif plain[j] in _CLOSE:
            depth -= 1
            if depth == 0:
                return j
    return len(plain)


def _is_value(inside: str) -> bool:
    """``3, 512`` or ``L, N, D·H_out`` (a shape, dims, a list): spaces only after commas."""
    return all(inside[k - 1] == "," for k in range(1, len(inside)) if inside[k] == " ")


def _gaps(plain: str) -> list[tuple[int, bool]]:
    """(position of each space, whether a line may break there): never inside an expression (``output[``,
    ``cat(``) or a bracketed value (``(3, 512)``), between a number and its unit, or a flag and its value;
    inside prose in parentheses, freely."""
    gaps, stack, tokens = [], [], []
    start = 0
    for i, ch in enumerate(plain):
        if ch in _OPEN:
            code = i > 0 and not plain[i - 1].isspace()
            stack.append(code or _is_value(plain[i + 1:_closing(plain, i)]))
        elif ch in _CLOSE and stack:
            stack.pop()
        elif ch == " ":
            tokens.append(plain[start:i])
            start = i + 1
            gaps.append([i, not any(stack)])
    tokens.append(plain[start:])
    for k, gap in enumerate(gaps):
        before, after = tokens[k], tokens[k + 1]
        if (before in GLUE or after in GLUE or (_NUMBER.match(before) and after in UNITS)
                or (_FLAG.match(before) and after and not after.startswith("-"))):
            gap[1] = False
    return [(i, free) for i, free in gaps]


def pieces(text: Text) -> list[Text]:
    """``text`` split where a line may break (the spaces themselves dropped)."""
    plain = text.plain
    cuts = [i for i, free in _gaps(plain) if free]
    out, start = [], 0
    for i in cuts:
        if i > start:
            out.append(text[start:i])
        start = i + 1
    if start < len(plain):
        out.append(text[start:])
    return out


def _as_text(x: str | Text, style: str = "") -> Text:
    return Text(x, style=style) if isinstance(x, str) else x


def lay_out(items: Sequence[Text], width: int, sep: str = " ", indent: int = 0) -> list[Text]:
    """Items joined by ``sep``, a new line (indented) when the next one does not fit; an item too long for
    a line of its own is broken at its word gaps, and a piece too long even then runs past the edge."""
    lines: list[Text] = [Text()]
    filled = [False]

    def place(piece: Text, joint: str) -> None:
        if filled[-1] and len(lines[-1]) + len(joint) + len(piece) > width:
            lines.append(Text(" " * indent))
            filled.append(False)
        if filled[-1]:
            lines[-1].append(joint)
        lines[-1].append(piece)
        filled[-1] = True

    for item in items:
        if len(item) <= width - (indent if filled[-1] or len(lines) > 1 else 0):
            place(item, sep)
            continue
        parts = pieces(item)
        if filled[-1]:  # a long item starts a line of its own rather than breaking at the edge of another
            lines.append(Text(" " * indent))
            filled.append(False)
        for part in parts:
            place(part, " ")
    return lines


class Words:
    """Prose for any width: ``Words("text")``, or ``Words(items, sep=" · ")`` to break between items first.
    Lines after the first are indented by ``indent``."""

    def __init__(self, items: str | Text | Sequence[str | Text], *, sep: str = " ", indent: int = 0,
                 style: str = "") -> None:
        if isinstance(items, (str, Text)):
            items = [items]
        self.items = [_as_text(x, style) for x in items]
        self.sep, self.indent = sep, indent

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        longest = max((len(p) for item in self.items for p in pieces(item)), default=0)
        whole = sum(len(x) for x in self.items) + len(self.sep) * max(len(self.items) - 1, 0)
        return Measurement(min(longest + self.indent, whole), whole)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in lay_out(self.items, options.max_width, self.sep, self.indent):
            line.no_wrap, line.overflow, line.end = True, "ignore", "\n"
            yield line


def Verbatim(text: str | Text, style: str = "") -> Text:  # noqa: N802 (reads as a kind of text)
    """A line to copy: never wrapped and never cut (it runs past the edge of a narrow terminal)."""
    line = _as_text(text, style).copy()
    line.no_wrap, line.overflow = True, "ignore"
    return line


def min_width(table: Table, console: Console, options: ConsoleOptions) -> int:
    """The narrowest the table can be without cutting a cell: a column that may wrap as wide as its longest
    word, a ``no_wrap`` column as wide as its widest cell (Rich measures both by the longest word)."""
    wide = options.update_width(BIG)
    total = table._extra_width
    for column in table.columns:
        m = table._measure_column(console, wide, column)
        total += m.maximum if column.no_wrap else m.minimum
    return total


def _rebuild(table: Table, columns: list, cell=lambda column, c: c) -> Table:
    copy = Table(title=table.title, caption=table.caption, box=table.box, show_header=table.show_header,
                 pad_edge=table.pad_edge, padding=table.padding, title_justify=table.title_justify,
                 caption_justify=table.caption_justify, title_style=table.title_style,
                 caption_style=table.caption_style, show_edge=table.show_edge, collapse_padding=table.collapse_padding,
                 header_style=table.header_style, expand=table.expand, width=table.width)
    for c in columns:
        copy.add_column(c.header, c.footer, header_style=c.header_style, footer_style=c.footer_style,
                        style=c.style, justify=c.justify, vertical=c.vertical, overflow=c.overflow, width=c.width,
                        min_width=c.min_width, max_width=c.max_width, ratio=c.ratio, no_wrap=c.no_wrap,
                        highlight=c.highlight)
    for i, row in enumerate(table.rows):
        copy.add_row(*[cell(c, c._cells[i]) for c in columns], style=row.style, end_section=row.end_section)
    return copy


def without(table: Table, header: str) -> Table:
    """A copy of ``table`` without the column headed ``header``."""
    return _rebuild(table, [c for c in table.columns if str(c.header) != header])


def prose(cell):
    """A cell of a column that may wrap, made to wrap only between words (and between ' · ' items first)."""
    if not isinstance(cell, (str, Text)):
        return cell
    text = Text(cell) if isinstance(cell, str) else cell
    lines = [Words(_split(line, " · "), sep=" · ") for line in text.split("\n", allow_blank=True)]
    return lines[0] if len(lines) == 1 else Group(*lines)


def _split(text: Text, sep: str) -> list[Text]:
    plain, out, start = text.plain, [], 0
    while (i := plain.find(sep, start)) >= 0:
        out.append(text[start:i])
        start = i + len(sep)
    return out + [text[start:]]


class Fit:
    """``Fit(table, drop=("dims", "from"))``: the table as Rich draws it when it fits the width whole;
    otherwise without the ``drop`` columns (in that order, as many as needed); otherwise stacked. Columns
    that may wrap wrap between words only."""

    def __init__(self, table: Table, drop: Sequence[str] = (), *, label_first: bool = False) -> None:
        self.table, self.drop, self.label_first = table, tuple(drop), label_first

    def _variants(self):
        table = self.table
        yield table
        for name in self.drop:
            if name in {str(c.header) for c in table.columns}:
                table = without(table, name)
                yield table

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        whole = self.table.__rich_measure__(console, options.update_width(BIG))
        return Measurement(min(whole.minimum, options.max_width), whole.maximum)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = self.table
        for table in self._variants():
            worded = _rebuild(table, table.columns, lambda c, cell: cell if c.no_wrap else prose(cell))
            if min_width(worded, console, options) <= options.max_width:
                yield worded
                return
        yield from stacked(table, options.max_width, self.label_first)


def stacked(table: Table, width: int, label_first: bool = False) -> list[Text | Words]:
    """Each row as its first cell then ``header value`` pairs, wrapped between pairs; sections apart.
    The first cell is labelled too when ``label_first`` (a bare number says nothing alone); a ``#``
    column reads ``#1``."""
    out: list[Text | Words] = []
    if table.title:
        out.append(Words(_as_text(table.title, str(table.title_style or ""))))
    headers = [str(c.header) if table.show_header else "" for c in table.columns]
    for i, row in enumerate(table.rows):
        cells = [c._cells[i] for c in table.columns]
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
