"""Every view at 40, 60, 80 and 120 columns (issue 16): a golden file at 80, and at every width the never-cut
rules (golden_util.check_fits): no number, shape or name cut (Rich's squeezing leaves ``(2048, 2…``), no
trailing space, and a line past the edge only when it is one unbreakable piece (an expression) or a line to
copy (a command). The --diagram drawing itself fits from 40 columns (issue 24).

Goldens come from hand-built Reports (no wall clock); RNNSHAPE_UPDATE_GOLDEN=1 rewrites tests/golden/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_util import WIDTHS, assert_golden, check_fits, render_text
from test_multi_render import SWEEPS, _compare, _sweep

from rnnshape.model.predict import predict
from rnnshape.model.report import Report, Timing
from rnnshape.model.spec import make_spec
from rnnshape.model.stats import Stats
from rnnshape.render import fmt
from rnnshape.render.explain import DiagramView, ExplanationView
from rnnshape.render.multi import render_comparison, render_sweep
from rnnshape.render.tables import render
from rnnshape.views.diagram import diagram
from rnnshape.views.explain import Focus, explain, focus

TIMING = Timing(forward=Stats(samples=(7.1e-4, 7.2e-4, 7.3e-4, 7.3e-4, 7.5e-4, 8.8e-4), calls_per_run=10, threads=2))
BIG = make_spec("lstm", input_size=256, hidden_size=512, num_layers=2, bidirectional=True, proj_size=128)


def _report(spec, timed: bool) -> Report:
    return Report(predict(spec), verified=timed, torch_version="2.13.0+cpu" if timed else None,
                  timing=TIMING if timed else None, warnings=())


def _focused():
    ex = focus(explain(predict(BIG)), Focus(1, True, "f"))
    return ExplanationView(ex, "layer 1 · reverse · gate f")


VIEWS = {
    "tables_lstm_big_run": lambda: render(_report(BIG, True)),
    "tables_gru_packed_dry": lambda: render(_report(make_spec("gru", hidden_size=[64, 32], lengths=[7, 3, 5]),
                                                    False)),
    "explain_lstm_big": lambda: ExplanationView(explain(predict(BIG))),
    "explain_focus_lstm_big": _focused,
    "diagram_lstm_big": lambda: DiagramView(diagram(predict(BIG))),
    "compare_timed": lambda: render_comparison(_compare(timed=True)),
    "sweep_grid_timed": lambda: render_sweep(_sweep(**SWEEPS["grid_timed"])),
}


@pytest.mark.parametrize("name", sorted(set(VIEWS) - {"compare_timed", "sweep_grid_timed"}))  # test_multi_render's
def test_views_golden(name):
    text = render_text(VIEWS[name](), 80)
    check_fits(text, 80)
    assert_golden(f"width_{name}_80.txt", text)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_fit_every_width(name, width):
    check_fits(render_text(VIEWS[name](), width), width)


@pytest.mark.parametrize("width", range(40, 121, 7))
def test_every_parameter_and_tensor_is_shown_whole(width):
    """Names, shapes and counts each appear unbroken, whatever the width drops or stacks."""
    report = _report(BIG, True)
    text = render_text(render(report), width)
    check_fits(text, width)
    p = report.prediction
    for q in p.parameters:
        for shown in (q.name, fmt.shape(q.shape), fmt.count(q.numel)):
            assert shown in text, (width, shown)
    for t in p.inputs + p.outputs:
        assert t.name in text and fmt.shape(t.shape) in text, (width, t.name)
    assert fmt.count(p.totals.macs) in text and fmt.count(p.totals.parameters) in text


@pytest.mark.parametrize("width", range(40, 121, 9))
def test_explain_names_every_weight_slice_whole(width):
    ex = explain(predict(BIG))
    text = render_text(ExplanationView(ex), width)
    check_fits(text, width)
    for t in ex.groups[0].equations[0].terms:
        if t.source is not None:
            assert f"{t.source.parameter}[{t.source.rows[0]}:{t.source.rows[1]}]" in text, width


def test_focus_answers_the_issues_question():
    """"Where do the forget-gate weights of layer 1, reverse, live?": rows 512:1024 of the *_l1_reverse
    tensors, as torch itself slices them (torch.chunk of the 4·H rows, order i, f, g, o)."""
    import torch
    from torch import nn

    lstm = nn.LSTM(256, 512, num_layers=2, bidirectional=True, proj_size=128)
    text = render_text(_focused(), 80)
    for base in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        name = f"{base}_l1_reverse"
        forget = getattr(lstm, name).chunk(4, 0)[1]
        assert torch.equal(forget, getattr(lstm, name)[512:1024])
        assert f"{name}[512:1024]" in text
    assert "weight_ih_l0[" not in text and "i_t" not in text


def test_words_keep_values_and_expressions_whole():
    from rnnshape.render.words import Words

    text = render_text(Words("estimate 1.6 MiB · add --batch-first to read output[:, 0, H_out:] as (3, 512)"), 12)
    for whole in ("1.6 MiB", "--batch-first to", "output[:, 0, H_out:]", "(3, 512)"):
        assert whole in text


def _run(width: int, *args, code: tuple[int, ...] = (0,)) -> str:
    """The real command with stdout redirected, as `COLUMNS=N rnnshape ... > file` runs it."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": str(width)}
    env.pop("FORCE_COLOR", None)
    r = subprocess.run([sys.executable, "-m", "rnnshape", *map(str, args)], capture_output=True, text=True, env=env)
    assert r.returncode in code, r.stderr
    return r.stdout


@pytest.mark.slow
@pytest.mark.parametrize("width", (*WIDTHS, 80))
def test_cli_output_is_never_cut(width):
    for args in (["lstm", "-i", "256", "-H", "512", "-l", "2", "-b", "--proj-size", "128", "--dry-run", "--explain",
                  "--diagram", "--input-shape", "3,10,256"],
                 ["compare", "lstm", "gru", "lstm -H 512 --bidirectional", "--dry-run"],
                 ["sweep", "gru", "--vary", "seq-len=8,16", "--vary", "layers=1,2", "--dry-run"],
                 ["trace", Path(__file__).parent / "examples" / "seq2seq.py:Seq2Seq", "--input", "8,15:long"]):
        check_fits(_run(width, *args), width)


@pytest.mark.slow
@pytest.mark.parametrize("width", (*WIDTHS, 80))
def test_the_fix_line_is_one_whole_command(width, tmp_path):
    """`inspect --against` at any width: the suggested command on one line, the table never cut."""
    from checkpoint_files import build, save

    path = tmp_path / "ckpt.pt"
    cfg = {"kind": "lstm", "input_size": 256, "hidden_size": 512, "num_layers": 2, "bidirectional": True,
           "proj_size": 128}
    save(path, build(cfg).state_dict(), "model")
    # the exit status of "would not load" is issue 15's (the contract says 1); here only the layout
    text = _run(width, "inspect", path, "--against", "lstm -H 512", code=(0, 1))
    check_fits(text, width)
    fix = "fix: rnnshape lstm --input-size 256 --hidden-size 512 --layers 2 --bidirectional --proj-size 128"
    assert fix in text.splitlines()
    for shape in ("(2048, 256)", "(2048, 100)", "(2048, 128)", "(2048, 512)"):
        assert shape in text
    inspected = _run(width, "inspect", path)
    check_fits(inspected, width)
    assert "weight_ih_l1_reverse" in inspected and "(2048, 256)" in inspected


@pytest.fixture
def ckpt(tmp_path, monkeypatch):
    """The issue's checkpoint: LSTM(256, 512, proj_size=128, num_layers=2, bidirectional=True), as ckpt.pt
    in the working folder (so the name printed is the same on every machine)."""
    from checkpoint_files import build, save

    monkeypatch.chdir(tmp_path)
    cfg = {"kind": "lstm", "input_size": 256, "hidden_size": 512, "num_layers": 2, "bidirectional": True,
           "proj_size": 128}
    save(tmp_path / "ckpt.pt", build(cfg).state_dict(), "model")
    return "ckpt.pt"


@pytest.mark.parametrize("width", (*WIDTHS, 80))
def test_inspect_and_against_golden(ckpt, width):
    from rnnshape.checkpoint.against import load_check
    from rnnshape.checkpoint.inspection import inspect_checkpoint
    from rnnshape.render.inspect import render_inspection, render_load_check

    ins = inspect_checkpoint(ckpt)
    shown = render_text(render_inspection(ins), width)
    check_fits(shown, width)
    if width == 80:
        assert_golden(f"width_inspect_{width}.txt", shown)
    against = render_text(render_load_check(load_check(make_spec("lstm", hidden_size=512), ins.modules, ckpt)), width)
    check_fits(against, width)
    assert "fix: rnnshape lstm --input-size 256 --hidden-size 512 --layers 2 --bidirectional --proj-size 128" in (
        against.splitlines())
    if width == 80:
        assert_golden(f"width_against_{width}.txt", against)


@pytest.mark.parametrize("width", range(40, 121, 8))
@pytest.mark.parametrize("kw", [dict(kind="lstm", hidden_size=[30, 20, 10], bidirectional=True),
                                dict(kind="lstm", num_layers=12, bidirectional=True, proj_size=5)])
def test_diagram_labels_are_never_cut(width, kw):
    """The drawing is laid out for the width (fewer time steps, names only, then rolled up to one box per
    level): it fits from 40 columns, and a final-state label such as h_n.2[0] is never cropped."""
    kw = dict(kw)
    dg = diagram(predict(make_spec(kw.pop("kind"), **kw)))
    text = render_text(DiagramView(dg), width)
    check_fits(text, width)
    drawing = text.split("\n\n")[1]
    for level in dg.levels:
        for label in (*level.finals, *level.initials):
            assert label in drawing, (width, label)


@pytest.mark.parametrize("width", (40, 41, 42, 50))
@pytest.mark.parametrize("kw", [dict(kind="lstm", num_layers=4, bidirectional=True),
                                dict(kind="lstm", input_size=256, hidden_size=512, num_layers=2, bidirectional=True,
                                     proj_size=128),
                                dict(kind="gru", lengths=[9, 7, 5, 3, 1, 2], num_layers=3, bidirectional=True,
                                     init_state="random"),
                                dict(kind="gru", batch_first=True, bidirectional=True, hidden_size=[300, 200])])
def test_the_diagram_fits_from_40_columns(width, kw):
    """Issue 24: not one line of --diagram past the width, its title (the constructor) included."""
    kw = dict(kw)
    text = render_text(DiagramView(diagram(predict(make_spec(kw.pop("kind"), **kw)))), width)
    assert [line for line in text.splitlines() if len(line) > width] == []
