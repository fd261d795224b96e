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


def keep_columns(columns: list[tuple[str, list[str]]], optional: list[str], width: int) -> set[str]:
    """Drop optional columns (least useful first) until the rest fit; never truncate a shape or a count."""
    need = {name: max([len(name)] + [len(c) for c in cells]) + 3 for name, cells in columns}
    kept = set(need)
    for name in optional:
        if sum(need[k] for k in kept) + 1 <= width:
            break
        kept.discard(name)
    return kept
