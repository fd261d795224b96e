"""Any renderable as the HTML a notebook cell shows: the terminal's tables, colours inline, monospace.

>>> from rich.text import Text
>>> html(Text("h_n (2, 3, 20)")).count("h_n (2, 3, 20)")
1
"""

from __future__ import annotations

import io

from rich.console import Console, RenderableType

from rnnshape.render.export import MONOSPACE

WIDTH = 120  # columns a notebook cell renders the tables at

# The exports' monospace stack (rnnshape.render.export): it lines the columns up without web fonts.
_PRE = '<pre style="font-family: ' + MONOSPACE + '; line-height: 1.25">{code}</pre>'


def html(renderable: RenderableType, width: int = WIDTH) -> str:
    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor")
    console.print(renderable, crop=False)  # a line to copy runs past the edge rather than being cut
    return console.export_html(inline_styles=True, code_format=_PRE)
