"""Statistics of timing samples: raw per-call times in, derived numbers out. Pure Python, no torch.

>>> s = Stats(samples=(1.0, 2.0, 3.0, 4.0), calls_per_run=10, threads=2)
>>> s.median, s.iqr, s.runs
(2.5, 1.5, 4)
"""

from __future__ import annotations

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
