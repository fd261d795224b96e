"""Time everything asked of a built configuration (forward, forward+backward, the cell loop, padded) on this
process's torch: the timing options and their bounds, the engine's entry (rnnshape.run.rounds) with torch's
thread setter, default count and clock, and the memory peak of one more call.

All statements (of one configuration, or of several for compare and sweep) are timed together by
:func:`rnnshape.run.rounds.time_groups`, alternating round by round, with the same --min-time and clock.
The clock is a parameter so tests can fake it. torch (and the engine) are imported inside functions only:
the CLI reads DEFAULT_MIN_TIME from here on every start.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rnnshape.errors import UsageError
from rnnshape.model import modes
from rnnshape.model.options import DEFAULT_MIN_TIME  # declared with its option, --min-time
from rnnshape.model.spec import check_run_bounds

if TYPE_CHECKING:  # the result types are made only after a run: --help and --dry-run read DEFAULT_MIN_TIME
    from rnnshape.model.report import Memory, Prediction, Timing
    from rnnshape.model.spec import Spec
    from rnnshape.model.stats import Stats


@dataclass(frozen=True)
class TimingOptions:
    """What to time beyond the forward, and how long. ``threads=None``: the fastest count of a probe.

    ``note`` receives what a long timing will cost before it is spent (None: nobody; the API's default
    writes it on stderr, the CLI passes its output's).

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


# What each configuration times, and its Timing

LABELS = {"forward": "forward", "backward": "forward+backward", "loop": "cell loop", "padded": "padded"}


def time_reports(runs: Sequence[tuple[Spec, Prediction, object]], opts: TimingOptions
                 ) -> list[tuple[Timing, list[str]]]:
    """Time several built configurations together: their statements alternate, round by round."""
    from rnnshape.model.report import Timing
    from rnnshape.model.stats import noise_warning, thread_findings
    from rnnshape.run.build import graph_path, observe_kernel
    from rnnshape.run.rounds import RoundsInterrupted

    groups = [_statements(spec, built, opts) for spec, _, built in runs]
    timed = time_statements(groups, threads=opts.threads, min_time=opts.min_time, clock=opts.clock, note=opts.note)
    out = []
    for (spec, prediction, built), result in zip(runs, timed):
        stats = result.stats
        # One more call each, on the thread count the forward was timed on: torch's default count can stall a
        # long forward tenfold on busy cores, which the probe has just avoided (issue 21: 0.6 s became 5 s).
        with _threads(result.choice.threads):
            # the peak, measured: not after a Ctrl-C, which wants out now
            memory = None if result.interrupted else _memory(spec, prediction, built, backward=opts.backward)
            # The first dispatch mode of a process imports torch._dynamo (about 1.2 s): only --vs-loop pays.
            kernel = observe_kernel(built.forward) if opts.vs_loop else None
            # compare and sweep say which path each configuration ran, from the graph of one more forward
            path = kernel.path if kernel else (graph_path(built.forward) if len(runs) > 1 else None)
        warnings = thread_findings(result.choice)
        warnings += [w for key, s in stats.items() if (w := noise_warning(LABELS[key], s, opts.min_time))]
        out.append((Timing(**stats, kernel=kernel, memory=memory, threads=result.choice, path=path), warnings))
    if any(r.interrupted for r in timed):
        raise RoundsInterrupted(out)
    return out


class _threads:  # noqa: N801 - used as a context manager, named like one
    """torch on ``n`` threads inside, its count before after."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> None:
        import torch

        self.before = torch.get_num_threads()
        if self.before != self.n:
            torch.set_num_threads(self.n)

    def __exit__(self, *exc) -> None:
        import torch

        if torch.get_num_threads() != self.before:
            torch.set_num_threads(self.before)


def _statements(spec: Spec, built, opts: TimingOptions) -> dict:
    """Each statement to time; a training step runs in train mode (dropout acts), switched outside the clock."""
    from rnnshape.run.rounds import Statement

    group = {"forward": Statement(no_grad(built.forward))}
    if opts.backward:
        group["backward"] = Statement(train_step(built), mode=lambda: _train_mode(built.module))
    if opts.vs_loop:
        from rnnshape.run.loop import loop_forward

        group["loop"] = Statement(no_grad(loop_forward(spec, built)))
    if spec.packed:
        group["padded"] = Statement(no_grad(padded_forward(spec, built)))
    return group


def train_step(built) -> Callable[[], None]:
    """One training step without the optimizer: grads set to None (as zero_grad does), forward, sum, backward.

    The loss is the sum of ``output`` (of the last h_n for a cell loop, which has no output).
    """
    params = list(built.module.parameters())
    outputs = list(_output_names(built))
    key = "output" if "output" in outputs else [n for n in outputs if n.startswith("h_n")][-1]

    def step() -> None:
        for p in params:
            p.grad = None
        built.forward()[key].sum().backward()

    return step


def padded_forward(spec: Spec, built) -> Callable[[], object]:
    """The packed batch as the plain padded tensor the user holds: every module sees all seq_len steps."""
    from dataclasses import replace

    from torch import nn

    from rnnshape.run.build import forward_fn

    mods = list(built.module) if isinstance(built.module, nn.ModuleList) else [built.module]
    run = forward_fn(replace(spec, lengths=None), mods, built.inputs)  # the same forward, not packed
    return lambda: run()["output"]


def _output_names(built) -> list[str]:
    import torch

    with torch.no_grad():
        return list(built.forward())


class _train_mode:  # noqa: N801 - used as a context manager, named like one
    """Train mode while timing a training step (dropout acts), eval mode again after."""

    def __init__(self, module) -> None:
        self.module = module

    def __enter__(self):
        self.module.train()

    def __exit__(self, *exc) -> None:
        self.module.eval()


def _memory(spec: Spec, prediction: Prediction, built, *, backward: bool) -> Memory:
    """The estimate, and the peak of one more call measured (rnnshape.run.memory): the training step with --backward."""
    from rnnshape.model.memory import estimate
    from rnnshape.model.report import Memory
    from rnnshape.run.memory import peak_bytes

    parts, total = estimate(prediction, backward=backward)
    resident = [*built.module.parameters(), *built.module.buffers(), *built.inputs.values()]
    if backward:
        for p in built.module.parameters():
            p.grad = None  # freed before the window, so the peak starts from the resident tensors
        with _train_mode(built.module):
            peak = peak_bytes(spec.device, train_step(built), resident)
    else:
        peak = peak_bytes(spec.device, no_grad(built.forward), resident)
    return Memory(parts=parts, estimate_bytes=total, peak_bytes=peak,
                  peak_of="forward+backward" if backward else "forward")
