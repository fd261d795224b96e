"""Rates derived from a timed statement and the exact work it does. Pure Python: renderers call these.

>>> from rnnshape.model.stats import Stats
>>> r = rates(Stats((0.002,) * 3, 10, 2), steps=30, flops=2_880_000)
>>> round(r.per_step_s * 1e6, 1), round(r.steps_per_s), round(r.gflops, 2)
(66.7, 15000, 1.44)
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnshape.model.stats import Stats

# A report (rnnshape.model.report.Report) is read, not imported: the report's JSON document carries these
# rates, so report.py imports this module.

BACKWARD_FLOPS_FACTOR = 3  # forward+backward ≈ 3 × forward: the gradients of inputs and of weights each
# cost one forward's matmuls (the usual convention; the exact count is a little lower, since nothing
# computes the gradient of the data or of zero initial states)


@dataclass(frozen=True)
class Rates:
    steps: int  # (sample, time step) pairs one call processes
    flops: int  # matmul FLOPs one call performs
    per_step_s: float
    steps_per_s: float
    gflops: float


def rates(s: Stats, *, steps: int, flops: int) -> Rates:
    m = s.median
    return Rates(steps=steps, flops=flops, per_step_s=m / steps if steps else 0.0,
                 steps_per_s=steps / m if m else 0.0, gflops=flops / m / 1e9 if m else 0.0)


def work(report, which: str) -> tuple[int, int]:
    """(steps, flops) one call of the statement ``which`` does: the padded run also computes the padding."""
    spec = report.spec
    t = report.prediction.totals
    if which == "padded":
        steps = spec.seq_len * (spec.batch or 1)
        return steps, (t.flops // t.steps) * steps if t.steps else 0
    if which == "backward":
        return t.steps, BACKWARD_FLOPS_FACTOR * t.flops
    return t.steps, t.flops


@dataclass(frozen=True)
class Timed:
    """One timed statement of a report, with its rates."""

    key: str  # "forward", "backward", "loop" or "padded"
    stats: Stats
    rates: Rates
    relative: float | None  # its median / the forward's; None for the forward itself


def timed(report) -> list[Timed]:
    """Each timed statement, in the order the report shows them."""
    timing = report.timing
    if timing is None:
        return []
    rows = []
    for key in ("forward", "backward", "loop", "padded"):
        s = getattr(timing, key)
        if s is None:
            continue
        steps, flops = work(report, key)
        relative = None if key == "forward" else s.median / timing.forward.median
        rows.append(Timed(key, s, rates(s, steps=steps, flops=flops), relative))
    return rows
