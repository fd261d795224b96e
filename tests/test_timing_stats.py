"""Statistics and noise warnings on synthetic samples; measure() on a fake clock. No wall-clock numbers."""

from __future__ import annotations

import statistics

import pytest

from rnnshape.model.stats import Stats, noise_warning, percentile
from rnnshape.run.measure import TimingOptions, measure


@pytest.mark.parametrize(
    "samples",
    [(1.0,), (1.0, 2.0), (3.0, 1.0, 2.0), (5.0, 1.0, 4.0, 2.0, 3.0), (0.1, 0.1, 0.1, 7.0), tuple(range(1, 21))],
)
def test_median_and_iqr_match_statistics_module(samples):
    s = Stats(samples=tuple(float(x) for x in samples), calls_per_run=1, threads=1)
    assert s.median == pytest.approx(statistics.median(samples))
    if len(samples) >= 2:
        q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive")  # numpy's linear interpolation
        assert s.iqr == pytest.approx(q3 - q1)
    assert (s.min, s.max, s.runs) == (min(samples), max(samples), len(samples))


def test_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        percentile([], 0.5)


@pytest.mark.parametrize(
    "samples, noisy",
    [
        ((1.0, 1.0, 1.0, 1.0), False),
        ((0.95, 1.0, 1.0, 1.05), False),  # IQR/median = 0.05
        ((0.9, 1.0, 1.0, 1.1, 1.2), True),  # IQR 0.1 → 10 %: exactly the limit is fine, this is over it
        ((1.0, 1.0, 2.0, 2.0), True),
        ((1.0, 1.0), True),  # too few runs to know
    ],
)
def test_noisy_flag_and_warning_agree(samples, noisy):
    s = Stats(samples=samples, calls_per_run=10, threads=2)
    assert s.noisy is noisy
    assert (noise_warning("forward", s, 0.1) is not None) is noisy


def test_exactly_ten_percent_is_not_noisy():
    s = Stats(samples=(0.95, 1.0, 1.0, 1.05, 1.0, 0.9, 1.1, 1.0, 1.0), calls_per_run=1, threads=1)
    assert s.iqr_ratio <= 0.10 and not s.noisy


def test_noise_warning_names_the_statement_the_ratio_and_a_fix():
    s = Stats(samples=(1.0, 1.0, 2.0, 2.0), calls_per_run=1, threads=2)
    w = noise_warning("forward+backward", s, 0.1)
    assert w.startswith("forward+backward: IQR is 67 % of the median (over 10 %)")
    assert "--min-time 1" in w and "quieter machine" in w and "--threads 1" in w
    alone = noise_warning("forward", Stats(samples=s.samples, calls_per_run=1, threads=1), 0.1)
    assert alone.endswith("use --min-time 1 or a quieter machine")


def test_single_run_warning_says_the_spread_is_unknown_and_how_long_to_measure():
    s = Stats(samples=(0.4,), calls_per_run=1, threads=2)
    w = noise_warning("forward", s, 0.1)
    assert "only 1 run" in w and "spread is unknown" in w
    assert "--min-time 2" in w  # 3 runs of 0.4 s, with room: 1.44 s rounded up to 2


MS = 2.0**-10  # about a millisecond, exact in binary so the fake clock adds without rounding


class FakeClock:
    """Virtual seconds that pass only when the timed statement says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def scripted(clock: FakeClock, durations):
    """A statement whose n-th call lasts durations[n] (the last one repeats); records the calls."""
    calls = []

    def fn():
        d = durations[min(len(calls), len(durations) - 1)]
        calls.append(d)
        clock.now += d

    return fn, calls


def test_measure_on_a_fake_clock_is_exact():
    clock = FakeClock()
    fn, calls = scripted(clock, [MS])
    s = measure(fn, threads=1, min_time=64 * MS, clock=clock)
    assert s.threads == 1 and s.calls_per_run == 1
    assert s.runs == 64 and set(s.samples) == {MS}
    assert len(calls) == 2 + 64  # warm-up, the measured runs (one thread asked: nothing to probe)


def test_a_stall_in_one_run_does_not_move_the_median():
    # torch's pitfall: a block longer than min_run_time ended blocked_autorange with one sample, IQR 0.
    clock = FakeClock()
    fn, _ = scripted(clock, [MS, MS, MS, 0.5, MS])
    s = measure(fn, threads=1, min_time=16 * MS, clock=clock)
    assert s.samples[1] == 0.5 and s.runs == 20 and s.median == MS
    assert noise_warning("forward", s, 16 * MS) is None


def test_a_long_statement_is_called_once_and_flagged():
    clock = FakeClock()
    fn, calls = scripted(clock, [2.0])
    s = measure(fn, threads=1, min_time=0.1, clock=clock)
    assert s.runs == 1 and len(calls) == 1  # the warm-up call is the run: longer than --min-time already
    assert "only 1 run" in noise_warning("forward", s, 0.1)


def test_measure_runs_the_statement_on_the_threads_asked():
    import torch

    seen = set()
    clock = FakeClock()

    def fn():
        seen.add(torch.get_num_threads())
        clock.now += MS

    measure(fn, threads=1, min_time=8 * MS, clock=clock)
    assert seen == {1}


@pytest.mark.parametrize(
    "opts, dry, spec_kw, flag",
    [
        (TimingOptions(vs_loop=True, backward=True), True, {}, "--vs-loop"),
        (TimingOptions(vs_loop=True), True, {}, "--vs-loop"),
        (TimingOptions(vs_loop=True), False, {"cell": True}, "--cell"),
        (TimingOptions(vs_loop=True), False, {"lengths": (3, 2)}, "--lengths"),
        (TimingOptions(vs_loop=True), False, {"device": "meta"}, "--device meta"),
        (TimingOptions(min_time=0), False, {}, "--min-time"),
        (TimingOptions(threads=0), False, {}, "--threads"),
    ],
)
def test_timing_options_refuse_what_cannot_be_timed(opts, dry, spec_kw, flag):
    from rnnshape.errors import UsageError
    from rnnshape.model import modes
    from rnnshape.model.options import cli_name
    from rnnshape.model.spec import make_spec

    with pytest.raises(UsageError) as err:
        opts.check(make_spec("lstm", **spec_kw), untimed=modes.untimed(dry_run=dry))
    assert flag in err.value.worded(cli_name) and "--" not in err.value.message


class TickingClock(FakeClock):
    """Reading the clock costs 2**-20 s (about 1 µs), as a call does."""

    def __call__(self) -> float:
        self.now += 2.0**-20
        return self.now


@pytest.mark.parametrize(
    "min_time, calls",
    [
        (0.05, 1000),  # blocks grow until timer overhead is under a thousandth: 1,000 calls
        (0.019, 100),  # ...but a 1,000-call block (about 1 ms) would leave under 20 runs in 0.019 s
    ],
)
def test_block_size_balances_overhead_and_run_count(min_time, calls):
    clock = TickingClock()
    fn, _ = scripted(clock, [2.0**-20])
    s = measure(fn, threads=1, min_time=min_time, clock=clock)
    assert s.calls_per_run == calls and s.runs >= 20
