"""Golden files of the rendered --explain and --diagram at 80 columns, the rules at 40 to 160 (torch-free).

RNNSHAPE_UPDATE_GOLDEN=1 rewrites the files under tests/golden/ (the same switch as the table goldens).
"""

from __future__ import annotations

import pytest
from golden_util import WIDTHS, assert_golden, check_fits, render_text

from rnnshape.model.predict import predict
from rnnshape.model.spec import make_spec
from rnnshape.render.explain import DiagramView, ExplanationView
from rnnshape.views.diagram import diagram
from rnnshape.views.explain import explain

CASES = {
    "lstm_1": dict(kind="lstm"),
    "lstm_4_bidir": dict(kind="lstm", num_layers=4, bidirectional=True),
    "rnn_cell_stack": dict(kind="rnn", cell=True, hidden_size=[30, 20]),
    "lstm_stack": dict(kind="lstm", hidden_size=[30, 20]),
    "gru_proj_free_bf_stack_bidir": dict(kind="gru", hidden_size=[30, 20], bidirectional=True, batch_first=True),
    "lstm_proj_init": dict(kind="lstm", num_layers=2, bidirectional=True, proj_size=5, init_state="zeros",
                           seq_len=3),
}


def _prediction(name: str):
    kw = dict(CASES[name])
    return predict(make_spec(kw.pop("kind"), **kw))


@pytest.mark.parametrize("name", sorted(CASES))
def test_diagram_golden(name):
    text = render_text(DiagramView(diagram(_prediction(name))), 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert_golden(f"diagram_{name}_80.txt", text)
    for width in (*WIDTHS, 160):
        check_fits(render_text(DiagramView(diagram(_prediction(name))), width), width)


@pytest.mark.parametrize("name", sorted(CASES))
def test_explain_golden(name):
    text = render_text(ExplanationView(explain(_prediction(name))), 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert_golden(f"explain_{name}_80.txt", text)
    for width in (*WIDTHS, 160):
        check_fits(render_text(ExplanationView(explain(_prediction(name))), width), width)


def test_diagram_uses_the_width():
    """Wider consoles show more time steps; every step is drawn when they all fit."""
    p = _prediction("lstm_4_bidir")
    narrow, wide = render_text(DiagramView(diagram(p)), 80), render_text(DiagramView(diagram(p)), 160)
    assert narrow.count("t=") < wide.count("t=")
    short = predict(make_spec("gru", seq_len=3))
    assert [f"t={t}" in render_text(DiagramView(diagram(short)), 80) for t in range(3)] == [True] * 3
    assert "⋯" not in render_text(DiagramView(diagram(short)), 80)


def test_reverse_final_state_drawn_at_t0():
    """The picture shows the trap: the reverse row leaves at the left (t = 0), the forward row at the right."""
    lines = render_text(DiagramView(diagram(_prediction("lstm_4_bidir"))), 80).splitlines()
    rev = next(line for line in lines if "h_n[7]" in line)
    fwd = next(line for line in lines if "h_n[6]" in line)
    assert rev.lstrip().startswith("h_n[7] ◀") and rev.rstrip().endswith("◀── 0")
    assert fwd.rstrip().endswith("──▶ h_n[6]")
