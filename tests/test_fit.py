"""The power-law fit on synthetic data: exact power laws give back their exponents, noise lowers R²."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnshape.model.many import power_fit


@pytest.mark.parametrize("k", [-1.0, 0.0, 0.5, 1.0, 2.0, 3.0])
def test_one_variable_power_law_recovers_k(k):
    xs = [16, 64, 256, 1024]
    f = power_fit([(x,) for x in xs], [3e-5 * x**k for x in xs], ("seq_len",))
    assert f.exponent("seq_len") == pytest.approx(k, abs=1e-9)
    assert f.scale == pytest.approx(3e-5, rel=1e-9)
    assert f.r2 == pytest.approx(1.0)
    assert f.points == 4


@given(k1=st.floats(-2, 3), k2=st.floats(-2, 3), c=st.floats(1e-6, 1e3))
def test_two_variable_grid_recovers_both(k1, k2, c):
    grid = [(a, b) for a in (2, 8, 32) for b in (1, 4, 64)]
    f = power_fit(grid, [c * a**k1 * b**k2 for a, b in grid], ("seq_len", "batch"))
    assert f.exponent("seq_len") == pytest.approx(k1, abs=1e-7)
    assert f.exponent("batch") == pytest.approx(k2, abs=1e-7)
    assert f.r2 == pytest.approx(1.0, abs=1e-9)


def test_noise_lowers_r2_but_keeps_the_trend():
    rng = random.Random(0)
    xs = [2**i for i in range(4, 12)]
    ys = [1e-6 * x * rng.uniform(0.7, 1.3) for x in xs]
    f = power_fit([(x,) for x in xs], ys, ("seq_len",))
    assert 0.9 < f.exponent("seq_len") < 1.1
    assert 0.95 < f.r2 < 1.0


def test_overhead_shows_as_a_smaller_exponent():
    # t = overhead + work: at the small end the overhead dominates, so the exponent falls below 1
    xs = [16, 64, 256, 1024]
    f = power_fit([(x,) for x in xs], [1e-3 + 1e-6 * x for x in xs], ("seq_len",))
    assert f.exponent("seq_len") < 0.5


@pytest.mark.parametrize(
    "xs, ys",
    [
        ([(16,)], [1.0]),  # one point: no line
        ([(16,), (16,)], [1.0, 2.0]),  # the variable never varies: singular
        ([(0,), (16,)], [1.0, 2.0]),  # log of 0
        ([(4,), (16,)], [0.0, 2.0]),
    ],
)
def test_no_fit_where_none_exists(xs, ys):
    assert power_fit(xs, ys, ("x",)) is None
