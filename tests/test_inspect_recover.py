"""Recovering configurations from checkpoints: torch-free tables, real torch modules, and a property test.

The witness is torch: each recovered constructor line is executed, and the module it builds must accept
the checkpoint's tensors with load_state_dict(strict=True).
"""

from __future__ import annotations

import pytest
from checkpoint_files import build, save, sub_state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnshape.checkpoint.files import Entry, read_checkpoint
from rnnshape.checkpoint.inspection import find_modules


def _entries(pairs):
    return [Entry(n, s, "float32") for n, s in pairs]


# ---------------------------------------------------------------- torch-free, table-driven

@pytest.mark.parametrize(
    "pairs, constructor",
    [
        ([("weight_ih_l0", (60, 10)), ("weight_hh_l0", (60, 20))], "nn.GRU(input_size=10, hidden_size=20, bias=False)"),
        # 60 rows could be an RNN with H=60, but then weight_hh would be (60, 60): the columns decide
        ([("weight_ih_l0", (60, 10)), ("weight_hh_l0", (60, 60))], "nn.RNN(input_size=10, hidden_size=60, bias=False)"),
        ([("w.weight_ih", (80, 3)), ("w.weight_hh", (80, 20)), ("w.bias_ih", (80,)), ("w.bias_hh", (80,))],
         "nn.LSTMCell(input_size=3, hidden_size=20)"),
        ([("weight_ih_l0", (16, 10)), ("weight_hh_l0", (16, 2)), ("weight_hr_l0", (2, 4))],
         "nn.LSTM(input_size=10, hidden_size=4, bias=False, proj_size=2)"),
    ],
)
def test_kind_follows_from_shapes(pairs, constructor):
    (m,) = find_modules(_entries(pairs))
    assert m.constructor == constructor


def test_rnn_nonlinearity_is_listed_not_guessed():
    (m,) = find_modules(_entries([("r.weight_ih_l0", (7, 3)), ("r.weight_hh_l0", (7, 7))]))
    assert m.recognised and m.spec.kind.value == "rnn"
    assert [c.nonlinearity for c in m.candidates] == ["tanh", "relu"]
    assert any("nonlinearity" in n for n in m.notes)


def test_lstm_and_gru_have_no_candidates():
    (m,) = find_modules(_entries([("weight_ih_l0", (12, 3)), ("weight_hh_l0", (12, 3))]))
    assert m.spec.kind.value == "lstm" and m.candidates == ()


def test_empty_cell_fits_every_kind_and_is_not_guessed():
    (m,) = find_modules(_entries([("c.weight_ih", (0, 5)), ("c.weight_hh", (0, 0))]))
    assert not m.recognised
    assert {c.kind.value for c in m.candidates} == {"rnn", "gru", "lstm"}


@pytest.mark.parametrize(
    "pairs, reason",
    [
        ([("weight_ih_l0", (50, 5)), ("weight_hh_l0", (50, 10))], "5 gate blocks"),
        ([("weight_ih_l0", (45, 5)), ("weight_hh_l0", (45, 10))], "not a multiple"),
        ([("weight_ih_l0", (40, 5))], "no weight_hh_l0"),
        ([("weight_ih_l0", (40, 5)), ("weight_hh_l0", (40, 10)), ("weight_ih_l1", (40, 10))], "weight_hh_l1"),
        ([("weight_ih_l0", (40, 5)), ("weight_hh_l0", (40, 10)), ("bias_ih_l0", (40,))], "bias_hh_l0"),
        ([("weight_ih_l0", (40, 5)), ("weight_hh_l0", (40, 10)), ("weight_ih_l1", (40, 9)),
          ("weight_hh_l1", (40, 10))], "weight_ih_l1 is (40, 9)"),
        ([("weight_ih", (40, 5)), ("weight_hh", (40, 10)), ("weight_ih_l0", (40, 5))], "mixes"),
        # GRU built with a positional proj_size (torch cannot run it)
        ([("weight_ih_l0", (60, 10)), ("weight_hh_l0", (60, 5)), ("weight_hr_l0", (5, 20))], "only LSTM"),
        ([("weight_ih_l0", (40,)), ("weight_hh_l0", (40, 10))], "not a matrix"),
    ],
)
def test_not_recognised_says_why(pairs, reason):
    (m,) = find_modules(_entries(pairs))
    assert not m.recognised and m.constructor is None
    assert reason in m.reason


def test_other_parameters_are_ignored():
    pairs = [("emb.weight", (10, 4)), ("head.weight", (3, 8)), ("head.bias", (3,)), ("rnn.weight_ih_l0", (8, 4)),
             ("rnn.weight_hh_l0", (8, 8))]
    assert [m.prefix for m in find_modules(_entries(pairs))] == ["rnn"]


# ---------------------------------------------------------------- real torch modules, saved to files

def _model():
    from torch import nn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(50, 12)
            self.encoder = nn.LSTM(input_size=12, hidden_size=9, num_layers=3, bidirectional=True, proj_size=4)
            self.context = nn.GRU(input_size=8, hidden_size=6, num_layers=2, bias=False)
            self.decoder = nn.ModuleList([nn.LSTMCell(input_size=6, hidden_size=5),
                                          nn.RNNCell(input_size=5, hidden_size=3, bias=False)])
            self.skip = nn.RNN(input_size=12, hidden_size=7, nonlinearity="relu", bidirectional=True)
            self.head = nn.Linear(3, 2)

    return Tagger()


@pytest.mark.parametrize("how", ["plain", "state_dict", "model", "model_state_dict", "nested", "legacy", "safetensors"])
def test_every_module_of_a_saved_model_is_recovered_and_loads_strictly(tmp_path, how):
    from torch import nn

    model = _model()
    state = model.state_dict()
    path = tmp_path / ("m.safetensors" if how == "safetensors" else "m.pt")
    save(path, state, how)
    found = find_modules(read_checkpoint(path).entries)
    assert [m.prefix for m in found] == ["encoder", "context", "decoder.0", "decoder.1", "skip"]
    for m in found:
        assert m.recognised, m.reason
        rebuilt = eval(m.constructor, {"nn": nn})  # the line we print must build the module
        rebuilt.load_state_dict(sub_state(state, m.prefix), strict=True)
        assert type(rebuilt) is type(model.get_submodule(m.prefix))


def test_dtype_of_the_checkpoint_is_kept(tmp_path):
    import torch

    state = build({"kind": "gru", "input_size": 4, "hidden_size": 3}).to(torch.bfloat16).state_dict()
    for how in ("plain", "safetensors"):
        path = tmp_path / f"m.{how}"
        save(path, state, how)
        (m,) = find_modules(read_checkpoint(path).entries)
        assert m.spec.dtype.value == "bfloat16"


# ---------------------------------------------------------------- property: recover(save(module)) == configuration

@st.composite
def configs(draw) -> dict:
    kind = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    cell = draw(st.booleans())
    cfg = {"kind": kind, "cell": cell, "input_size": draw(st.integers(1, 12)),
           "hidden_size": draw(st.integers(1, 12)), "bias": draw(st.booleans())}
    if not cell:
        cfg["num_layers"] = draw(st.integers(1, 3))
        cfg["bidirectional"] = draw(st.booleans())
        if kind == "lstm" and cfg["hidden_size"] > 1 and draw(st.booleans()):
            cfg["proj_size"] = draw(st.integers(1, cfg["hidden_size"] - 1))
    return cfg


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs(), prefix=st.sampled_from(["", "rnn", "model.encoder.0"]))
def test_recover_of_a_saved_module_is_its_configuration(cfg, prefix):
    state = build(cfg).state_dict()
    entries = [Entry(f"{prefix}.{k}" if prefix else k, tuple(v.shape), "float32") for k, v in state.items()]
    (m,) = find_modules(entries)
    assert m.recognised, m.reason
    got = m.module
    assert (got.kind.value, got.cell, got.input_size, got.hidden_size, got.bias, m.prefix) == (
        cfg["kind"], cfg["cell"], cfg["input_size"], cfg["hidden_size"], cfg["bias"], prefix)
    if not cfg["cell"]:
        assert (got.num_layers, got.bidirectional, got.proj_size) == (
            cfg["num_layers"], cfg["bidirectional"], cfg.get("proj_size", 0))


def test_candidates_show_what_the_file_does_store():
    """A file that stores batch_first but not an RNN's nonlinearity: both candidates carry batch_first=True."""
    from torch import nn

    from rnnshape.checkpoint.inspection import _with_attributes

    (m,) = find_modules([(k, tuple(v.shape)) for k, v in nn.RNN(4, 3).state_dict().items()])
    m = _with_attributes(m, (("batch_first", True),))
    assert [c.constructor for c in m.candidates] == [
        "nn.RNN(input_size=4, hidden_size=3, batch_first=True)",
        "nn.RNN(input_size=4, hidden_size=3, nonlinearity='relu', batch_first=True)"]
    for c in m.candidates:  # each is a module torch builds, with these weights
        eval(c.constructor, {"nn": nn}).load_state_dict(nn.RNN(4, 3).state_dict(), strict=True)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_a_stored_batch_first_moves_the_batch_dimension_in_the_tensors(tmp_path, kind):
    """A whole pickled module records batch_first=True: the tables inspect prints read the prediction, which must
    be of that configuration (it was of the bare state_dict's, time-major), held to torch's own forward."""
    import torch

    import rnnshape

    module = getattr(torch.nn, kind)(7, 5, num_layers=2, batch_first=True)
    path = tmp_path / "whole.pt"
    torch.save(module, path)
    (found,) = rnnshape.inspect(path).modules
    inputs = {t.name: t.shape for t in found.prediction.inputs}
    outputs = {t.name: t.shape for t in found.prediction.outputs}
    with torch.no_grad():
        out = module(torch.zeros(inputs["input"]))
    assert outputs["output"] == tuple(out[0].shape)
    assert outputs["h_n"] == tuple((out[1][0] if kind == "LSTM" else out[1]).shape)
