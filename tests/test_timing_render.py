"""The Timing table (golden file) and the JSON timing, from hand-built Reports; analyze() on a fake clock.

Refresh the golden file after an intended change:  RNNSHAPE_UPDATE_GOLDEN=1 pytest tests/test_timing_render.py
"""

from __future__ import annotations

import io
import os
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from rnnshape.model.predict import predict
from rnnshape.model.report import Kernel, Memory, Report, Timing
from rnnshape.model.spec import make_spec
from rnnshape.model.stats import Probe, Stats, ThreadChoice
from rnnshape.render.jsonout import report_dict
from rnnshape.render.tables import timing_table
from rnnshape.run.rounds import MIN_ROUNDS

GOLDEN = Path(__file__).parent / "golden"


def hand_built(spec, **timing) -> Report:
    return Report(predict(spec), verified=True, torch_version="2.13.0", timing=Timing(**timing))


FORWARD = Stats(samples=(1.79e-3, 1.82e-3, 1.84e-3, 1.86e-3, 1.88e-3, 2.10e-3), calls_per_run=10, threads=2)
BACKWARD = Stats(samples=(5.5e-3, 5.6e-3, 5.7e-3, 5.8e-3), calls_per_run=1, threads=2)
LOOP = Stats(samples=(6.1e-3, 6.2e-3, 6.3e-3, 9.9e-3), calls_per_run=1, threads=2)
PADDED = Stats(samples=(2.0e-3, 2.4e-3, 2.5e-3, 0.4), calls_per_run=10, threads=2)  # a stall: max in seconds
KERNEL = Kernel(path="onednn", ops=(("aten.zeros", 2), ("aten.mkldnn_rnn_layer", 8), ("aten.cat", 4)),
                flop_counter_flops=0)


def render_text(table) -> str:
    console = Console(file=io.StringIO(), width=80, color_system=None, force_terminal=False)
    console.print(table)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines()) + "\n"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("RNNSHAPE_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; RNNSHAPE_UPDATE_GOLDEN=1 to accept"


def test_timing_table_golden_everything():
    spec = make_spec("lstm", num_layers=4, bidirectional=True)
    report = hand_built(spec, forward=FORWARD, backward=BACKWARD, loop=LOOP, kernel=KERNEL,
                        memory=Memory(parts=(("parameters", 197120), ("inputs", 12000), ("gradients", 197120)),
                                      estimate_bytes=507800, peak_bytes=430080, peak_of="forward+backward"))
    text = render_text(timing_table(report))
    assert all(len(line) <= 80 for line in text.splitlines())
    check_golden("timing_table.txt", text)


def test_timing_table_golden_packed_against_padded():
    spec = make_spec("gru", lengths=(10, 7, 4, 2))
    kernel = Kernel(path="aten", ops=(("aten.addmm", 11), ("aten.sigmoid", 20)), flop_counter_flops=331200)
    report = hand_built(spec, forward=FORWARD, padded=PADDED, kernel=kernel)
    text = render_text(timing_table(report))
    assert all(len(line) <= 80 for line in text.splitlines())
    check_golden("timing_table_padded.txt", text)


BUSY_CHOICE = ThreadChoice(1, 2, None, (Probe(1, (1.9e-3, 2.0e-3, 2.1e-3)), Probe(2, (0.30, 0.336, 0.34))))
STALLED = Stats(samples=(0.335, 0.336, 0.336, 0.337), calls_per_run=1, threads=1, floor_s=1.9e-3, interleaved=True)


def test_timing_table_golden_threads_and_a_stall():
    report = hand_built(make_spec("rnn", hidden_size=512, num_layers=2), forward=STALLED, threads=BUSY_CHOICE)
    text = render_text(timing_table(report))
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "not trustworthy: 177 × the quickest call just before (1.90 ms)" in text
    assert "threads  1: fastest in a probe of 1 and 2 threads (2.00 ms, 336 ms per call; 2" in text
    check_golden("timing_table_threads.txt", text)


@pytest.mark.parametrize("samples, shown", [
    ((161e-6, 150e-6, 20e-3, 21e-3), "10.1 ms ± 20.1 (IQR)"),  # spread in the median's unit, never mixed
    ((100e-6, 101e-6, 5e-3, 9e-3), "2.55 ms ± 5.90 (IQR)"),
])
def test_spread_is_in_the_medians_unit_and_a_spread_over_the_median_is_said(samples, shown):
    text = render_text(timing_table(hand_built(make_spec("lstm"), forward=Stats(samples, 1, 1))))
    assert shown in text and "1 thread\n" in text and "1 threads" not in text
    assert "spread over the median" in text


def test_json_threads_has_every_probed_count_with_its_median():
    t = report_dict(hand_built(make_spec("rnn"), forward=STALLED, threads=BUSY_CHOICE))["timing"]
    assert t["threads"]["used"] == 1 and t["threads"]["torch_default"] == 2 and t["threads"]["asked"] is None
    assert t["threads"]["reason"] == "fastest in a probe of 1 and 2 threads"
    assert [(p["threads"], p["median_s"]) for p in t["threads"]["probes"]] == [(1, 2.0e-3), (2, 0.336)]
    assert t["threads"]["default_slowdown"] == pytest.approx(168)
    assert t["forward"]["stalled"] is True and t["forward"]["floor_s"] == 1.9e-3 and t["forward"]["interleaved"]


def test_house_format_line():
    text = render_text(timing_table(hand_built(make_spec("lstm"), forward=FORWARD)))
    assert "forward  1.85 ms ± 0.05 (IQR) · 1.79 … 2.10 ms · 6 runs × 10 calls · 2 threads" in text


def test_json_timing_has_every_statement_with_rates_in_seconds():
    spec = make_spec("lstm", num_layers=4, bidirectional=True)
    t = report_dict(hand_built(spec, forward=FORWARD, backward=BACKWARD, loop=LOOP))["timing"]
    assert t["padded"] is None and t["kernel"] is None and t["memory"] is None
    f = t["forward"]
    assert f["median_s"] == pytest.approx(FORWARD.median) and f["runs"] == 6 and f["calls_per_run"] == 10
    assert f["threads"] == 2 and f["steps"] == 30 and f["flops"] == 2 * 30 * 48_000  # reference §8.1
    assert f["per_step_s"] == pytest.approx(FORWARD.median / 30)
    assert f["steps_per_s"] == pytest.approx(30 / FORWARD.median)
    assert f["gflops"] == pytest.approx(2.88e6 / FORWARD.median / 1e9)
    assert "relative" not in f
    assert t["backward"]["flops"] == 3 * f["flops"]
    assert t["loop"]["relative"] == pytest.approx(LOOP.median / FORWARD.median)
    for key in ("forward", "backward", "loop"):
        assert {"median_s", "iqr_s", "min_s", "max_s", "runs", "calls_per_run", "threads"} <= set(t[key])


def test_json_padded_counts_the_padding_as_work():
    spec = make_spec("gru", lengths=(10, 7, 4, 2))
    t = report_dict(hand_built(spec, forward=FORWARD, padded=PADDED, kernel=KERNEL))["timing"]
    assert t["forward"]["steps"] == 23 and t["padded"]["steps"] == 40
    assert t["padded"]["flops"] * 23 == t["forward"]["flops"] * 40
    assert t["kernel"] == {"path": "onednn", "ops": [{"name": "aten.zeros", "calls": 2},
                                                     {"name": "aten.mkldnn_rnn_layer", "calls": 8},
                                                     {"name": "aten.cat", "calls": 4}],
                           "flop_counter_flops": 0, "flop_counter_hides_matmuls": True}


def test_dry_run_json_timing_is_null():
    report = Report(predict(make_spec("lstm")), verified=False, torch_version=None, timing=None)
    assert report_dict(report)["timing"] is None


class TickingClock:
    """Virtual time that moves only when a torch module runs: each module call lasts the next tick."""

    def __init__(self, ticks):
        self.now, self.ticks, self.n = 0.0, ticks, 0

    def __call__(self) -> float:
        return self.now

    def tick(self, *_):
        self.now += self.ticks[self.n % len(self.ticks)]
        self.n += 1


@pytest.fixture
def ticking():
    torch = pytest.importorskip("torch")
    handles = []

    def make(ticks):
        clock = TickingClock(ticks)
        handles.append(torch.nn.modules.module.register_module_forward_hook(clock.tick))
        return clock

    yield make
    for h in handles:
        h.remove()


def test_analyze_threads_the_clock_through_every_statement(ticking):
    from rnnshape import analyze

    ms = 2.0**-10
    clock = ticking([ms])
    report = analyze("lstm", lengths=(4, 3), min_time=16 * ms, threads=1, clock=clock, backward=True)
    t = report.timing
    assert set(t.forward.samples) == {ms} and t.forward.runs == MIN_ROUNDS and t.forward.threads == 1
    assert set(t.backward.samples) == {ms} and set(t.padded.samples) == {ms}
    assert t.loop is None and t.kernel is None
    assert not [w for w in report.warnings if "IQR" in w]


def test_a_noisy_clock_becomes_a_warning_in_the_report(ticking):
    from rnnshape import analyze
    from rnnshape.render.jsonout import report_dict

    ms = 2.0**-10
    clock = ticking([ms, ms, 2 * ms])
    report = analyze("gru", min_time=32 * ms, threads=1, clock=clock)
    assert report.timing.forward.noisy
    doc = report_dict(report)
    assert any(w.startswith("forward: IQR is") and "--min-time" in w for w in doc["warnings"])


def test_replace_keeps_timing_frozen():
    t = Timing(forward=FORWARD)
    with pytest.raises(Exception):
        t.forward = BACKWARD  # type: ignore[misc]
    assert replace(t, loop=LOOP).loop is LOOP
