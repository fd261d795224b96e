"""The --deploy views from a hand-built Deployment: no torch, no clock."""

from __future__ import annotations

from rich.console import Console

from rnnshape.model.deploy import Deployment, OnnxLayer, OnnxRecurrent, OnnxView, VariantResult
from rnnshape.model.enums import Kind
from rnnshape.model.stats import Stats
from rnnshape.render.deploy import deploy_keys, deploy_view


def _deployment() -> Deployment:
    s = lambda median: Stats(samples=(median * 0.99, median, median * 1.01), calls_per_run=10, threads=1)  # noqa: E731
    layer = OnnxLayer("node_LSTM_0", (2, 32, 5), (2, 32, 8), (2, 64), inputs=("w", "r", "b"),
                      attributes=(("hidden_size", 8), ("direction", "bidirectional")))
    group = OnnxRecurrent(prefix="", op="LSTM", kind=Kind.LSTM, hidden_size=8, input_size=5, direction="bidirectional",
                          layers=(layer,))
    return Deployment(rows=(
        VariantResult("eager", True, diffs=(("output", 0.0), ("h_n", 0.0)), bytes=1000, forward=s(2e-4)),
        VariantResult("int8-dynamic", True, diffs=(("output", 0.02), ("h_n", 0.03)), bytes=260, forward=s(1e-4)),
        VariantResult("bfloat16", True, diffs=(("output", 0.2),), bytes=500, forward=s(4e-4)),
        VariantResult("onnxruntime", False, error="needs onnx: pip install 'rnnshape[deploy]'"),
    ), onnx=OnnxView(opset=18, groups=(group,), ops=(("LSTM", 1),), matches=(True,)))


def _text(renderable) -> str:
    console = Console(width=80, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_the_json_rows_carry_raw_numbers_and_ratios():
    doc = deploy_keys(_deployment())
    eager, int8, bf16, ort = doc["deploy"]
    assert int8["max_abs_diff"] == 0.03 and int8["bytes_ratio"] == 0.26 and int8["ratio"] == 0.5
    assert int8["within_tolerance"] is True and bf16["within_tolerance"] is False  # 0.2 > bfloat16's 5e-2
    assert eager["ratio"] == 1 and eager["forward"]["median_s"] == 2e-4 and eager["eager_median_s"] is None
    assert ort == {**ort, "ok": False, "max_abs_diff": None, "bytes": None, "forward": None, "ratio": None}
    node = doc["onnx"]["nodes"][0]
    assert node["inputs"][0]["shape"] == [2, 32, 5] and node["matches_torch"] is True
    assert node["gates"][3] == {"onnx_gate": "c", "onnx_rows": [24, 32], "torch_gate": "g", "torch_rows": [16, 24]}
    assert deploy_keys(None) == {}


def test_the_text_has_every_row_its_reason_and_the_gate_rows():
    text = _text(deploy_view(_deployment()))
    lines = [line.split() for line in text.splitlines()]
    assert ["int8-dynamic", "3.0e-02", "260", "B", "0.26", "100", "µs", "±", "1.00", "·", "3", "runs", "0.50"] in lines
    assert ["onnxruntime", "not", "here"] in lines
    assert "onnxruntime: needs onnx: pip install 'rnnshape[deploy]'" in text
    assert "W (2, 32, 5)       [0] weight_ih_l0" in text
    assert "[1] bias_ih_l0_reverse ‖ bias_hh_l0_reverse" in text
    assert ["c", "24:32", "←", "g", "16:24"] in lines
    assert max(len(line) for line in text.splitlines()) <= 80


def test_the_predicted_onnx_view_shows_shapes_and_gate_rows_without_torch():
    """issue 24: the ONNX node shapes and gate map from the spec alone (no torch, no onnx imported here)."""

    from rnnshape.model.deploy import predicted_view
    from rnnshape.model.spec import make_spec
    from rnnshape.render.deploy import onnx_view, view_dict

    view = predicted_view(make_spec("gru", input_size=5, hidden_size=8, num_layers=2, bidirectional=True).modules())
    doc = view_dict(view)
    assert [[i["shape"] for i in n["inputs"]] for n in doc["nodes"]] == [
        [[2, 24, 5], [2, 24, 8], [2, 48]], [[2, 24, 16], [2, 24, 8], [2, 48]]]
    assert all(n["matches_torch"] is None for n in doc["nodes"])
    assert doc["nodes"][1]["inputs"][0]["sources"] == [["weight_ih_l1"], ["weight_ih_l1_reverse"]]
    text = _text(onnx_view(view))
    assert "predicted without torch" in text and "✓" not in text
    assert ["z", "0:8", "←", "z", "8:16"] in [line.split() for line in text.splitlines()]
