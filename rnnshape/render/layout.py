"""Laying renderables out for the width of whatever console prints them (a terminal, an export, a test)."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import RenderableType


class AtWidth:
    """``AtWidth(lambda width: ...)``: the renderable is built when printed, for the console's width."""

    def __init__(self, build: Callable[[int], RenderableType]) -> None:
        self.build = build

    def __rich_console__(self, console, options):
        yield self.build(options.max_width)
