"""Golden tests of the rendered tables, from hand-built Reports (no torch, no wall clock)."""

from __future__ import annotations

import pytest
from golden_util import assert_golden, render_text

from rnnshape.model.predict import predict
from rnnshape.model.report import Report, Timing
from rnnshape.model.spec import make_spec
from rnnshape.model.stats import Stats
from rnnshape.render.tables import render

TIMING = Timing(forward=Stats(samples=(7.1e-4, 7.2e-4, 7.3e-4, 7.3e-4, 7.5e-4, 8.8e-4), calls_per_run=10, threads=2))

CASES = {
    "lstm_4_bidir": dict(kind="lstm", num_layers=4, bidirectional=True),
    "rnn_cell_stack": dict(kind="rnn", cell=True, hidden_size=[30, 20], init_state="zeros"),
    "lstm_proj_packed_bf": dict(kind="lstm", num_layers=2, proj_size=5, batch_first=True, lengths=[7, 3, 5],
                                init_state="random"),
    "gru_stack_unbatched": dict(kind="gru", hidden_size=[400, 1150, 400], unbatched=True, dtype="bfloat16"),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("verified", [True, False])
def test_tables_golden(name, verified):
    kw = dict(CASES[name])
    spec = make_spec(kw.pop("kind"), **kw)
    report = Report(predict(spec), verified=verified, torch_version="2.13.0+cpu" if verified else None,
                    timing=TIMING if verified else None, warnings=())
    text = render_text(render(report), width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert_golden(f"tables_{name}_{'run' if verified else 'dry'}.txt", text)
