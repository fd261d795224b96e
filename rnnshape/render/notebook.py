"""Any renderable as the HTML a notebook cell shows: the terminal's tables, colours inline, monospace.

>>> from rich.text import Text
>>> html(Text("h_n (2, 3, 20)")).count("h_n (2, 3, 20)")
1
"""

from __future__ import annotations

import io

from rich.console import Console, RenderableType

WIDTH = 120  # columns a notebook cell renders the tables at

# A monospace stack that lines the columns up without web fonts.
_PRE = ('<pre style="font-family: ui-monospace, \'SFMono-Regular\', Menlo, Consolas, \'DejaVu Sans Mono\', '
        'monospace; line-height: 1.25">{code}</pre>')


def html(renderable: RenderableType, width: int = WIDTH) -> str:
    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor")
    console.print(renderable)
    return console.export_html(inline_styles=True, code_format=_PRE)
