"""Every module's docstring examples run (the package's public API documents itself with them)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest
from golden_util import assert_golden

PACKAGE = Path(__file__).resolve().parent.parent / "rnnshape"
MODULES = sorted(
    ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
    if p.name != "__main__.py"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_most_modules_carry_an_example():
    with_examples = [n for n in MODULES if doctest.DocTestFinder().find(importlib.import_module(n))
                     and any(t.examples for t in doctest.DocTestFinder().find(importlib.import_module(n)))]
    assert len(with_examples) >= 20, with_examples


def test_a_missing_golden_file_fails(monkeypatch):
    monkeypatch.delenv("RNNSHAPE_UPDATE_GOLDEN", raising=False)
    with pytest.raises(AssertionError, match="missing"):
        assert_golden("no-such-golden-file.txt", "text")
    assert not (Path(__file__).parent / "golden" / "no-such-golden-file.txt").exists()
