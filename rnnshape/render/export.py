"""Save any Rich renderable as SVG or HTML, the way it looks in a terminal of a given width.

>>> import os, tempfile
>>> from rich.text import Text
>>> path = os.path.join(tempfile.mkdtemp(), "hello.svg")
>>> export(Text("hello"), path, width=40)
>>> open(path, encoding="utf-8").read().startswith("<svg")
True
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.segment import Segment

from rnnshape.errors import UsageError

FORMATS = ("svg", "html")
_GAPS = re.compile(r"(^ +| {2,}| +$)")
# Fonts every desktop has, widest glyph coverage first (box drawing, arrows, σ, ⊙ from one font keep the
# columns aligned); no web font, so a file opened offline renders the same.
MONOSPACE = ("'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, 'Noto Sans Mono', 'Courier New', "
             "ui-monospace, monospace")


def _template(method) -> str:
    """The page template a Console export method writes by default (its public ``code_format`` argument)."""
    return inspect.signature(method).parameters["code_format"].default


def _svg_format() -> str:
    """Rich's SVG template without its Fira Code @font-face rules (fetched from a CDN) and with our stack."""
    head, rest = _template(Console.save_svg).split("@font-face", 1)
    rest = rest[rest.index(".{unique_id}-matrix"):]
    return (head + rest).replace("font-family: Fira Code, monospace;", f"font-family: {MONOSPACE};")


def _html_format() -> str:
    """Rich's HTML template with our stack (its own names two fonts that lack σ and ⊙ on most machines)."""
    return _template(Console.save_html).replace("Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace", MONOSPACE)


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
        console.print(_SpacesApart(renderable), crop=False)
    # Laid out for `width`, but a line to copy that runs past the edge (a command) stays whole in the SVG's
    # frame, which would otherwise clip it.
    longest = max((cell_len(line) for line in console.export_text(clear=False).splitlines()), default=0)
    console.width = max(width, longest)
    try:
        if fmt == "svg":
            console.save_svg(str(path), title=title, code_format=_svg_format())
        else:
            console.save_html(str(path), code_format=_html_format())
    except OSError as err:
        raise UsageError(f"cannot write {str(path)!r}: {err.strerror or err}") from None


class _SpacesApart:
    """Runs of spaces (leading, trailing, or two and more inside) as segments of their own. Rich writes each
    segment as one SVG <text> at its own column; librsvg (rsvg-convert, many previewers) drops a <text>'s
    leading spaces, and a fallback font narrower than the one Rich measured for bunches a long <text> to
    the left (the sweep chart's axis labels). A segment of spaces only is written as nothing, and keeps
    its place, so every word is placed by its column."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console, options):
        for seg in console.render(self.renderable, options):
            if seg.control or "  " not in f" {seg.text} ":
                yield seg
                continue
            for part in _GAPS.split(seg.text):
                if part:
                    yield Segment(part, seg.style)
