"""Power-law fits: y = c · x1^k1 · x2^k2 ..., by least squares on the logarithms. Pure Python.

>>> f = power_fit([(16,), (64,), (256,)], [2.0, 8.0, 32.0], ("seq_len",))
>>> round(f.exponent("seq_len"), 6), round(f.r2, 6), f.points
(1.0, 1.0, 3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rnnshape.model.report import Key, keys


@dataclass(frozen=True)
class PowerFit:
    """The exponent of each variable, the scale c, and R² of the fit in log space."""

    exponents: tuple[tuple[str, float], ...]
    scale: float
    r2: float
    points: int

    JSON: ClassVar = keys(Key("exponents", lambda f: dict(f.exponents)), "scale", "r2", "points")

    def exponent(self, name: str) -> float:
        return dict(self.exponents)[name]


def power_fit(xs: Sequence[Sequence[float]], ys: Sequence[float], names: Sequence[str]) -> PowerFit | None:
    """Fit ``ys ≈ c · Π xs[i]^k_i``; None when there are too few points or a value is not positive.

    Each row of ``xs`` holds one point's values, in the order of ``names``.
    """
    n, m = len(ys), len(names)
    if m == 0 or n < m + 1 or len(xs) != n:
        return None
    if any(v <= 0 for row in xs for v in row) or any(y <= 0 for y in ys):
        return None
    rows = [[1.0] + [math.log(v) for v in row] for row in xs]
    logy = [math.log(y) for y in ys]
    normal = [[sum(r[i] * r[j] for r in rows) for j in range(m + 1)] for i in range(m + 1)]
    rhs = [sum(r[i] * t for r, t in zip(rows, logy)) for i in range(m + 1)]
    coef = _solve(normal, rhs)
    if coef is None:
        return None
    predicted = [sum(c * v for c, v in zip(coef, r)) for r in rows]
    mean = sum(logy) / n
    ss_tot = sum((t - mean) ** 2 for t in logy)
    ss_res = sum((t - p) ** 2 for t, p in zip(logy, predicted))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 1e-12 else (1.0 if ss_res < 1e-12 else 0.0)
    return PowerFit(exponents=tuple(zip(names, coef[1:])), scale=math.exp(coef[0]), r2=r2, points=n)


def _solve(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; None for a singular system (a variable never varies)."""
    size = len(b)
    a = [row[:] + [v] for row, v in zip(a, b)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(size):
            if r != col:
                f = a[r][col] / a[col][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col])]
    return [a[i][size] / a[i][i] for i in range(size)]
