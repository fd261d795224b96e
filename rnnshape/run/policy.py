"""The timing engine's policy: how many calls, how long, when to stop, when to measure again. Pure Python.

The numbers come from issue 12's measurements on a shared 2-core machine; rnnshape.run.rounds applies them.
"""

from __future__ import annotations

from collections.abc import Sequence

from rnnshape.model.stats import Stats
from rnnshape.model.threads import ThreadChoice

WARMUP_CALLS = 2  # the first forward of a process is several times slower than steady state
PROBE_CALLS = 5  # calls per thread count in the probe, in rounds
PROBE_BUDGET_S = 0.15  # ...fewer when the probe would take longer than this
PROBE_PASSES = 2  # the counts are probed in this many passes (1, 2, 1, 2), so a change of load hits both
MIN_ROUNDS = 20  # runs per statement the default --min-time aims at (the README's promise)
MEASURE_CAP_S = 1.0  # ...but a statement is not measured for longer than this, or --min-time when larger
LONG_CALL_S = 0.1  # a forward this slow is timed a couple of times only, and announced on stderr
RECHECK_BELOW_S = 1.0  # ...when a second call says so too, if the first took less than this (a stall?)
HEALTH_CALLS = 5  # calls of the small op per count before a long forward is tried on more threads
MIN_BLOCKS = 20  # blocks of calls are sized to fit this many into --min-time
MAX_OVERHEAD = 1e-3  # timer overhead allowed per block, relative to the block


def block_size(per_call: float, min_time: float, overhead: float) -> int:
    """Calls per block: grow by 10 while the timer's overhead is over MAX_OVERHEAD of the block, but never
    past min_time / MIN_BLOCKS (so a measurement holds enough blocks to have a spread).

    >>> block_size(1e-6, 0.05, 1e-6), block_size(2e-3, 0.05, 1e-6), block_size(1e-6, 0.019, 1e-6)
    (1000, 1, 100)
    """
    number = 1
    while overhead > MAX_OVERHEAD * number * per_call and 10 * number * per_call <= min_time / MIN_BLOCKS:
        if number * 10 > 2**31 - 1:  # Timer's own bound (its C++ interface takes an int)
            break
        number *= 10
    return number


def enough(rounds: int, spent: Sequence[float], min_time: float, *, long: bool) -> bool:
    """Stop measuring? Each statement has had --min-time and MIN_ROUNDS rounds (one round for a long
    forward), or one of them has had MEASURE_CAP_S (or --min-time when larger).

    >>> enough(20, [0.05, 0.2], 0.05, long=False), enough(19, [0.05, 0.2], 0.05, long=False)
    (True, False)
    >>> enough(5, [0.01, 1.0], 0.05, long=False), enough(1, [0.3], 0.05, long=True)
    (True, True)
    """
    if rounds >= (1 if long else MIN_ROUNDS) and min(spent) >= min_time:
        return True
    return rounds >= 1 and max(spent) >= max(min_time, MEASURE_CAP_S)


def probe_calls(per_call: float, counts: int, groups: int) -> int:
    """Calls per count in the probe: PROBE_CALLS, fewer for a slow forward, one for a long one.

    >>> probe_calls(2e-3, 2, 1), probe_calls(0.03, 2, 1), probe_calls(0.3, 2, 3)
    (5, 2, 1)
    """
    return max(1, min(PROBE_CALLS, int(PROBE_BUDGET_S / max(per_call * counts * groups, 1e-12))))


def troubled(s: Stats) -> bool:
    """Stalled alike, or on several threads with a spread over the median (some runs stalled, some not)."""
    return s.stalled or (s.threads > 1 and s.runs >= 3 and s.iqr > s.median)


def fallback(c: ThreadChoice) -> ThreadChoice:
    if c.threads == 1 or c.asked is not None:
        return c
    return ThreadChoice(1, c.default, c.asked, c.probes, fallback=True)
