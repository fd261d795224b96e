"""The Python API: analyze one configuration, compare several, sweep one over a grid, inspect a checkpoint,
trace your own model (rnnshape.api.trace: ``watch``).

Each returns the same results the CLI renders, able to show themselves (rnnshape.api.results). Errors are
ValueError/TypeError subclasses naming the keyword argument.
"""

from __future__ import annotations

from rnnshape.api.analysis import analyze, inspect
from rnnshape.api.engine import Interrupted, analyze_many, hold_equal, run_report

__all__ = ["Interrupted", "analyze", "analyze_many", "compare", "hold_equal", "inspect", "run_report", "sweep"]


def __getattr__(name: str):
    """compare and sweep, imported when first asked for: one configuration never loads their model."""
    if name in ("compare", "sweep"):
        from rnnshape.api import many

        return getattr(many, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
