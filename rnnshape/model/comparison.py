"""Several configurations side by side, each relative to the first. Raw numbers only; no torch, no Rich.

>>> from rnnshape.api import analyze
>>> c = comparison(("rnn", "lstm"), [analyze("rnn", dry_run=True), analyze("lstm", dry_run=True)])
>>> c.entries[1].relative.parameters
4.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rnnshape.model.report import Report
from rnnshape.model.spec import Kind
from rnnshape.model.stats import Stats

# Options that only some kinds take. The rule itself lives in spec validation; compare only needs to know
# which kinds a shared option applies to (tests/test_compare_cli.py holds this table to make_spec).
# The constructor keywords only some kinds take, from the kind table.
KIND_ONLY = {"proj_size": tuple(k for k in Kind if k.info.takes_proj_size),
             "nonlinearity": tuple(k for k in Kind if k.info.takes_nonlinearity)}


def memory_bytes(report: Report) -> int:
    """Parameters plus the input, output and state tensors of one forward."""
    t = report.prediction.totals
    return t.parameter_bytes + t.input_bytes + t.output_bytes


def forward(report: Report) -> Stats | None:
    return report.timing.forward if report.timing else None


def backward(report: Report) -> Stats | None:
    """The backward measurement, once the timing engine provides one (None before, and with --dry-run)."""
    return getattr(report.timing, "backward", None)


@dataclass(frozen=True)
class Ratios:
    """Each number divided by the first entry's; None where either side has no number."""

    parameters: float | None
    macs: float | None
    memory_bytes: float | None
    forward: float | None
    backward: float | None


@dataclass(frozen=True)
class Entry:
    label: str  # the configuration as the user typed it ("lstm", or "gru --hidden-size 320")
    report: Report
    relative: Ratios


@dataclass(frozen=True)
class Comparison:
    entries: tuple[Entry, ...]
    shared: str  # the options given once for all entries, as typed ("" for none)
    planned: int  # how many entries were asked for
    interrupted: bool = False  # Ctrl-C: entries holds what was measured before it


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _median(s: Stats | None) -> float | None:
    return s.median if s is not None else None


def ratios(report: Report, base: Report) -> Ratios:
    t, b = report.prediction.totals, base.prediction.totals
    return Ratios(
        parameters=_ratio(t.parameters, b.parameters),
        macs=_ratio(t.macs, b.macs),
        memory_bytes=_ratio(memory_bytes(report), memory_bytes(base)),
        forward=_ratio(_median(forward(report)), _median(forward(base))),
        backward=_ratio(_median(backward(report)), _median(backward(base))),
    )


def comparison(labels: Sequence[str], reports: Sequence[Report], *, shared: str = "", planned: int | None = None,
               interrupted: bool = False) -> Comparison:
    """Pair labels with reports (there may be fewer reports than labels after Ctrl-C)."""
    entries = tuple(Entry(label, r, ratios(r, reports[0])) for label, r in zip(labels, reports))
    return Comparison(entries, shared, len(labels) if planned is None else planned, interrupted)
