"""Measure a forward with torch.utils.benchmark; the clock is a parameter so tests can fake it."""

from __future__ import annotations

import timeit
from collections.abc import Callable

from rnnshape.stats import Stats

DEFAULT_MIN_TIME = 0.1  # seconds; short, so the default command stays near `import torch` wall time
WARMUP_CALLS = 2  # the first forward of a process is several times slower than steady state


def measure(
    fn: Callable[[], object],
    *,
    threads: int,
    min_time: float = DEFAULT_MIN_TIME,
    clock: Callable[[], float] | None = None,
) -> Stats:
    """Warm up, then time ``fn`` with Timer.blocked_autorange on ``threads`` threads (Timer's default is 1).

    On an accelerator Timer synchronises at the start and end of each block.
    """
    import torch.utils.benchmark as benchmark

    for _ in range(WARMUP_CALLS):
        fn()
    timer = benchmark.Timer(
        stmt="fn()",
        globals={"fn": fn},
        num_threads=threads,
        timer=clock or _default_clock(),
    )
    m = timer.blocked_autorange(min_run_time=min_time)
    return Stats(samples=tuple(m.times), calls_per_run=m.number_per_run, threads=threads)


def _default_clock() -> Callable[[], float]:
    import torch

    if torch.cuda.is_available():

        def clock() -> float:
            torch.cuda.synchronize()
            return timeit.default_timer()

        return clock
    return timeit.default_timer
