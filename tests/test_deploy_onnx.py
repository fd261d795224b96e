"""The torch -> ONNX gate mapping, verified by loading torch's weights into an ONNX node by that mapping.

Each test builds its torch module here, writes an ONNX graph by hand with onnx.helper (no torch.onnx),
and compares ONNX Runtime's outputs with torch's. A control with the rows left in torch's order must fail.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rnnshape.model.deploy import ONNX_OP, gate_blocks, onnx_row_order
from rnnshape.model.enums import Kind

onnx = pytest.importorskip("onnx", reason="needs the deploy extra: pip install 'rnnshape[deploy]'")
ort = pytest.importorskip("onnxruntime", reason="needs the deploy extra: pip install 'rnnshape[deploy]'")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

L, N, H_IN, H = 7, 3, 5, 4


def _onnx_model(kind: Kind, module, order: list[int]):
    """One ONNX LSTM/GRU/RNN node whose W, R, B are torch's parameters with rows taken in ``order``."""
    sfxs = ["_l0"] + (["_l0_reverse"] if module.bidirectional else [])
    p = {k: v.detach().numpy() for k, v in module.named_parameters()}
    w = np.stack([p["weight_ih" + s][order] for s in sfxs])
    r = np.stack([p["weight_hh" + s][order] for s in sfxs])
    b = np.stack([np.concatenate([p["bias_ih" + s][order], p["bias_hh" + s][order]]) for s in sfxs])
    inits = [numpy_helper.from_array(a, name) for a, name in ((w, "W"), (r, "R"), (b, "B"))]
    attrs = {"hidden_size": H, "direction": "bidirectional" if module.bidirectional else "forward"}
    if kind is Kind.GRU:
        attrs["linear_before_reset"] = 1  # torch's n gate: r * (W_hn h + b_hn)
    outputs = ["Y", "Y_h"] + (["Y_c"] if kind is Kind.LSTM else [])
    node = helper.make_node(ONNX_OP[kind], ["X", "W", "R", "B"], outputs, **attrs)
    d = len(sfxs)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [L, N, H_IN])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [L, d, N, H]),
         *[helper.make_tensor_value_info(o, TensorProto.FLOAT, [d, N, H]) for o in outputs[1:]]],
        initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])


def _run_both(kind: Kind, bidirectional: bool, order_of=onnx_row_order):
    torch.manual_seed(1)
    module = getattr(nn, kind.torch_name)(H_IN, H, bidirectional=bidirectional).eval()
    x = torch.randn(L, N, H_IN)
    with torch.no_grad():
        out, state = module(x)
    states = state if isinstance(state, tuple) else (state,)
    model = _onnx_model(kind, module, order_of(kind, H))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y, *y_states = session.run(None, {"X": x.numpy()})
    # ONNX's Y is (L, D, N, H); torch's output is (L, N, D*H) with directions side by side
    y = np.transpose(y, (0, 2, 1, 3)).reshape(L, N, -1)
    return [(out.numpy(), y)] + [(s.numpy(), ys) for s, ys in zip(states, y_states)]


@pytest.mark.parametrize("kind", [Kind.LSTM, Kind.GRU, Kind.RNN])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_torch_weights_moved_by_the_mapping_give_torchs_outputs(kind, bidirectional):
    for torch_value, onnx_value in _run_both(kind, bidirectional):
        assert torch_value.shape == onnx_value.shape
        assert np.abs(torch_value - onnx_value).max() < 1e-5


@pytest.mark.parametrize("kind", [Kind.LSTM, Kind.GRU])
def test_torchs_own_row_order_does_not_fit_onnx(kind):
    """The control: rows left in torch's order (i f g o; r z n) give different outputs."""
    identity = lambda kind, hidden: list(range(kind.gates * hidden))  # noqa: E731
    worst = max(np.abs(t - o).max() for t, o in _run_both(kind, False, identity))
    assert worst > 1e-2


@pytest.mark.parametrize("kind, pairs", [
    (Kind.LSTM, [("i", "i"), ("o", "o"), ("f", "f"), ("c", "g")]),
    (Kind.GRU, [("z", "z"), ("r", "r"), ("h", "n")]),
    (Kind.RNN, [("i", "h")]),
])
def test_gate_blocks_name_each_onnx_block_and_its_torch_rows(kind, pairs):
    blocks = gate_blocks(kind, 10)
    assert [(b.onnx_gate, b.torch_gate) for b in blocks] == pairs
    order = onnx_row_order(kind, 10)
    for b in blocks:
        assert order[b.onnx_rows[0]:b.onnx_rows[1]] == list(range(*b.torch_rows))
