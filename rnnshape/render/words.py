"""Words for any width: prose that breaks only between words, and lines to copy that never break (issue 16).

- ``Words``: prose that breaks only between words, never inside a value (``1.6 MiB``, ``± 0.06``,
  ``--layers 2``) or an expression (``output[:, 0, H_out:]``); a piece too long for the width runs past
  the edge rather than being cut or folded.
- ``Verbatim``: a line meant to be copied (a command, a hint, a constructor): never wrapped, never cut.
- ``prose``: a table cell made of ``Words`` (``rnnshape.render.fit`` applies it to every column that wraps).
- ``AtWidth``: a renderable laid out for the width of whatever console prints it (a terminal, an export).

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
from collections.abc import Callable, Sequence

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.text import Text

UNITS = frozenset("B KiB MiB GiB TiB PiB EiB s ms µs ns % × G M k".split())
GLUE = frozenset("± … × =".split())  # a value on either side belongs with it
_NUMBER = re.compile(r"^[(]?[-+]?[\d.,]+[)]?$")
_FLAG = re.compile(r"^(--[a-z][a-z-]*|-[A-Za-z])$")
_OPEN, _CLOSE = "([{", ")]}"


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
    """``3, 512`` or ``L, N, D·H_out`` (a shape, dims, a list: spaces only after commas), or two words at
    most (``got 1``, ``forward first``): too short to be worth breaking."""
    return inside.count(" ") <= 1 or all(inside[k - 1] == "," for k in range(1, len(inside)) if inside[k] == " ")


def _gaps(plain: str) -> list[tuple[int, bool]]:
    """(position of each space, whether a line may break there): never inside an expression (``output[``,
    ``cat(``) or a bracketed value (``(3, 512)``), between a number and its unit, or a flag and its value;
    inside longer prose in parentheses, freely."""
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
        if filled[-1] and lines[-1].cell_len + len(joint) + piece.cell_len > width:
            lines.append(Text(" " * indent))
            filled.append(False)
        if filled[-1]:
            lines[-1].append(joint)
        lines[-1].append(piece)
        filled[-1] = True

    for item in items:
        if item.cell_len <= width - (indent if filled[-1] or len(lines) > 1 else 0):
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
        longest = max((p.cell_len for item in self.items for p in pieces(item)), default=0)
        whole = sum(x.cell_len for x in self.items) + len(self.sep) * max(len(self.items) - 1, 0)
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


class AtWidth:
    """``AtWidth(lambda width: ...)``: the renderable is built when printed, for the console's width."""

    def __init__(self, build: Callable[[int], RenderableType]) -> None:
        self.build = build

    def __rich_console__(self, console, options):
        yield self.build(options.max_width)
