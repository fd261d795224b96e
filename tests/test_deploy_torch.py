"""--deploy against torch: each variant within its documented tolerance of eager float32, its difference
the one this test gets by converting its own module, its bytes what torch.save writes, and the rows that
cannot run here saying why. The modules and inputs are built here, not by rnnshape.run.build."""

from __future__ import annotations

import copy
import io
import sys
import warnings

import pytest
import torch
from torch import nn

from rnnshape.checkpoint.onnxfile import read_states
from rnnshape.model.deploy import TOLERANCE, OnnxView
from rnnshape.model.spec import make_spec
from rnnshape.run.build import Built
from rnnshape.run.deploy import deploy

FAST = ("bfloat16", "float16", "int8-dynamic", "onnxruntime")  # torch.compile has its own, slow, test
NAMES = {"lstm": ("output", "h_n", "c_n"), "gru": ("output", "h_n"), "rnn": ("output", "h_n")}


def _built(kind: str, **kw):
    """The spec and a Built made here: the test's own nn module, input and forward."""
    spec = make_spec(kind, input_size=16, hidden_size=32, **kw)
    torch.manual_seed(3)
    module = getattr(nn, kind.upper())(16, 32, num_layers=spec.num_layers,
                                       bidirectional=spec.bidirectional).eval()
    x = torch.randn(spec.seq_len, spec.batch, 16)

    def forward(m=module, x=x) -> dict:
        out, state = m(x)
        return dict(zip(NAMES[kind], (out, *(state if isinstance(state, tuple) else (state,)))))

    return spec, Built(module=module, forward=forward, inputs={"input": x}), module, x


def _max_diff(kind: str, a, b) -> float:
    flat = lambda r: [r[0], *(r[1] if isinstance(r[1], tuple) else (r[1],))]  # noqa: E731
    return max(float((p.float() - q.float()).abs().max()) for p, q in zip(flat(a), flat(b)))


@pytest.mark.parametrize("kind, kw", [("lstm", dict(num_layers=2)), ("gru", dict(bidirectional=True)),
                                      ("lstm", dict(bidirectional=True))])
def test_each_variant_is_within_its_tolerance_and_its_difference_is_real(kind, kw):
    spec, built, module, x = _built(kind, **kw)
    d = deploy(spec, built, timed=False, variants=FAST)
    rows = {r.variant: r for r in d.rows}
    assert [r.variant for r in d.rows] == ["eager", *FAST]
    assert all(r.ok for r in d.rows), [r.error for r in d.rows]
    with torch.no_grad():
        eager = module(x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            int8 = torch.ao.quantization.quantize_dynamic(nn.ModuleList([module]), dtype=torch.qint8)[0]
        own = {"int8-dynamic": _max_diff(kind, int8(x), eager)}
        for name in ("bfloat16", "float16"):
            dtype = getattr(torch, name)
            own[name] = _max_diff(kind, copy.deepcopy(module).to(dtype)(x.to(dtype)), eager)
    assert rows["eager"].max_abs_diff == 0
    for name, row in rows.items():
        assert row.max_abs_diff <= TOLERANCE[name], name
        assert dict(row.diffs).keys() == set(NAMES[kind])
    for name, diff in own.items():  # lossy: a real difference, the one converting the module gives
        assert rows[name].max_abs_diff > 0
        assert rows[name].max_abs_diff == pytest.approx(diff, rel=1e-6, abs=1e-7), name
    assert 0 < rows["onnxruntime"].max_abs_diff <= 1e-4


def test_sizes_are_what_torch_save_writes_and_int8_is_at_most_four_tenths():
    spec, built, module, _ = _built("lstm", num_layers=2)
    d = deploy(spec, built, timed=False, variants=("int8-dynamic",))
    eager, int8 = d.rows
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    assert eager.bytes == len(buffer.getvalue())
    assert eager.bytes >= 4 * sum(p.numel() for p in module.parameters())
    assert int8.bytes <= 0.4 * eager.bytes
    assert d.bytes_ratio(int8) == int8.bytes / eager.bytes


def test_exported_nodes_hold_torchs_weights_by_the_mapping():
    pytest.importorskip("onnxruntime", reason="needs the deploy extra: pip install 'rnnshape[deploy]'")
    spec, built, _, _ = _built("gru", num_layers=2, bidirectional=True)
    view = deploy(spec, built, timed=False, variants=("onnxruntime",), onnx_reader=read_states).onnx
    (group,) = view.groups
    assert group.op == "GRU" and len(group.layers) == 2 and group.prefix == ""
    assert view.matches == (True,)  # the arrays read back are the module's state_dict, exactly
    for layer, node in enumerate(group.layers):
        width = 16 if layer == 0 else 2 * 32
        assert (node.W, node.R, node.B) == ((2, 3 * 32, width), (2, 3 * 32, 32), (2, 6 * 32))
        assert dict(node.attributes)["linear_before_reset"] == 1
    sources = [m.torch for m in group.mapping() if m.tensor == "W"]
    assert sources == ["weight_ih_l0", "weight_ih_l0_reverse", "weight_ih_l1", "weight_ih_l1_reverse"]


@pytest.mark.parametrize("kind, kw, variant, words", [
    ("rnn", {}, "int8-dynamic", "no int8 nn.RNN"),
    ("lstm", dict(proj_size=8), "int8-dynamic", "no projection"),
    ("lstm", dict(proj_size=8), "onnxruntime", "no projection"),
    ("lstm", dict(lengths=(10, 4, 2)), "onnxruntime", "PackedSequence"),
    ("gru", dict(bias=False), "int8-dynamic", "bias=True"),
    ("lstm", dict(unbatched=True, batch=None), "int8-dynamic", "batched input only"),
])
def test_a_variant_that_cannot_run_says_why_in_one_sentence(kind, kw, variant, words):
    from rnnshape.run.build import build

    spec = make_spec(kind, input_size=8, hidden_size=16, **kw)
    row = {r.variant: r for r in deploy(spec, build(spec), timed=False, variants=(variant,)).rows}[variant]
    assert not row.ok and row.max_abs_diff is None and row.bytes is None
    assert words in row.error and "\n" not in row.error and "Traceback" not in row.error


def test_without_the_extra_the_onnx_row_says_how_to_get_it(monkeypatch):
    spec, built, _, _ = _built("lstm")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime raises ImportError
    row = deploy(spec, built, timed=False, variants=("onnxruntime",)).rows[1]
    assert not row.ok
    assert "pip install 'rnnshape[deploy]'" in row.error


def test_a_compile_failure_is_a_reason_not_a_traceback(monkeypatch):
    spec, built, _, _ = _built("gru")

    def broken(fn, **_):
        def call(*a, **k):
            raise RuntimeError("InvalidCxxCompiler: No working C++ compiler found in torch._inductor.config.cpp.cxx")
        return call

    monkeypatch.setattr(torch, "compile", broken)
    row = deploy(spec, built, timed=False, variants=("torch.compile",)).rows[1]
    assert not row.ok and row.error == "torch.compile found no working C++ compiler (install gcc or clang)"


def test_each_variant_is_timed_in_rounds_alternating_with_eager_on_the_same_threads():
    spec, built, _, _ = _built("lstm")
    d = deploy(spec, built, threads=1, min_time=0.01, variants=("int8-dynamic", "bfloat16"))
    eager, int8, bf16 = d.rows
    for row in (int8, bf16):  # sample i of both is round i
        assert row.forward.threads == row.baseline.threads == 1 and row.forward.runs == row.baseline.runs >= 3
        assert d.ratio(row) == row.forward.median / row.baseline.median
    assert sorted(eager.forward.samples) == sorted(int8.baseline.samples + bf16.baseline.samples)
    assert eager.baseline is None and d.ratio(eager) == 1


@pytest.mark.slow
def test_torch_compile_matches_eager_within_its_tolerance():
    spec, built, _, _ = _built("lstm", num_layers=2)
    row = deploy(spec, built, timed=False, variants=("torch.compile",)).rows[1]
    assert row.ok, row.error
    assert row.max_abs_diff <= TOLERANCE["torch.compile"]


@pytest.mark.parametrize("kind, kw", [
    ("lstm", dict(num_layers=2, bidirectional=True)),
    ("gru", dict(num_layers=3)),
    ("gru", dict(bidirectional=True)),
    ("rnn", dict(num_layers=2)),
])
def test_the_torch_free_onnx_view_is_what_the_exporter_writes(kind, kw, tmp_path):
    """issue 24: W, R, B shapes, direction, activations and linear_before_reset predicted without torch, held
    to torch.onnx's export read back."""
    pytest.importorskip("onnxruntime", reason="needs the deploy extra: pip install 'rnnshape[deploy]'")
    from rnnshape.model.deploy import predicted_view

    spec, built, module, x = _built(kind, **kw)
    if kind == "rnn":  # the dynamo exporter unrolls nn.RNN into MatMul per step; the TorchScript one writes RNN
        import warnings

        from rnnshape.checkpoint.onnxfile import read_onnx

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (x,), str(tmp_path / "rnn.onnx"), dynamo=False)
        view = OnnxView(18, read_onnx(str(tmp_path / "rnn.onnx")).onnx, ())
    else:
        view = deploy(spec, built, timed=False, variants=("onnxruntime",), onnx_reader=read_states).onnx
        assert view.matches and all(view.matches)
    predicted = predicted_view(spec.modules())

    def shapes(v):
        return [(g.prefix, g.op, g.direction, g.activations, g.linear_before_reset,
                 [(x.W, x.R, x.B) for x in g.layers]) for g in v.groups]

    assert shapes(predicted) == shapes(view)


def test_the_onnx_row_counts_the_weights_not_the_exporters_metadata():
    """issue 24: the row's bytes are the stored tensors: torch's float32 parameters, reordered, nothing else."""
    pytest.importorskip("onnxruntime", reason="needs the deploy extra: pip install 'rnnshape[deploy]'")
    spec, built, _, _ = _built("lstm", num_layers=2)
    row = deploy(spec, built, timed=False, variants=("onnxruntime",)).rows[1]
    params = sum(p.numel() for p in built.module.parameters())
    assert row.ok and 4 * params <= row.bytes <= 4 * params + 1024  # a few shape constants besides
