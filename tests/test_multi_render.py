"""Golden tests of the compare table and the sweep chart, from hand-built Reports (no torch, no wall clock)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from golden_util import WIDTHS, assert_golden, check_fits, render_text

from rnnshape.model.many import Point, comparison, grid, parse_vary, sweep_result
from rnnshape.model.predict import predict
from rnnshape.model.report import Report, Timing
from rnnshape.model.spec import make_spec
from rnnshape.model.stats import Stats
from rnnshape.render.multi import compare_markdown, render_comparison, render_sweep


@dataclass(frozen=True)
class TimingWithBackward:
    """What report.Timing looks like once the timing engine measures the backward pass too."""

    forward: Stats
    backward: Stats


def _stats(median: float, spread: float = 0.02, runs: int = 5) -> Stats:
    step = median * spread
    return Stats(samples=tuple(median + step * (i - runs // 2) for i in range(runs)), calls_per_run=10, threads=2)


def _report(spec, timing=None) -> Report:
    return Report(predict(spec), verified=timing is not None, torch_version="2.13.0+cpu" if timing else None,
                  timing=timing)


def _compare(timed: bool, backward: bool = False):
    labels = ["rnn", "lstm", "gru", "lstm --hidden-size 32 --bidirectional"]
    specs = [make_spec(k, hidden_size=64, num_layers=2) for k in ("rnn", "lstm", "gru")]
    specs.append(make_spec("lstm", hidden_size=32, num_layers=2, bidirectional=True))
    medians = [4.1e-4, 1.3e-3, 9.8e-4, 1.1e-3]
    reports = []
    for spec, m in zip(specs, medians):
        timing = None
        if timed:
            timing = TimingWithBackward(_stats(m), _stats(2.6 * m, 0.2)) if backward else Timing(_stats(m))
        reports.append(_report(spec, timing))
    return comparison(labels, reports, shared="--hidden-size 64 --layers 2")


@pytest.mark.parametrize("case", ["dry", "timed", "backward"])
def test_compare_golden(case):
    c = _compare(timed=case != "dry", backward=case == "backward")
    text = render_text(render_comparison(c), width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert_golden(f"compare_{case}_80.txt", text)
    for width in WIDTHS:
        check_fits(render_text(render_comparison(c), width=width), width)


def test_compare_ratios_in_view_are_the_reports_ratios():
    c = _compare(timed=True)
    lstm, rnn = c.entries[1].report, c.entries[0].report
    assert c.entries[1].relative.forward == lstm.timing.forward.median / rnn.timing.forward.median
    assert c.entries[1].relative.parameters == 4.0
    assert f"×{c.entries[1].relative.forward:.2f}" in render_text(render_comparison(c))


def _rounds(per_round_base, factor, stall=None):
    """Interleaved samples: round r of every entry saw the same load (per_round_base[r])."""
    return Stats(tuple(b * factor for b in per_round_base), 1, 1, floor_s=stall, interleaved=True)


def test_compare_interleaved_shows_each_ratio_with_its_spread_and_marks_a_stall():
    load = [2e-3, 2e-3, 2.2e-3, 6e-3, 2e-3, 2.1e-3]  # round 4 was busy for everyone
    specs = [make_spec(k, hidden_size=512, num_layers=2) for k in ("rnn", "lstm", "gru")]
    fwd = [_rounds(load, 1.0), _rounds([x * (5 + 0.1 * i) for i, x in enumerate(load)], 1.0),
           _rounds(load, 3.0, stall=1e-3)]
    c = comparison(["rnn", "lstm", "gru"], [_report(s, Timing(f)) for s, f in zip(specs, fwd)])
    lstm = c.entries[1].relative
    assert lstm.forward == pytest.approx(5.25) and lstm.forward_iqr == pytest.approx(0.25)
    assert c.entries[2].relative.forward_iqr == pytest.approx(0.0)
    text = render_text(render_comparison(c), width=80)
    assert "×5.25 ± 0.25" in text and "6.15 ± 0.52 stalled" in text
    assert "time ratios: median ± IQR of each round's ratio" in text
    assert "6 runs in alternating rounds · 1 thread" in text
    assert_golden("compare_interleaved_80.txt", text)


def test_compare_markdown_golden():
    assert_golden("compare_backward.md", compare_markdown(_compare(timed=True, backward=True)))


def _sweep(varies_text, seconds=None, interrupted_after=None):
    varies = [parse_vary(v) for v in varies_text]
    points = []
    for values in grid(varies):
        spec = make_spec("lstm", hidden_size=128, **{v.field: x for v, x in zip(varies, values)})
        timing = None
        if seconds:
            timing = Timing(_stats(seconds(spec)))
        points.append(Point(values, _report(spec, timing)))
    planned = len(points)
    if interrupted_after is not None:
        points = points[:interrupted_after]
    return sweep_result(varies, points, planned=planned, interrupted=interrupted_after is not None)


def _overhead_then_work(spec) -> float:
    # a fixed 0.5 ms per call plus 2 µs per (sample, step): overheads dominate the short sequences
    return 5e-4 + 2e-6 * spec.steps()


SWEEPS = {
    "seq_len_timed": dict(varies_text=["seq-len=16,64,256,1024"], seconds=_overhead_then_work),
    "seq_len_dry": dict(varies_text=["seq-len=16,64,256,1024"]),
    "grid_timed": dict(varies_text=["seq-len=16,64,256", "batch=1,8,64"], seconds=_overhead_then_work),
    "linear_interrupted": dict(varies_text=["batch=2,4,6,8"], seconds=lambda s: 1e-4 * s.batch,
                               interrupted_after=3),
}


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_sweep_golden(name):
    text = render_text(render_sweep(_sweep(**SWEEPS[name])), width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert_golden(f"sweep_{name}_80.txt", text)


def test_sweep_fit_sees_the_overhead():
    s = _sweep(**SWEEPS["seq_len_timed"])
    assert s.growth.macs.exponent("seq_len") == pytest.approx(1.0)
    assert s.growth.time.exponent("seq_len") < 0.8
    assert "fixed per-call overheads dominate" in render_text(render_sweep(s), width=200)


def test_loose_time_fit_is_said_instead_of_a_verdict():
    s = _sweep(["seq-len=16,64,256,1024"], seconds=lambda spec: {16: 1e-3, 64: 9e-2, 256: 2e-3, 1024: 5e-3}[
        spec.seq_len])
    text = render_text(render_sweep(s), width=200)
    assert "the time fit is loose" in text and "over seq_len" not in text


def test_svg_text_never_starts_with_spaces(tmp_path):
    # librsvg drops a <text>'s leading spaces, which would shift right-aligned numbers left
    import re

    from rnnshape.render.screen import export

    path = tmp_path / "c.svg"
    export(render_comparison(_compare(timed=True)), path, width=80)
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", path.read_text())
    assert any("18,944" in t for t in texts)
    assert not [t for t in texts if t.startswith(("&#160;", " "))]


def test_compare_and_sweep_json_golden():
    """Both documents byte for byte (written by the hand-made JSON views the serializer replaced)."""
    from rnnshape.render.multi import compare_json, sweep_json

    assert_golden("compare_timed.json", compare_json(_compare(timed=True)))
    assert_golden("sweep_grid_timed.json", sweep_json(_sweep(**SWEEPS["grid_timed"])))


def test_compare_says_which_kernel_each_ran():
    """Issue 24: `compare lstm gru` says why one is slower: a kernel column (Rich, Markdown), kernel_path (CSV)."""
    from dataclasses import replace

    from rnnshape.render.multi import compare_csv

    c = _compare(timed=True)
    paths = ["aten", "onednn", "aten", "onednn"]
    c = comparison([e.label for e in c.entries],
                   [replace(e.report, timing=replace(e.report.timing, path=p)) for e, p in zip(c.entries, paths)],
                   shared=c.shared)
    text = render_text(render_comparison(c), width=80)
    assert_golden("compare_kernel_80.txt", text)
    assert text.count("oneDNN fused") == 2 and text.count("aten per step") == 2
    md = compare_markdown(c).splitlines()
    assert md[0].endswith("| kernel |") and md[3].endswith("| oneDNN fused |")
    assert [row.split(",")[-1] for row in compare_csv(c).splitlines()] == ["kernel_path", *paths]
    for width in WIDTHS:
        check_fits(render_text(render_comparison(c), width), width)
    dry = render_text(render_comparison(_compare(timed=False)), width=120)
    assert "kernel" not in dry  # nothing ran: no column
