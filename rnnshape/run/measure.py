"""Measure a statement with torch.utils.benchmark; the clock is a parameter so tests can fake it."""

from __future__ import annotations

import functools
import timeit
from collections.abc import Callable
from dataclasses import dataclass

from rnnshape.errors import UsageError
from rnnshape.model import modes
from rnnshape.model.stats import MIN_RUNS, Stats

DEFAULT_MIN_TIME = 0.05  # seconds; short, so the default command stays near `import torch` wall time
MIN_BLOCKS = 20  # blocks per measurement the block size aims for, so the IQR means something
MAX_OVERHEAD = 1e-3  # timer overhead allowed per block, relative to the block
WARMUP_CALLS = 2  # the first forward of a process is several times slower than steady state
RETRY_MAX_SECONDS = 1.0  # measure again after too few runs when a block is this quick...
STALL_FACTOR = 20  # ...or when it took this many times the quickest warm-up call (a stall, not the statement)
MAX_RETRIES = 2


@dataclass(frozen=True)
class TimingOptions:
    """What to time beyond the forward, and how long. ``threads=None`` means torch's own count.

    >>> TimingOptions(backward=True).min_time
    0.05
    """

    min_time: float = DEFAULT_MIN_TIME
    threads: int | None = None
    backward: bool = False
    vs_loop: bool = False
    clock: Callable[[], float] | None = None

    def check(self, spec, *, untimed: str | None) -> None:
        """The combinations that cannot be timed, as usage errors naming the flag (rnnshape.model.modes).

        ``untimed`` is the flag that turned timing off (--no-time, --dry-run), or None.
        """
        check_bounds(self.min_time, self.threads)
        asked = {name: flag for name, flag, on in (("backward", "--backward", self.backward),
                                                   ("vs_loop", "--vs-loop", self.vs_loop)) if on}
        modes.ignored(asked, untimed=untimed or modes.untimed(meta=spec.device == "meta"))  # both contradict
        if self.vs_loop and spec.cell:
            raise UsageError("--vs-loop compares a fused module with a cell loop; --cell already is the loop "
                             "(got --cell)", hint="drop --cell to compare nn.LSTM with its LSTMCell loop")
        if self.vs_loop and spec.packed:
            raise UsageError("--vs-loop runs the tutorial loop, which takes no PackedSequence (got --lengths)",
                             hint="drop --lengths; --lengths alone times packed against padded")


MAX_MIN_TIME = 600.0


def check_bounds(min_time: float, threads: int | None) -> None:
    """--min-time and --threads, for the CLI and the Python API alike (a huge thread count crashes OpenMP)."""
    import os

    if not 0 < min_time <= MAX_MIN_TIME:
        raise UsageError(f"--min-time must be in (0, {MAX_MIN_TIME:.0f}] seconds (got {min_time})")
    cores = os.cpu_count() or 1
    if threads is not None and not 1 <= threads <= 4 * cores:
        raise UsageError(f"--threads must be between 1 and {4 * cores} on this machine (got {threads})",
                         hint=f"this machine has {cores} cores")


def measure(
    fn: Callable[[], object],
    *,
    threads: int,
    min_time: float = DEFAULT_MIN_TIME,
    clock: Callable[[], float] | None = None,
) -> Stats:
    """Warm up, then time ``fn`` with Timer.blocked_autorange on ``threads`` threads (Timer's default is 1).

    On an accelerator the clock synchronises at the start and end of each block. When a block outlasts
    ``min_time`` (a stall, or a slow statement), blocked_autorange returns a single sample with IQR 0;
    then measure again (at most MAX_RETRIES times) when that is cheap or when the block was a stall
    (STALL_FACTOR times the quickest warm-up call: busy OpenMP threads can stall a 0.5 ms forward for a
    second), pooling blocks of the same size. Fewer than MIN_RUNS runs left is flagged by
    :func:`rnnshape.model.stats.noise_warning`.
    """
    _lazy_cpp_extension()
    from torch.utils.benchmark.utils.common import set_torch_threads

    clock = clock or _default_clock()
    warmups = []
    with set_torch_threads(threads):  # warm up on the threads that will be timed
        for _ in range(WARMUP_CALLS):
            start = clock()
            fn()
            warmups.append(clock() - start)
    timer = _timer_class()(stmt="fn()", globals={"fn": fn}, num_threads=threads, timer=clock)
    m = timer.blocked_autorange(min_run_time=min_time)
    times, number = list(m.times), m.number_per_run
    for _ in range(MAX_RETRIES):
        block = max(times) * number
        stalled = max(times) > STALL_FACTOR * min(warmups)
        if len(times) >= MIN_RUNS or not (block <= RETRY_MAX_SECONDS or stalled):
            break
        again = timer.blocked_autorange(min_run_time=min_time)
        if again.number_per_run == number:
            times += again.times
        elif len(again.times) > len(times):
            times, number = list(again.times), again.number_per_run
    return Stats(samples=tuple(times), calls_per_run=number, threads=threads)


def _lazy_cpp_extension() -> None:
    """Defer torch.utils.cpp_extension until something uses it.

    torch.utils.benchmark imports it (and setuptools with it: about 0.1 s, a tenth of the default
    command's budget) for C++ statements, which rnnshape never times. LazyLoader runs the module on
    its first attribute access, so nothing changes for a program that does use it.
    """
    import importlib.util
    import sys

    name = "torch.utils.cpp_extension"
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    # `from torch.utils import cpp_extension` must find it as an attribute: going through the import
    # system would touch the module's __spec__ and load it at once.
    import torch.utils

    torch.utils.cpp_extension = module


@functools.cache
def _timer_class():
    _lazy_cpp_extension()
    import torch.utils.benchmark as benchmark
    from torch.utils.benchmark.utils.common import set_torch_threads

    class BlockCappedTimer(benchmark.Timer):
        """Timer whose blocked_autorange keeps at least about MIN_BLOCKS blocks in ``min_run_time``.

        Timer's own probe grows the block until timer overhead is under 0.01 % of it: for a 0.5 ms forward
        that is 100-call blocks, so a 0.1 s measurement holds 2 runs and no spread, after a 55 ms probe.
        This probe stops at 0.1 % overhead (the figure blocked_autorange's docstring gives) or before a
        block would exceed min_run_time / MIN_BLOCKS; measuring, statistics and threads stay Timer's.
        """

        def _estimate_block_size(self, min_run_time: float) -> int:
            with set_torch_threads(self._task_spec.num_threads):
                overhead = min(self._timeit(0) for _ in range(5))
                number = 1
                while True:
                    block = self._timeit(number)
                    if overhead <= MAX_OVERHEAD * block or 10 * block > min_run_time / MIN_BLOCKS:
                        return number
                    if number * 10 > 2**31 - 1:  # Timer's own bound (its C++ interface takes an int)
                        return number
                    number *= 10

    return BlockCappedTimer


def _default_clock() -> Callable[[], float]:
    import torch

    if torch.cuda.is_available():

        def clock() -> float:
            torch.cuda.synchronize()
            return timeit.default_timer()

        return clock
    return timeit.default_timer
