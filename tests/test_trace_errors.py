"""A failing recurrent call explained: the shape rnnshape says torch expects is the one torch's own message
names, derived from the module's attributes alone; and the dimension it blames is the one that differs."""

from __future__ import annotations

import itertools
import re

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnnshape.api.trace import failure
from rnnshape.run.trace import Recorder

EXPECTED = re.compile(r"Expected hidden(?:\[(\d)\])? size \(([^)]*)\), got \[([^\]]*)\]")


def _fail(model, *args):
    """Run ``model`` under the recorder; the TraceError and torch's own exception."""
    recorder = Recorder(model)
    try:
        with recorder:
            model(*args)
    except Exception as err:
        return failure(recorder, err), err
    raise AssertionError("the call did not fail")


def _torch_expected(err: Exception) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    m = EXPECTED.search(str(err))
    assert m, str(err)
    name = "c_0" if m.group(1) == "1" else "h_0"
    return name, tuple(int(d) for d in m.group(2).split(",")), tuple(int(d) for d in m.group(3).split(","))


LAYER_CASES = [
    (kind, layers, bidir, proj, bf, batched, wrong)
    for kind, layers, bidir, proj, bf, batched, wrong in itertools.product(
        ("rnn", "gru", "lstm"), (1, 2), (False, True), (0, 3), (False, True), (True, False),
        ("layers", "batch", "width", "cell"))
    if not (proj and kind != "lstm") and not (wrong == "cell" and kind != "lstm")
    and not (wrong == "batch" and not batched)
]


@pytest.mark.parametrize("kind,layers,bidir,proj,bf,batched,wrong", LAYER_CASES)
def test_wrong_state_matches_torch(kind, layers, bidir, proj, bf, batched, wrong):
    cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
    extra = {"proj_size": proj} if proj else {}
    module = cls(6, 8, num_layers=layers, bidirectional=bidir, batch_first=bf, **extra)
    d = 2 if bidir else 1
    L, N = 5, 3
    x = torch.randn(*((N, L, 6) if bf else (L, N, 6))) if batched else torch.randn(L, 6)
    h_out = proj or 8
    h = [d * layers, N, h_out] if batched else [d * layers, h_out]
    c = [d * layers, N, 8] if batched else [d * layers, 8]
    target = c if wrong == "cell" else h
    if wrong == "layers":
        target[0] += 1
    elif wrong == "batch":
        target[1] += 1
    else:
        target[-1] += 1
    hx = (torch.zeros(h), torch.zeros(c)) if kind == "lstm" else torch.zeros(h)
    found, err = _fail(module, x, hx)
    name, want, got = _torch_expected(err)
    if not batched:  # torch reports the unbatched state unsqueezed: (D*num_layers, 1, H)
        want, got = want[:1] + want[2:], got[:1] + got[2:]
    assert found.path == "" and found.exception.endswith(str(err).splitlines()[0])
    assert found.message.startswith(f"the model ({cls.__name__}): {name} is {_fmt(got)}, torch expects {_fmt(want)}")
    dim = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
    assert f"dimension {dim} is" in found.message


def _fmt(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("wrong", ["batch", "width"])
def test_wrong_cell_state_matches_torch(kind, wrong):
    cls = {"rnn": nn.RNNCell, "gru": nn.GRUCell, "lstm": nn.LSTMCell}[kind]
    cell = cls(6, 8)
    shape = [4, 8] if wrong == "batch" else [3, 9]
    h = torch.zeros(shape)
    hx = (h, torch.zeros(3, 8)) if kind == "lstm" else h
    found, err = _fail(cell, torch.randn(3, 6), hx)
    said = str(err)
    if wrong == "batch":
        assert said == "Input batch size 3 doesn't match hidden0 batch size 4"
        assert "h_0 is (4, 8), torch expects (3, 8): dimension 0 is the batch N = 3" in found.message
    else:
        assert said == "hidden0 has inconsistent hidden_size: got 9, expected 8"
        assert "h_0 is (3, 9), torch expects (3, 8): dimension 1 is hidden_size = 8 (got 9)" in found.message


def test_packed_lstm_explains_what_torch_garbles():
    """LSTM runs no Python check for packed input; its C++ message names no shape. rnnshape still does."""
    lstm = nn.LSTM(6, 8)
    packed = pack_padded_sequence(torch.randn(5, 3, 6), [5, 3, 2])
    found, err = _fail(lstm, packed, (torch.zeros(1, 3, 7), torch.zeros(1, 3, 8)))
    assert "Expected hidden" not in str(err)
    assert "h_0 is (1, 3, 7), torch expects (1, 3, 8): dimension 2 is hidden_size = 8 (got 7)" in found.message


def test_packed_gru_batch_from_batch_sizes():
    gru = nn.GRU(6, 8)
    packed = pack_padded_sequence(torch.randn(5, 3, 6), [5, 3, 2])
    found, err = _fail(gru, packed, torch.zeros(1, 2, 8))
    _, want, _ = _torch_expected(err)
    assert f"torch expects {_fmt(want)}: dimension 1 is the batch N = 3, batch_sizes[0]" in found.message


def test_input_width_and_batch_first_state():
    found, err = _fail(nn.GRU(6, 8), torch.randn(5, 3, 7))
    assert "input_size" in str(err) and "last dimension to be input_size = 6 (got 7)" in found.message
    lstm = nn.LSTM(6, 8, num_layers=2, batch_first=True)
    found, _ = _fail(lstm, torch.randn(3, 5, 6), (torch.zeros(3, 2, 8), torch.zeros(3, 2, 8)))
    assert "never batch-first" in found.message and "transpose(0, 1)" in found.hint
    found, _ = _fail(nn.LSTM(6, 8), torch.zeros(5, 3, dtype=torch.long))
    assert "int64" in found.message and "nn.Embedding" in found.hint


def test_time_major_input_into_batch_first_module():
    """torch: 'Expected hidden size (2, 5, 8), got [2, 3, 8]' (it took dim 0, the time, as the batch)."""
    gru = nn.GRU(6, 8, num_layers=2, batch_first=True)
    found, err = _fail(gru, torch.randn(5, 3, 6), torch.zeros(2, 3, 8))
    _, want, _ = _torch_expected(err)
    assert want == (2, 5, 8)
    assert "(batch_first=True)" in found.message and "time-major" in found.hint
