"""Golden files: compare rendered text with tests/golden/NAME; RNNSHAPE_UPDATE_GOLDEN=1 rewrites them.

Goldens are taken at 80 columns only; at the other widths (:data:`WIDTHS`) a view is held to the rules
(:func:`check_fits`) instead, so that one added row changes one file, not four.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from rich.text import Text

from rnnshape.render.screen import plain
from rnnshape.render.words import pieces

GOLDEN = Path(__file__).parent / "golden"
WIDTHS = (40, 60, 120)  # the widths checked by rule, besides the 80 of the goldens
COPY_LINES = ("fix: ", "  hint: ", "requested  ", "checkpoint ", "  = ")  # lines meant to be copied whole
CUT = re.compile(r"\S…")  # Rich's ellipsis where it cut a cell; "0 … L-1" has a space before it


def check_fits(text: str, width: int) -> None:
    """The rules every rendered text keeps at any width: nothing cut (Rich's squeezing leaves ``(2048, 2…``),
    no trailing space, and no line past the width unless it is a line to copy (a command, a constructor) or
    one piece that cannot break (an expression)."""
    lines = text.splitlines()
    assert [n for n, line in enumerate(lines) if line != line.rstrip()] == [], "trailing spaces"
    assert not CUT.search(text), f"a cell was cut: {CUT.search(text).group()!r}"
    for line in lines:
        if len(line) > width:
            assert line.startswith(COPY_LINES) or len(pieces(Text(line.strip()))) == 1, (
                f"too wide at {width}: {line!r}")


def render_text(renderable, width: int = 80) -> str:
    """What a ``width``-column terminal shows, through the same seam the CLI prints with."""
    return plain(renderable, width)


def assert_golden(name: str, text: str) -> None:
    """A missing golden file fails (write it on purpose with RNNSHAPE_UPDATE_GOLDEN=1, then read it)."""
    path = GOLDEN / name
    if os.environ.get("RNNSHAPE_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file {name} is missing; RNNSHAPE_UPDATE_GOLDEN=1 writes it"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; RNNSHAPE_UPDATE_GOLDEN=1 to accept"
