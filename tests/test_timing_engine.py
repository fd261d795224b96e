"""The timing engine on a fake machine: thread probe, stall detection, interleaved rounds, long forwards.

No torch and no wall clock: a statement's call lasts what the fake machine says for the thread count the
engine set, at the virtual time it runs (issue 12's table, in miniature).
"""

from __future__ import annotations

import pytest

from rnnshape.model.many import time_ratio
from rnnshape.model.stats import Probe, Stats, ThreadChoice, candidates, choose, noise_warning, thread_findings
from rnnshape.run.rounds import LONG_CALL_S, MEASURE_CAP_S, MIN_ROUNDS, enough, time_groups

MS = 2.0**-10  # about a millisecond, exact in binary so virtual time adds without rounding
# calls before the rounds for a quick forward: 2 warm-up, then per count 2 passes of (1 absorbing + 3, 1 + 2)
BEFORE_ROUNDS = 2 + 2 * (4 + 3)


class Machine:
    """Virtual time, a thread count, and per-statement costs: cost(key, threads, calls so far) -> seconds."""

    def __init__(self, cost):
        self.now, self.threads, self.cost, self.log, self.notes = 0.0, 2, cost, [], []

    def clock(self) -> float:
        return self.now

    def set_threads(self, n: int) -> None:
        self.threads = n

    def statement(self, key: str):
        def fn():
            self.now += self.cost(key, self.threads, len(self.log))
            self.log.append((key, self.threads))

        return fn

    def note(self, text: str) -> None:
        self.notes.append((len(self.log), text))

    def time(self, keys=("forward",), *, asked=None, min_time=0.05, default=2, cores=2):
        groups = [{"forward": self.statement(k)} for k in keys]
        return time_groups(groups, asked=asked, min_time=min_time, clock=self.clock, default=default, cores=cores,
                           set_threads=self.set_threads, note=self.note)


def per_thread(table):
    """cost from {key: {threads: seconds}}."""
    return lambda key, threads, calls: table[key][threads]


def test_busy_machine_times_on_one_thread_and_says_the_default_is_slower():
    # the busy row: RNN 1.71 ms on 1 thread, 336 ms on 2
    m = Machine(per_thread({"rnn": {1: 2 * MS, 2: 336 * MS}}))
    [g] = m.time(["rnn"])
    assert g.choice.threads == 1 and g.choice.asked is None
    assert g.stats["forward"].threads == 1 and g.stats["forward"].median == 2 * MS
    assert {p.threads for p in g.choice.probes} == {1, 2}
    assert g.choice.default_slowdown == pytest.approx(168)
    [finding] = thread_findings(g.choice)
    assert "default of 2 threads ran 168 × slower than 1 thread" in finding and "set_num_threads(1)" in finding
    assert not g.stats["forward"].stalled and noise_warning("forward", g.stats["forward"], 0.05) is None


def test_idle_machine_times_on_more_threads_when_they_are_faster():
    # the idle row: LSTM 9.56 ms on 1 thread, 3.15 ms on 2
    m = Machine(per_thread({"lstm": {1: 10 * MS, 2: 3 * MS}}))
    [g] = m.time(["lstm"])
    assert g.choice.threads == 2 and g.stats["forward"].median == 3 * MS
    assert g.choice.reason == "fastest in a probe of 1 and 2 threads" and thread_findings(g.choice) == []


def test_a_near_tie_goes_to_fewer_threads():
    assert choose([Probe(1, (1.0,)), Probe(2, (0.97,))], default=2).threads == 1
    assert choose([Probe(1, (1.0,)), Probe(2, (0.9,))], default=2).threads == 2


@pytest.mark.parametrize("default, cores, asked, counts", [
    (2, 2, None, (1, 2)), (4, 2, None, (1, 4, 2)), (1, 1, None, ()), (1, 2, None, (1, 2)),
    (2, 2, 1, ()), (2, 2, 3, (1, 3)), (2, None, None, (1, 2)),
])
def test_candidates(default, cores, asked, counts):
    assert candidates(default, cores, asked) == counts


def test_threads_asked_are_honoured_and_a_far_slower_count_is_warned_about():
    m = Machine(per_thread({"gru": {1: 6 * MS, 2: 300 * MS}}))
    [g] = m.time(["gru"], asked=2)
    assert g.choice.threads == 2 and g.stats["forward"].threads == 2
    assert {t for _, t in m.log} == {1, 2}  # the quick probe ran one thread too
    [finding] = thread_findings(g.choice)
    assert finding.startswith("--threads 2 ran 50 × slower than 1 thread")


def test_threads_asked_that_stall_the_first_call_are_not_taken_for_a_long_forward():
    m = Machine(per_thread({"gru": {1: 6 * MS, 2: 0.2}}))
    [g] = m.time(["gru"], asked=2)
    assert m.notes == [] and g.stats["forward"].threads == 2 and g.stats["forward"].median == pytest.approx(0.2)
    assert g.stats["forward"].stalled and not g.remeasured  # nothing to fall back to, and dear to repeat
    assert "not trustworthy" in noise_warning("forward", g.stats["forward"], 0.05)


def test_one_thread_asked_probes_nothing():
    m = Machine(per_thread({"gru": {1: 6 * MS, 2: 300 * MS}}))
    [g] = m.time(["gru"], asked=1)
    assert {t for _, t in m.log} == {1} and g.choice.probes == () and thread_findings(g.choice) == []


def test_a_stall_that_hits_every_run_alike_is_measured_again_on_one_thread():
    # 2 threads win the probe; then the machine gets busy and every 2-thread call stalls alike (IQR 0)
    def cost(key, threads, calls):
        if threads == 2:
            return 2 * MS if calls < BEFORE_ROUNDS else 200 * MS
        return 4 * MS

    m = Machine(cost)
    [g] = m.time(["rnn"], min_time=0.02)
    s = g.stats["forward"]
    assert g.remeasured and g.choice.fallback and g.choice.threads == 1
    assert s.threads == 1 and s.median == 4 * MS and not s.stalled


def test_threads_that_stall_every_other_run_are_measured_again_on_one_thread():
    # a spread over the median on two threads, the median itself fine: some runs stalled (seen under load 7)
    def cost(key, threads, calls):
        if threads == 2:
            return 2 * MS if calls < BEFORE_ROUNDS or calls % 5 > 1 else 100 * MS  # 2 in 5 stall
        return 4 * MS

    m = Machine(cost)
    [g] = m.time(["rnn"], min_time=0.02)
    assert g.remeasured and g.choice.fallback and g.stats["forward"].median == 4 * MS
    first = Stats((2 * MS,) * 3 + (100 * MS,) * 2, 1, 2, floor_s=2 * MS)
    assert not first.stalled and first.iqr > first.median  # what sent it back: the spread, not the median


def test_a_stall_that_lasts_is_flagged_not_printed_as_a_fact():
    def cost(key, threads, calls):
        return MS if calls < BEFORE_ROUNDS else 100 * MS  # every count, from the measuring on

    m = Machine(cost)
    [g] = m.time(["rnn"], min_time=0.02)
    s = g.stats["forward"]
    assert g.remeasured and s.stalled and s.iqr == 0  # the IQR alone would call it quiet
    assert s.floor_s == MS and s.stall_factor == pytest.approx(100)
    w = noise_warning("forward", s, 0.02)
    assert w.startswith("forward: not trustworthy: the median 0.098 s is 100 × the quickest call")


def test_rounds_alternate_the_configurations_and_ratios_survive_a_load_change():
    # from the 80th call on, everything runs 3 × slower: the medians move, the per-round ratios do not
    base = {"rnn": 2 * MS, "lstm": 10 * MS, "gru": 7 * MS}
    m = Machine(lambda key, threads, calls: base[key] * (3 if calls >= 80 else 1) * (1 if threads == 1 else 3))
    groups = m.time(["rnn", "lstm", "gru"], min_time=0.05)
    rnn, lstm, gru = (g.stats["forward"] for g in groups)
    assert rnn.interleaved and rnn.runs == lstm.runs == gru.runs >= MIN_ROUNDS
    measured = [k for k, t in m.log][-3 * rnn.runs:]
    assert measured == ["rnn", "lstm", "gru"] * rnn.runs  # A, B, C, A, B, C, ...
    assert len({round(x, 9) for x in lstm.samples}) == 2  # the load change is in the samples
    assert time_ratio(lstm, rnn) == (5.0, 0.0) and time_ratio(gru, rnn) == (3.5, 0.0)


def test_rounds_that_do_not_move_together_fall_back_to_the_ratio_of_medians():
    # noise inside each call, independent between the two: per-round ratios scatter more than either side
    a = Stats((1.0, 3.0, 1.0, 3.0, 2.0), 1, 1, interleaved=True)
    b = Stats((3.0, 1.0, 3.0, 1.0, 2.0), 1, 1, interleaved=True)
    ratio, spread = time_ratio(a, b)
    assert ratio == 1.0 and spread == pytest.approx(2 ** 0.5)  # each side's IQR is its median: √(1² + 1²)


def test_ratio_of_unpaired_measurements_is_the_ratio_of_medians_with_no_spread():
    a, b = Stats((2.0, 4.0, 6.0), 1, 1), Stats((1.0, 1.0, 1.0), 1, 1)
    assert time_ratio(a, b) == (4.0, None)
    assert time_ratio(None, b) == (None, None)


def test_default_min_time_gives_at_least_min_rounds_runs():
    m = Machine(per_thread({"rnn": {1: 2 * MS, 2: 3 * MS}}))
    [g] = m.time(["rnn"])
    assert g.stats["forward"].runs >= MIN_ROUNDS == 20


def test_a_slow_forward_is_measured_for_about_the_cap():
    m = Machine(per_thread({"big": {1: 60 * MS, 2: 70 * MS}}))
    [g] = m.time(["big"])
    s = g.stats["forward"]
    assert s.runs == pytest.approx(MEASURE_CAP_S / (60 * MS), abs=1)


def test_a_long_forward_costs_a_couple_of_calls_and_is_announced_before_measuring():
    m = Machine(per_thread({"huge": {1: 0.3, 2: 0.35}}))
    [g] = m.time(["huge"])
    # a second look on one thread (a first call under a second may be a stall), then once on two threads
    assert m.log == [("huge", 1), ("huge", 1), ("huge", 2)]
    [(calls_before, text)] = m.notes
    assert calls_before == 2 and text.startswith("one forward takes 0.3 s, so it is timed once or twice")
    assert "tried once on 2 threads too (about 0.3 s more)" in text and "--no-time" in text
    assert g.stats["forward"].threads == 1 and g.stats["forward"].samples == (0.3, 0.3)  # those calls are the runs


def test_a_very_long_forward_is_announced_right_after_its_first_call():
    m = Machine(per_thread({"huge": {1: 26.0, 2: 30.0}}))
    [g] = m.time(["huge"])
    assert m.log == [("huge", 1), ("huge", 2)] and m.notes[0][0] == 1
    assert g.stats["forward"].samples == (26.0,)


def test_a_long_forward_on_busy_cores_is_not_probed_more_than_once_per_count():
    m = Machine(per_thread({"huge": {1: 0.3, 2: 3.0}}))
    [g] = m.time(["huge"])
    assert len(m.log) == 3 and g.choice.threads == 1 and g.choice.default_slowdown == pytest.approx(10)


def test_a_long_forward_is_not_tried_on_threads_that_stall_a_small_matmul():
    m = Machine(per_thread({"huge": {1: 0.3, 2: 3.0}}))
    groups = [{"forward": m.statement("huge")}]
    [g] = time_groups(groups, asked=None, min_time=0.05, clock=m.clock, default=2, cores=2,
                      set_threads=m.set_threads, note=m.note, health=lambda n: MS * (1 if n == 1 else 12))
    assert m.log == [("huge", 1), ("huge", 1)]  # no 3 s call on two threads
    assert g.choice.threads == 1 and g.choice.skipped == ((2, 12.0),) and g.choice.default_slowdown == 12
    assert g.choice.reason.startswith("a small matmul ran 12 × slower on 2 threads")
    assert "default of 2 threads ran 12 × slower" in thread_findings(g.choice)[0]


def test_a_long_forward_is_tried_on_threads_that_run_a_small_matmul_well():
    m = Machine(per_thread({"huge": {1: 0.3, 2: 0.16}}))
    groups = [{"forward": m.statement("huge")}]
    [g] = time_groups(groups, asked=None, min_time=0.05, clock=m.clock, default=2, cores=2,
                      set_threads=m.set_threads, note=m.note, health=lambda n: MS / n)
    assert m.log == [("huge", 1), ("huge", 1), ("huge", 2)] and g.choice.threads == 2
    assert g.stats["forward"].runs == 1


def test_a_forward_long_on_one_thread_but_quick_on_two_is_measured_as_a_quick_one():
    m = Machine(per_thread({"lstm": {1: 0.3, 2: 0.05}}))
    [g] = m.time(["lstm"])
    assert g.choice.threads == 2 and g.stats["forward"].median == pytest.approx(0.05)
    assert g.stats["forward"].runs >= MIN_ROUNDS


def test_a_long_entry_beside_quick_ones_costs_a_couple_of_calls_and_leaves_them_their_runs():
    m = Machine(per_thread({"rnn": {1: 2 * MS, 2: 3 * MS}, "gru": {1: 7 * MS, 2: 9 * MS}, "big": {1: 0.3, 2: 0.4}}))
    rnn, gru, big = m.time(["rnn", "gru", "big"])
    assert [k for k, _ in m.log].count("big") == 3  # first call, a second look, once on two threads
    assert big.stats["forward"].runs == 2 and not big.stats["forward"].interleaved
    assert rnn.stats["forward"].runs == gru.stats["forward"].runs >= MIN_ROUNDS
    assert rnn.stats["forward"].interleaved and time_ratio(gru.stats["forward"], rnn.stats["forward"]) == (3.5, 0.0)
    assert time_ratio(big.stats["forward"], rnn.stats["forward"])[0] == pytest.approx(0.3 / (2 * MS))


def test_a_slow_first_call_is_not_taken_for_a_long_forward():
    m = Machine(lambda key, threads, calls: 0.5 if calls == 0 else 2 * MS)  # cold, or caught in a stall
    [g] = m.time(["rnn"])
    # announced on the first call's word (before anything else is spent), then measured as a quick one
    assert g.stats["forward"].runs >= MIN_ROUNDS and g.stats["forward"].median == 2 * MS


def test_ctrl_c_after_a_round_keeps_the_complete_rounds():
    m = Machine(per_thread({"a": {1: MS, 2: MS}, "b": {1: 2 * MS, 2: 2 * MS}}))
    fn = m.statement("b")
    calls = []

    def b():
        calls.append(1)
        if len(calls) == 40:
            raise KeyboardInterrupt
        fn()

    groups = [{"forward": m.statement("a")}, {"forward": b}]
    out = time_groups(groups, asked=1, min_time=1.0, clock=m.clock, default=2, cores=2, set_threads=m.set_threads)
    assert all(g.interrupted for g in out)
    assert out[0].stats["forward"].runs == out[1].stats["forward"].runs == 40 - 2 - 1  # warm-up 2, mid-round 1


def test_ctrl_c_before_any_round_is_a_plain_interrupt():
    def boom():
        raise KeyboardInterrupt

    m = Machine(per_thread({}))
    with pytest.raises(KeyboardInterrupt):
        time_groups([{"forward": boom}], asked=1, min_time=1.0, clock=m.clock, default=2, cores=2,
                    set_threads=m.set_threads)


@pytest.mark.parametrize("rounds, spent, long, done", [
    (19, [1.0], False, True),  # the cap
    (19, [0.5], False, False),
    (20, [0.04, 0.5], False, False),  # one statement has not had --min-time yet
    (1, [LONG_CALL_S], True, True),
])
def test_enough(rounds, spent, long, done):
    assert enough(rounds, spent, 0.05, long=long) is done


def test_reason_says_why():
    assert ThreadChoice(2, 2, 2).reason == "asked (--threads)"
    assert ThreadChoice(1, 1).reason == "the only count available"
    assert ThreadChoice(1, 2, None, (Probe(1, (1.0,)), Probe(2, (2.0,))), fallback=True).reason.startswith("one thread")
