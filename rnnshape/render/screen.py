"""Printing a renderable the one way every command does: no line cut at the edge, no trailing spaces.

Rich crops each line at the console's width and pads table rows to it. Cropping would cut a command
meant to be copied (``fix: rnnshape lstm ... --proj-size 128``); the padding leaves trailing spaces in a
redirected file. So lines run past the edge (the terminal wraps them softly, and copies them whole) and
every line loses its trailing blanks on the way out, colour codes kept.

>>> from rich.table import Table
>>> t = Table("name", "shape")
>>> t.add_row("h_n", "(1, 3, 20)")
>>> text = plain(t, width=40)
>>> any(line != line.rstrip() for line in text.splitlines())
False
"""

from __future__ import annotations

import io
import re
from typing import TextIO

from rich.console import Console, Group, RenderableType

_TRAILING = re.compile(r"(?:[ \t]|\x1b\[[0-9;]*m)+$")


def trim(line: str) -> str:
    """``line`` less its trailing blanks; the colour codes among them stay, in order."""
    m = _TRAILING.search(line)
    if not m:
        return line
    return line[: m.start()] + "".join(re.findall(r"\x1b\[[0-9;]*m", m.group()))


class TrimmedFile(io.TextIOBase):
    """A text stream that writes whole lines to ``file``, each without trailing blanks."""

    def __init__(self, file: TextIO) -> None:
        self.file = file
        self._pending = ""

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        if lines:
            self.file.write("".join(trim(line) + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.file.write(trim(self._pending))
            self._pending = ""
        self.file.flush()

    def isatty(self) -> bool:
        return self.file.isatty()

    def fileno(self) -> int:
        return self.file.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.file, "encoding", "utf-8")


def console(file: TextIO, **kwargs) -> Console:
    """A Console writing trimmed lines to ``file`` (Rich's other settings as given)."""
    return Console(file=TrimmedFile(file), **kwargs)


def print_to(target: Console, renderable: RenderableType) -> None:
    """Print with no line cropped at the console's width (see the module docstring)."""
    target.print(Group(renderable), crop=False)  # a bare Text would be re-joined, losing its no_wrap
    target.file.flush()


def plain(renderable: RenderableType, width: int = 80) -> str:
    """The text a ``width``-column terminal without colours shows: what golden files and the API hold."""
    out = io.StringIO()
    target = console(out, width=width, color_system=None, force_terminal=False, legacy_windows=False)
    print_to(target, renderable)
    return out.getvalue()


def stdout_console() -> Console:
    """The console for the result on stdout (Rich takes its width from the terminal, or from COLUMNS)."""
    import sys

    return console(sys.stdout)
