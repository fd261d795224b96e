"""Table-driven predictor cases taken from the PyTorch documentation and the verified reference."""

from __future__ import annotations

import pytest

from rnnshape.model.predict import predict
from rnnshape.model.spec import make_spec

# (kind, make_spec kwargs, expected output shapes by name) -- from the nn.RNN/LSTM/GRU docs examples:
#   rnn = nn.LSTM(10, 20, 2); input = torch.randn(5, 3, 10); output, (hn, cn) = rnn(input, (h0, c0))
DOCS = [
    ("rnn", dict(input_size=10, hidden_size=20, num_layers=2, seq_len=5, batch=3),
     {"output": (5, 3, 20), "h_n": (2, 3, 20)}),
    ("lstm", dict(input_size=10, hidden_size=20, num_layers=2, seq_len=5, batch=3),
     {"output": (5, 3, 20), "h_n": (2, 3, 20), "c_n": (2, 3, 20)}),
    ("gru", dict(input_size=10, hidden_size=20, num_layers=2, seq_len=5, batch=3),
     {"output": (5, 3, 20), "h_n": (2, 3, 20)}),
    # LSTMCell docs: rnn = nn.LSTMCell(10, 20); input = torch.randn(2, 3, 10) looped over dim 0
    ("lstm", dict(cell=True, input_size=10, hidden_size=20, seq_len=2, batch=3), {"h_n": (3, 20), "c_n": (3, 20)}),
    ("gru", dict(cell=True, input_size=10, hidden_size=20, seq_len=6, batch=3), {"h_n": (3, 20)}),
    # reference: LSTM(6,8,L=3,bidirectional,proj_size=4,batch_first) on (3,5,6)
    ("lstm", dict(input_size=6, hidden_size=8, num_layers=3, bidirectional=True, proj_size=4, batch_first=True,
                  batch=3, seq_len=5), {"output": (3, 5, 8), "h_n": (6, 3, 4), "c_n": (6, 3, 8)}),
    # reference: x (5,3,6) with lengths [5,3,2] packs to data (10, 6); LSTM(6, 8) -> output.data (10, 8)
    ("lstm", dict(input_size=6, hidden_size=8, lengths=[5, 3, 2]),
     {"output": (5, 3, 8), "output.data": (10, 8), "h_n": (1, 3, 8), "c_n": (1, 3, 8)}),
]


@pytest.mark.parametrize("kind, kw, outputs", DOCS)
def test_docs_shapes(kind, kw, outputs):
    pred = predict(make_spec(kind, **kw))
    assert {t.name: t.shape for t in pred.outputs} == outputs


def test_reference_counts():
    # the reference's hand-derived totals: 2*(9,760 + 3*4,960) = 49,280; MACs 30*48,000
    seed = predict(make_spec("lstm", num_layers=4, bidirectional=True)).totals
    assert (seed.parameters, seed.macs, seed.flops) == (49_280, 1_440_000, 2_880_000)
    proj = predict(make_spec("lstm", input_size=10, hidden_size=20, num_layers=2, bidirectional=True, proj_size=5))
    assert proj.totals.parameters == 5_840
    assert [p.name for p in proj.parameters][:5] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0"]


def test_any_size_is_instant():
    pred = predict(make_spec("lstm", hidden_size=65536, num_layers=64, seq_len=1_000_000))
    assert len(pred.parameters) == 64 * 4
    assert pred.totals.steps == 3_000_000
    assert pred.outputs[0].shape == (1_000_000, 3, 65536)
