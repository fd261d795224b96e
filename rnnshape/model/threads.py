"""Which thread count to time on: probe samples in, a choice and what it says about the machine out.

Pure Python. The best count depends on what else the machine is doing: on a busy 2-core machine two
OpenMP threads that wait on each other stalled a 2 ms RNN forward to 336 ms, while one thread stayed at
2 ms (issue 12). So rnnshape measures the counts that matter for a few calls each and times on the fastest.

>>> c = choose((Probe(1, (2e-3, 2.1e-3, 2e-3)), Probe(2, (0.3, 0.2, 0.33))), default=2)
>>> c.threads, c.reason
(1, 'fastest in a probe of 1 and 2 threads')
>>> round(c.default_slowdown)
150
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rnnshape.model.stats import percentile

PREFER_FEWER = 1.05  # a count with more threads must be this much faster to be chosen (fewer threads stall less)
SLOW_FACTOR = 1.5  # torch's default (or --threads N) this many times slower than one thread: say so


@dataclass(frozen=True)
class Probe:
    """A few per-call seconds of the forward on ``threads`` threads, taken in rounds with the other counts."""

    threads: int
    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return percentile(sorted(self.samples), 0.5)


@dataclass(frozen=True)
class ThreadChoice:
    """The count the timing ran on, why, and every count probed with its samples."""

    threads: int
    default: int  # torch.get_num_threads() when rnnshape started
    asked: int | None = None  # --threads / threads=
    probes: tuple[Probe, ...] = ()
    fallback: bool = False  # the chosen count stalled when measured, so the timing ran on one thread
    # counts a long forward was not tried on, with how much slower a small matmul ran on them than on one
    # thread: a forward cannot be stopped once started, and on busy cores it can take 10 × longer
    skipped: tuple[tuple[int, float], ...] = ()

    def probe(self, threads: int) -> Probe | None:
        return next((p for p in self.probes if p.threads == threads), None)

    @property
    def reason(self) -> str:
        counts = " and ".join(str(p.threads) for p in self.probes)
        if self.fallback:
            return "one thread: the count the probe chose stalled when measured"
        if self.asked is not None:
            return "asked (--threads)"
        if self.skipped:
            n, slow = self.skipped[0]
            return f"a small matmul ran {_times(slow)} slower on {n} threads: this long forward was not tried there"
        if len(self.probes) < 2:
            return "the only count available" if self.default == 1 else "torch's default"
        return f"fastest in a probe of {counts} threads"

    @property
    def default_slowdown(self) -> float | None:
        """torch's default count's probe median over one thread's (None when not both probed)."""
        return _slowdown(self, self.default) or dict(self.skipped).get(self.default)

    @property
    def asked_slowdown(self) -> float | None:
        return _slowdown(self, self.asked) if self.asked else None


def _slowdown(c: ThreadChoice, threads: int) -> float | None:
    one, other = c.probe(1), c.probe(threads)
    if threads == 1 or one is None or other is None or one.median <= 0:
        return None
    return other.median / one.median


def candidates(default: int, cores: int | None, asked: int | None) -> tuple[int, ...]:
    """The counts to probe: one, torch's default and the usable core count; with --threads N, N against one.

    >>> candidates(4, 2, None), candidates(2, 2, None), candidates(2, 2, 3), candidates(2, 2, 1)
    ((1, 4, 2), (1, 2), (1, 3), ())
    """
    if asked is not None:
        return () if asked == 1 else (1, asked)
    counts: list[int] = []
    for n in (1, default, cores):
        if n and n not in counts:
            counts.append(n)
    return tuple(counts) if len(counts) > 1 else ()


def choose(probes: Sequence[Probe], *, default: int, asked: int | None = None) -> ThreadChoice:
    """The fastest probed count (fewer threads unless more are PREFER_FEWER times faster); --threads wins."""
    probes = tuple(probes)
    if asked is not None:
        return ThreadChoice(asked, default, asked, probes)
    if not probes:
        return ThreadChoice(default, default)
    best = min(probes, key=lambda p: p.median)
    fewer = [p for p in probes if p.threads < best.threads and p.median <= PREFER_FEWER * best.median]
    if fewer:
        best = min(fewer, key=lambda p: p.threads)
    return ThreadChoice(best.threads, default, None, probes)


def thread_findings(c: ThreadChoice) -> list[str]:
    """What the probe says about the machine that the user needs to know, for training too.

    >>> thread_findings(ThreadChoice(1, 2, None, (Probe(1, (1e-3,)), Probe(2, (4e-3,)))))[0][:66]
    "torch's default of 2 threads ran 4.0 × slower than 1 thread here: "
    """
    out = []
    slow = c.default_slowdown
    if c.asked is None and slow is not None and slow >= SLOW_FACTOR:
        out.append(f"torch's default of {c.default} threads ran {_times(slow)} slower than 1 thread here: "
                   f"the cores are busy and the threads wait on each other; timed on {c.threads} thread"
                   f"{'s' if c.threads != 1 else ''}. Training on this machine now may also run faster "
                   f"with torch.set_num_threads(1)")
    slow = c.asked_slowdown
    if slow is not None and slow >= SLOW_FACTOR:
        out.append(f"--threads {c.asked} ran {_times(slow)} slower than 1 thread in a quick probe: the cores are "
                   f"busy; use --threads 1, or leave --threads out to time on the fastest count")
    return out


def _times(x: float) -> str:
    return f"{x:.1f} ×" if x < 10 else f"{x:,.0f} ×"
