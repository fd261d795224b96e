"""Save any Rich renderable as SVG or HTML, the way it looks in a terminal of a given width.

>>> import os, tempfile
>>> from rich.text import Text
>>> path = os.path.join(tempfile.mkdtemp(), "hello.svg")
>>> export(Text("hello"), path, width=40)
>>> open(path, encoding="utf-8").read().startswith("<svg")
True
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console, RenderableType
from rich.segment import Segment

from rnnshape.errors import UsageError

FORMATS = ("svg", "html")


def check_path(flag: str, path: str | None) -> None:
    """Refuse an export path before anything runs, not after the tables are printed."""
    if path is None:
        return
    if not path:
        raise UsageError(f"{flag} needs a file name (got {path!r})")
    if os.path.isdir(path):
        raise UsageError(f"{flag} needs a file name, not a folder (got {path})")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f"{flag} cannot write there: {folder} is not a writable folder (got {path})")


def export(renderable: RenderableType, path: str | os.PathLike, *, width: int = 80, fmt: str | None = None,
           title: str = "rnnshape") -> None:
    """Render at `width` columns and write `path`; the format is `fmt` or the file's suffix (.svg, .html)."""
    fmt = fmt or Path(path).suffix.lstrip(".").lower()
    if fmt == "htm":
        fmt = "html"
    if fmt not in FORMATS:
        raise UsageError(f"cannot tell the export format of {str(path)!r}: use a .svg or .html file name")
    with open(os.devnull, "w", encoding="utf-8") as sink:
        console = Console(record=True, width=width, file=sink, force_terminal=True, color_system="truecolor")
        console.print(_SpacesApart(renderable))
    try:
        if fmt == "svg":
            console.save_svg(str(path), title=title)
        else:
            console.save_html(str(path))
    except OSError as err:
        raise UsageError(f"cannot write {str(path)!r}: {err.strerror or err}") from None


class _SpacesApart:
    """Leading and trailing spaces as segments of their own. Rich writes each segment as one SVG <text>,
    and librsvg (rsvg-convert, many previewers) drops a <text>'s leading spaces, which shifts every
    right-aligned number to the left; a segment of spaces only is written as nothing, and keeps its place."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console, options):
        for seg in console.render(self.renderable, options):
            text = seg.text
            core = text.strip(" ")
            if seg.control or not core or core == text:
                yield seg
                continue
            lead, trail = len(text) - len(text.lstrip(" ")), len(text) - len(text.rstrip(" "))
            if lead:
                yield Segment(" " * lead, seg.style)
            yield Segment(core, seg.style)
            if trail:
                yield Segment(" " * trail, seg.style)
