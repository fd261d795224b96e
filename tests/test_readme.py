"""The README's --dry-run examples are the current output, byte for byte (python tests/readme_blocks.py)."""

from __future__ import annotations

import pytest
from readme_blocks import README, blocks, expected

DRY = [m for m in blocks(README.read_text(encoding="utf-8")) if "--dry-run" in m["args"] or "--code" in m["args"]]


def test_readme_has_examples():
    assert len(DRY) >= 10
    for m in blocks(README.read_text(encoding="utf-8")):
        assert len(m["body"].strip().splitlines()) > 2, f"empty README example: {m['args']}"


@pytest.mark.parametrize("m", DRY, ids=[m["args"] for m in DRY])
def test_readme_example_is_real(m):
    stale = "README is stale: run python tests/readme_blocks.py"
    assert m["body"] == expected(m["args"], m["section"], m["mode"]), stale
