"""Several configurations side by side, each relative to the first. Raw numbers only; no torch, no Rich.

>>> from rnnshape.api import analyze
>>> c = comparison(("rnn", "lstm"), [analyze("rnn", dry_run=True), analyze("lstm", dry_run=True)])
>>> c.entries[1].relative.parameters
4.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rnnshape.model.report import SCHEMA_VERSION, Key, Report, Shows, keys
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
    # the ratio's spread (an IQR) when the entries were measured in alternating rounds (None otherwise);
    # see time_ratio
    forward_iqr: float | None = None
    backward_iqr: float | None = None


@dataclass(frozen=True)
class Entry:
    label: str  # the configuration as the user typed it ("lstm", or "gru --hidden-size 320")
    report: Report
    relative: Ratios

    JSON: ClassVar = keys(Key("report", spread=True), "label",
                          Key("memory_bytes", lambda e: memory_bytes(e.report), unit="B"), "relative")


@dataclass(frozen=True, repr=False)
class Comparison(Shows):
    """Several configurations side by side (``rnnshape compare``)."""

    entries: tuple[Entry, ...]
    shared: str  # the options given once for all entries, as typed ("" for none)
    planned: int  # how many entries were asked for
    interrupted: bool = False  # Ctrl-C: entries holds what was measured before it

    JSON: ClassVar = keys(Key("schema_version", lambda c: SCHEMA_VERSION), Key("shared_options", "shared"),
                          "entries", "planned", "interrupted")


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def time_ratio(s: Stats | None, base: Stats | None) -> tuple[float | None, float | None]:
    """(ratio, its spread as an IQR). Measured in the same rounds, each round's ratio is taken: a load
    change that slows a round slows both sides of it and cancels out. Their median is the ratio, their IQR
    its spread, unless the rounds did not move together (noise within each call, not across rounds): then
    the per-round ratios are wider than the two measurements' own spreads combined, and the ratio of the
    medians, with those spreads combined, is the steadier figure. Unpaired: the ratio of the medians.

    >>> a = Stats((2.0, 4.0, 2.0, 2.0), 1, 1, interleaved=True)
    >>> b = Stats((1.0, 2.0, 1.0, 1.0), 1, 1, interleaved=True)
    >>> time_ratio(a, b)
    (2.0, 0.0)
    """
    if s is None or base is None:
        return None, None
    if not (s.interleaved and base.interleaved and s.runs == base.runs and s.runs > 1):
        return _ratio(s.median, base.median), None
    per_round = Stats(tuple(x / y for x, y in zip(s.samples, base.samples)), 1, 1)
    combined = math.hypot(s.iqr_ratio, base.iqr_ratio)  # relative spreads of independent measurements add so
    if per_round.iqr_ratio <= combined:
        return per_round.median, per_round.iqr
    ratio = _ratio(s.median, base.median)
    return ratio, None if ratio is None else ratio * combined


def ratios(report: Report, base: Report) -> Ratios:
    t, b = report.prediction.totals, base.prediction.totals
    fwd, fwd_iqr = time_ratio(forward(report), forward(base))
    bwd, bwd_iqr = time_ratio(backward(report), backward(base))
    return Ratios(
        parameters=_ratio(t.parameters, b.parameters),
        macs=_ratio(t.macs, b.macs),
        memory_bytes=_ratio(memory_bytes(report), memory_bytes(base)),
        forward=fwd,
        backward=bwd,
        forward_iqr=fwd_iqr,
        backward_iqr=bwd_iqr,
    )


def comparison(labels: Sequence[str], reports: Sequence[Report], *, shared: str = "", planned: int | None = None,
               interrupted: bool = False) -> Comparison:
    """Pair labels with reports (there may be fewer reports than labels after Ctrl-C)."""
    entries = tuple(Entry(label, r, ratios(r, reports[0])) for label, r in zip(labels, reports))
    return Comparison(entries, shared, len(labels) if planned is None else planned, interrupted)
