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


def test_readme_python_examples_run():
    """The README's ```pycon blocks are doctests."""
    import doctest
    import re

    text = README.read_text(encoding="utf-8")
    sessions = re.findall(r"```pycon\n(.*?)```", text, flags=re.S)
    assert sessions
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for i, session in enumerate(sessions):
        test = doctest.DocTestParser().get_doctest(session, {}, f"README pycon block {i}", str(README), 0)
        runner.run(test)
    assert runner.failures == 0 and runner.tries >= 8
