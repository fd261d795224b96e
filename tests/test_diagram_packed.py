"""`--diagram` with packed input against torch: each step's rows are torch's batch_sizes, and each sequence's
h_n slice leaves the forward direction at its own last step (where the reverse direction starts it)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

from rnnshape.model.predict import predict  # noqa: E402
from rnnshape.model.spec import make_spec  # noqa: E402
from rnnshape.views.diagram import diagram  # noqa: E402

L = 7


@pytest.mark.parametrize("lengths", [(5, 2, 3), (7, 1, 4, 7), (3, 3, 6)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_diagram_matches_torch(lengths, bidirectional):
    spec = make_spec("gru", input_size=3, hidden_size=4, bidirectional=bidirectional, seq_len=L, lengths=lengths)
    dg = diagram(predict(spec))  # every step
    gru = torch.nn.GRU(3, 4, bidirectional=bidirectional).double()
    x = torch.randn(L, len(lengths), 3, dtype=torch.float64)
    packed = pack_padded_sequence(x, list(lengths), enforce_sorted=False)
    with torch.no_grad():
        out, h_n = gru(packed)
    output, _ = pad_packed_sequence(out, total_length=L)
    sizes = packed.batch_sizes.tolist()
    assert dg.batch_sizes == tuple(sizes + [0] * (L - len(sizes)))
    step = {n.id: n.t for n in dg.nodes if n.kind == "cell"}
    for e in dg.edges:
        if e.tensor == "x_t":
            assert e.shape[0] == dg.batch_sizes[step[e.target]], e
        if e.tensor == "h_n" and e.target.endswith(".d0"):
            t = step[e.source]
            ending = [b for b, n in enumerate(lengths) if n - 1 == t]
            assert e.shape[0] == len(ending) and e.sequences == tuple(ending), e  # each sequence named
            for b in e.sequences:  # torch: the forward h_n of b is its output at t
                assert torch.equal(h_n[0, b], output[t, b, :4])
        if e.tensor == "h_n" and e.target.endswith(".d1"):  # the reverse direction ends every sequence at t = 0
            assert step[e.source] == 0 and e.sequences == tuple(range(len(lengths)))
            for b in e.sequences:
                assert torch.equal(h_n[1, b], output[0, b, 4:])
        if e.tensor == "h_0" and e.target.startswith("l0.d1."):
            t = step[e.target]
            assert e.shape[0] == sum(n - 1 == t for n in lengths), e
    # every sequence leaves the forward direction exactly once
    leaving = sum(e.shape[0] for e in dg.edges if e.tensor == "h_n" and e.target.endswith(".d0"))
    assert leaving == len(lengths)
