"""The Python API: analyze one configuration, compare several, sweep one over a grid, inspect a checkpoint,
trace your own model (rnnshape.api.trace: ``watch``).

Each returns the same results the CLI renders, able to show themselves (rnnshape.api.results). Errors are
ValueError/TypeError subclasses naming the keyword argument.
"""

from __future__ import annotations

from rnnshape.api.analysis import analyze, inspect
from rnnshape.api.engine import Interrupted, analyze_many, hold_equal, run_report
from rnnshape.api.many import compare, sweep

__all__ = ["Interrupted", "analyze", "analyze_many", "compare", "hold_equal", "inspect", "run_report", "sweep"]
