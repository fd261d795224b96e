"""Statistics of timing samples: raw per-call times in, derived numbers out. Pure Python, no torch.

>>> s = Stats(samples=(1.0, 2.0, 3.0, 4.0), calls_per_run=10, threads=2)
>>> s.median, s.iqr, s.runs
(2.5, 1.5, 4)
"""

from __future__ import annotations

from dataclasses import dataclass

NOISY_IQR_RATIO = 0.10


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
