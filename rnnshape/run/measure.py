"""Timing options and their bounds, and the engine's entry on this process's torch (rnnshape.run.rounds).

The clock is a parameter so tests can fake it.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from dataclasses import dataclass

from rnnshape.errors import UsageError
from rnnshape.model import modes
from rnnshape.model.options import DEFAULT_MIN_TIME  # declared with its option, --min-time
from rnnshape.model.spec import check_run_bounds
from rnnshape.model.stats import Stats


@dataclass(frozen=True)
class TimingOptions:
    """What to time beyond the forward, and how long. ``threads=None``: the fastest count of a probe.

    ``note`` receives what a long timing will cost before it is spent (default: stderr).

    >>> TimingOptions(backward=True).min_time
    0.05
    """

    min_time: float = DEFAULT_MIN_TIME
    threads: int | None = None
    backward: bool = False
    vs_loop: bool = False
    clock: Callable[[], float] | None = None
    note: Callable[[str], None] | None = None

    def check(self, spec, *, untimed: str | None) -> None:
        """The combinations that cannot be timed, as usage errors naming the option (rnnshape.model.modes).

        ``untimed`` is the option that turned timing off (modes.untimed), or None.
        """
        check_run_bounds(self.min_time, self.threads)
        asked = [name for name, on in (("backward", self.backward), ("vs_loop", self.vs_loop)) if on]
        modes.ignored(asked, untimed=untimed or modes.untimed(meta=spec.device == "meta"))  # both contradict
        if self.vs_loop and spec.cell:
            raise UsageError(field="vs_loop", message="{vs_loop=True} compares a fused module with a cell loop; "
                             "{cell=True} already is the loop (got {cell=True})",
                             hint="drop {cell=True} to compare nn.LSTM with its LSTMCell loop")
        if self.vs_loop and spec.packed:
            raise UsageError(field="vs_loop", message="{vs_loop=True} runs the tutorial loop, which takes no "
                             "PackedSequence (got {lengths})", hint="drop {lengths}; {lengths} alone times packed "
                             "against padded")


def measure(
    fn: Callable[[], object],
    *,
    threads: int | None = None,
    min_time: float = DEFAULT_MIN_TIME,
    clock: Callable[[], float] | None = None,
) -> Stats:
    """Time one statement with the engine of :mod:`rnnshape.run.rounds` (warm-up, thread probe, rounds).

    ``threads=None`` times on the fastest count of a probe; a number is honoured.
    """
    return time_statements([{"forward": fn}], threads=threads, min_time=min_time, clock=clock)[0].stats["forward"]


def time_statements(groups, *, threads: int | None, min_time: float, clock: Callable[[], float] | None = None,
                    note: Callable[[str], None] | None = None):
    """:func:`rnnshape.run.rounds.time_groups` on this process's torch: its thread setter, default count, clock."""
    import torch

    from rnnshape.run.rounds import time_groups

    default = torch.get_num_threads()

    def set_threads(n: int) -> None:
        if torch.get_num_threads() != n:  # setting even the same count costs more than reading it
            torch.set_num_threads(n)

    try:
        return time_groups(groups, asked=threads, min_time=min_time, clock=clock or _default_clock(),
                           default=default, cores=usable_cores(), set_threads=set_threads, note=note,
                           health=None if clock else _matmul_health(set_threads))
    finally:
        torch.set_num_threads(default)


def _matmul_health(set_threads: Callable[[int], None]) -> Callable[[int], float]:
    """A small parallel op (a 256 × 256 matmul, about a millisecond on one core) timed on n threads."""
    import torch

    a = torch.randn(256, 256)

    def health(n: int) -> float:
        set_threads(n)
        start = timeit.default_timer()
        torch.mm(a, a)
        return timeit.default_timer() - start

    return health


def usable_cores() -> int | None:
    """Physical cores this process may run on: affinity, cgroup CPU quota (containers) and SMT siblings.

    None when it cannot be told (then only one thread and torch's default count are probed).
    """
    import math
    import os
    from pathlib import Path

    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None
    cores = set()
    for cpu in cpus:
        try:
            topo = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
            cores.add(((topo / "physical_package_id").read_text().strip(), (topo / "core_id").read_text().strip()))
        except OSError:
            cores.add(("", str(cpu)))
    count = len(cores)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return count or None


def _default_clock() -> Callable[[], float]:
    import torch

    if torch.cuda.is_available():

        def clock() -> float:
            torch.cuda.synchronize()
            return timeit.default_timer()

        return clock
    return timeit.default_timer


def no_grad(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` called under torch.no_grad(): a timed forward builds no autograd graph."""
    import torch

    def call():
        with torch.no_grad():
            return fn()

    return call
