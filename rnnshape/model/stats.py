"""Timing statistics and what follows from them, pure Python: the samples' statistics (``Stats``, noise
warnings), the thread count to time on (``choose``, ``ThreadChoice``), rates derived from a statement and the
work it does (``timed``), and byte sizes for people (``nbytes``).

Statistics: raw per-call times in, derived numbers out.

>>> s = Stats(samples=(1.0, 2.0, 3.0, 4.0), calls_per_run=10, threads=2)
>>> s.median, s.iqr, s.runs
(2.5, 1.5, 4)

Threads: the best count depends on what else the machine is doing: on a busy 2-core machine two OpenMP
threads that wait on each other stalled a 2 ms RNN forward to 336 ms, while one thread stayed at 2 ms
(issue 12). So rnnshape measures the counts that matter for a few calls each and times on the fastest.

>>> c = choose((Probe(1, (2e-3, 2.1e-3, 2e-3)), Probe(2, (0.3, 0.2, 0.33))), default=2)
>>> c.threads, c.reason
(1, 'fastest in a probe of 1 and 2 threads')
>>> round(c.default_slowdown)
150

Rates from a timed statement and the exact work it does (renderers call these):

>>> r = rates(Stats((0.002,) * 3, 10, 2), steps=30, flops=2_880_000)
>>> round(r.per_step_s * 1e6, 1), round(r.steps_per_s), round(r.gflops, 2)
(66.7, 15000, 1.44)

Byte sizes, here in the model layer because the memory guard's refusal needs one and must not import render:

>>> nbytes(332200)
'324.4 KiB'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

NOISY_IQR_RATIO = 0.10
STALL_FACTOR = 3.0  # a median this many times the quickest call seen just before is a stall, not the statement


def percentile(sorted_values: tuple[float, ...] | list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 1]."""
    if not sorted_values:
        raise ValueError("percentile of no samples")
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


@dataclass(frozen=True)
class Stats:
    """One measurement: per-call seconds of each run (each run averages ``calls_per_run`` calls)."""

    samples: tuple[float, ...]
    calls_per_run: int
    threads: int
    # The quickest single call of the same statement seen just before (warm-up and thread probe): what this
    # configuration can do on this machine. A median far above it is a stall, even with a small IQR.
    floor_s: float | None = None
    # samples[i] was taken in round i, alternating with the other statements measured with it, so
    # per-round ratios between them are fair (issue 12)
    interleaved: bool = False

    @property
    def _sorted(self) -> list[float]:
        return sorted(self.samples)

    @property
    def runs(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return percentile(self._sorted, 0.5)

    @property
    def iqr(self) -> float:
        s = self._sorted
        return percentile(s, 0.75) - percentile(s, 0.25)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    @property
    def noisy(self) -> bool:
        """IQR/median above 10 %, the threshold torch.utils.benchmark warns at; or too few runs to tell."""
        return self.runs < 3 or self.iqr > NOISY_IQR_RATIO * self.median

    @property
    def iqr_ratio(self) -> float:
        return self.iqr / self.median if self.median > 0 else 0.0

    @property
    def q1(self) -> float:
        return percentile(self._sorted, 0.25)

    @property
    def q3(self) -> float:
        return percentile(self._sorted, 0.75)

    @property
    def stall_factor(self) -> float | None:
        """The median over the quickest call seen just before (None when there is no such call)."""
        if not self.floor_s:
            return None
        return self.median / self.floor_s

    @property
    def stalled(self) -> bool:
        """Every run alike can stall (threads waiting on busy cores): the IQR stays small, the median does not."""
        f = self.stall_factor
        return f is not None and f > STALL_FACTOR


MIN_RUNS = 3  # fewer runs than this and the IQR says nothing about the spread


def noise_warning(label: str, s: Stats, min_time: float) -> str | None:
    """A warning with its fix when ``s`` cannot be trusted as it stands, else None.

    >>> noise_warning("forward", Stats((1.0, 1.0, 1.0, 1.5), 1, 1), 0.1)
    'forward: IQR is 12 % of the median (over 10 %): the machine was busy; use --min-time 1 or a quieter machine'
    >>> noise_warning("forward", Stats((0.3,), 1, 2), 0.1)
    'forward: only 1 run fit in --min-time 0.1 (one block took 0.3 s), so its spread is unknown; use --min-time 2'
    """
    if s.stalled:
        return stall_warning(label, s)
    if s.runs < MIN_RUNS:
        block = max(s.samples) * s.calls_per_run
        need = _round_up(max(MIN_RUNS * block * 1.2, 10 * min_time))
        runs = f"{s.runs} run" + ("s" if s.runs != 1 else "")
        return (
            f"{label}: only {runs} fit in --min-time {min_time:g} (one block took {block:.2g} s), "
            f"so its spread is unknown; use --min-time {need:g}"
        )
    if s.iqr_ratio > NOISY_IQR_RATIO:
        fixes = [f"--min-time {_round_up(10 * min_time):g}", "a quieter machine"]
        if s.threads > 1:
            fixes.append("--threads 1 (threads that wait on each other stall when the cores are busy)")
        return (
            f"{label}: IQR is {s.iqr_ratio * 100:.0f} % of the median (over {NOISY_IQR_RATIO * 100:.0f} %): "
            f"the machine was busy; use {', '.join(fixes[:-1])} or {fixes[-1]}"
        )
    return None


def stall_warning(label: str, s: Stats) -> str:
    """The median cannot be trusted: say so, with what the same statement did moments before.

    >>> stall_warning("forward", Stats((0.3, 0.31, 0.3), 1, 2, floor_s=0.002))[:80]
    'forward: not trustworthy: the median 0.3 s is 150 × the quickest call measured j'
    """
    return (f"{label}: not trustworthy: the median {s.median:.2g} s is {_times(s.stall_factor or 0)} the quickest "
            f"call measured just before ({s.floor_s:.2g} s), so every run stalled alike (a small IQR does not "
            f"mean a quiet machine); use --threads 1, or a quieter machine")


def _times(x: float) -> str:
    return f"{x:.1f} ×" if x < 10 else f"{x:,.0f} ×"


def _round_up(seconds: float) -> float:
    """A friendly figure at or above ``seconds``: 1, 2 or 5 times a power of ten."""
    import math

    exp = math.floor(math.log10(seconds))
    for m in (1, 2, 5, 10):
        v = m * 10.0**exp
        if v >= seconds * (1 - 1e-9):
            return float(f"{v:.12g}")
    return seconds


# Thread counts

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


# Rates

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


def work(report, which: str) -> tuple[int, int]:  # report: a model.report.Report (which imports this module)
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


def timed(report) -> list[Timed]:  # report: a model.report.Report
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


# Units

def nbytes(n: int) -> str:
    for unit, size in (("EiB", 2**60), ("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20),
                       ("KiB", 2**10)):
        if n >= size:
            value = n / size
            return f"{value:,.1f} {unit}" if value < 1e6 else f"{value:.3g} {unit}"
    return f"{n} B"
