"""Golden files: compare rendered text with tests/golden/NAME; RNNSHAPE_UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console

GOLDEN = Path(__file__).parent / "golden"


def render_text(renderable, width: int = 80) -> str:
    with open(os.devnull, "w") as sink:
        console = Console(width=width, record=True, color_system=None, force_terminal=False, file=sink)
        console.print(renderable)
    return console.export_text()


def assert_golden(name: str, text: str) -> None:
    """A missing golden file fails (write it on purpose with RNNSHAPE_UPDATE_GOLDEN=1, then read it)."""
    path = GOLDEN / name
    if os.environ.get("RNNSHAPE_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file {name} is missing; RNNSHAPE_UPDATE_GOLDEN=1 writes it"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; RNNSHAPE_UPDATE_GOLDEN=1 to accept"
