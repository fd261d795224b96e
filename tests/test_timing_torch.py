"""The statements rnnshape times, checked against torch modules built here: the cell loop reproduces the
fused module, the padded run is the padded tensor, a training step does not accumulate gradients."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from rnnshape.model.spec import make_spec  # noqa: E402
from rnnshape.run.loop import loop_forward  # noqa: E402
from rnnshape.run.measure import padded_forward, train_step  # noqa: E402

LOOP_CASES = [
    dict(kind="lstm", num_layers=4, bidirectional=True),
    dict(kind="lstm", num_layers=2, bidirectional=True, proj_size=5, init_state="random"),
    dict(kind="lstm", proj_size=3, batch_first=True, bias=False),
    dict(kind="gru", num_layers=3, batch_first=True, bidirectional=True, init_state="random"),
    dict(kind="rnn", nonlinearity="relu", num_layers=2, unbatched=True, bias=False),
    dict(kind="rnn", nonlinearity="tanh", bidirectional=True, unbatched=True, init_state="random"),
    dict(kind="lstm", hidden_size=(7, 5), bidirectional=True, init_state="zeros"),
]


def built_here(spec):
    """The configuration built in the test, straight from torch.nn (float64), with its inputs."""
    torch.manual_seed(1)
    mods = []
    width = spec.input_size
    for m in spec.modules():
        cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[spec.kind.value]
        kw = dict(input_size=width, hidden_size=m.hidden_size, num_layers=m.num_layers, bias=m.bias,
                  batch_first=m.batch_first, bidirectional=m.bidirectional, dtype=torch.float64)
        if spec.kind.value == "lstm":
            kw["proj_size"] = m.proj_size
        if spec.kind.value == "rnn":
            kw["nonlinearity"] = m.nonlinearity
        mods.append(cls(**kw).eval())
        width = m.output_size
    L, N = spec.seq_len, spec.batch
    shape = (L, spec.input_size) if spec.unbatched else ((N, L, spec.input_size) if spec.batch_first
                                                          else (L, N, spec.input_size))
    inputs = {"input": torch.randn(shape, dtype=torch.float64)}
    if spec.init_state.value != "none":
        for i, m in enumerate(mods):
            sfx = f".{i}" if len(mods) > 1 else ""
            lead = (m.num_layers * (2 if m.bidirectional else 1),) + (() if spec.unbatched else (N,))
            inputs["h_0" + sfx] = torch.randn(*lead, m.proj_size or m.hidden_size, dtype=torch.float64)
            if spec.kind.value == "lstm":
                inputs["c_0" + sfx] = torch.randn(*lead, m.hidden_size, dtype=torch.float64)
    return mods, inputs


def fused(spec, mods, inputs):
    out, result = inputs["input"], {}
    for i, mod in enumerate(mods):
        sfx = f".{i}" if len(mods) > 1 else ""
        h0 = inputs.get("h_0" + sfx)
        state = (h0, inputs["c_0" + sfx]) if spec.kind.value == "lstm" and h0 is not None else h0
        out, hn = mod(out, state)
        if spec.kind.value == "lstm":
            result["h_n" + sfx], result["c_n" + sfx] = hn
        else:
            result["h_n" + sfx] = hn
    return {"output": out, **result}


@pytest.mark.parametrize("kw", LOOP_CASES, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_cell_loop_reproduces_the_fused_module_in_float64(kw):
    kw = dict(kw)
    batch = None if kw.get("unbatched") else 2
    spec = make_spec(seq_len=5, batch=batch, input_size=6, hidden_size=kw.pop("hidden_size", 6), **kw)
    mods, inputs = built_here(spec)
    module = mods[0] if len(mods) == 1 else nn.ModuleList(mods)
    built = SimpleNamespace(module=module, inputs=inputs)
    with torch.no_grad():
        want = fused(spec, mods, inputs)
        got = loop_forward(spec, built)()
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name].shape == want[name].shape, name
        torch.testing.assert_close(got[name], want[name], rtol=0, atol=1e-12, msg=name)


def test_cell_loop_calls_one_cell_per_step_layer_and_direction():
    spec = make_spec("gru", seq_len=5, batch=2, input_size=6, hidden_size=4, num_layers=2, bidirectional=True)
    mods, inputs = built_here(spec)
    calls = []
    handle = nn.modules.module.register_module_forward_hook(lambda m, a, o: calls.append(type(m).__name__))
    try:
        with torch.no_grad():
            loop_forward(spec, SimpleNamespace(module=mods[0], inputs=inputs))()
    finally:
        handle.remove()
    assert calls == ["GRUCell"] * (5 * 2 * 2)


def test_padded_run_is_the_module_on_the_padded_tensor():
    from rnnshape.run import build as run

    spec = make_spec("gru", lengths=(5, 3, 2), dtype="float64")
    built = run.build(spec)
    x = built.inputs["input"]
    with torch.no_grad():
        got = padded_forward(spec, built)()
        want, _ = built.module(x)
        packed = built.forward()["output"]
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert got.shape == (spec.seq_len, 3, 20)
    # forward direction: the real steps agree with the packed run; the padding steps are extra work
    for b, n in enumerate(spec.lengths):
        torch.testing.assert_close(got[:n, b], packed[:n, b], rtol=0, atol=1e-12)


def test_train_step_sets_gradients_afresh_each_call():
    from rnnshape.run import build as run

    spec = make_spec("lstm", num_layers=2, dtype="float64")
    built = run.build(spec)
    step = train_step(built)
    step()
    first = [p.grad.clone() for p in built.module.parameters()]
    step()
    for p, g in zip(built.module.parameters(), first):
        torch.testing.assert_close(p.grad, g)  # not 2 × g: set to None before each call

    # and the gradient is the one of output.sum(), computed here independently
    built.module.zero_grad(set_to_none=True)
    out, _ = built.module(built.inputs["input"])
    out.sum().backward()
    for p, g in zip(built.module.parameters(), first):
        torch.testing.assert_close(p.grad, g)


def test_kernel_path_and_what_flop_counter_mode_reads():
    from rnnshape.run import build as run
    from rnnshape.run.build import observe_kernel

    spec = make_spec("gru", seq_len=6, batch=4, input_size=16, hidden_size=12, num_layers=3, bidirectional=True)
    built = run.build(spec)
    k = observe_kernel(built.forward)
    assert k.path == "aten" and dict(k.ops).get("aten.addmm", 0) > 0
    weights = sum(p.numel() for n, p in built.module.named_parameters() if n.startswith("weight"))
    assert k.flop_counter_flops == 2 * 6 * 4 * weights  # every matmul visible

    spec = make_spec("lstm", num_layers=4, bidirectional=True)
    k = observe_kernel(run.build(spec).forward)
    if torch.backends.mkldnn.is_available():
        assert k.path == "onednn" and dict(k.ops)["aten.mkldnn_rnn_layer"] == 8
        assert k.flop_counter_flops == 0  # the fused op has no FLOP formula


@pytest.mark.parametrize("kw", [dict(kind="rnn"), dict(kind="gru", num_layers=2), dict(kind="lstm"),
                                dict(kind="lstm", num_layers=2, bidirectional=True, batch_first=True),
                                dict(kind="lstm", proj_size=5), dict(kind="lstm", lengths=[10, 4, 7]),
                                dict(kind="gru", lengths=[3, 10], bidirectional=True),
                                dict(kind="lstm", cell=True), dict(kind="lstm", hidden_size=[30, 20], dtype="float64")])
def test_compare_kernel_path_is_the_dispatch_modes(kw):
    """compare's kernel column reads the autograd graph of one forward; the dispatch mode (--vs-loop) sees the
    ops themselves: the two say the same path."""
    from rnnshape.run import build as run
    from rnnshape.run.build import graph_path, observe_kernel

    kw = dict(kw)
    built = run.build(make_spec(kw.pop("kind"), **kw))
    assert graph_path(built.forward) == observe_kernel(built.forward).path


def test_the_fused_nodes_compare_looks_for_are_torchs():
    """cuDNN and MIOpen cannot run here: at least their autograd nodes are the names torch generates."""
    from rnnshape.model.report import FUSED_OPS as FUSED
    from rnnshape.run.build import FUSED_NODES

    assert set(FUSED_NODES) <= set(dir(torch._C._functions))
    assert set(FUSED_NODES.values()) == set(FUSED.values())


def test_memory_estimate_parts_against_torch_tensors():
    from rnnshape.model.memory import estimate, estimate_bytes, with_margin
    from rnnshape.model.predict import predict
    from rnnshape.run import build as run

    spec = make_spec("lstm", num_layers=2, bidirectional=True, init_state="random")
    prediction = predict(spec)
    built = run.build(spec)
    param_bytes = sum(p.numel() * p.element_size() for p in built.module.parameters())
    input_bytes = sum(t.numel() * t.element_size() for t in built.inputs.values())  # input, h_0, c_0
    fwd, total = estimate(prediction, backward=False)
    assert total == estimate_bytes(prediction) == with_margin(sum(b for _, b in fwd))
    assert dict(fwd)["parameters"] == param_bytes and dict(fwd)["inputs"] == input_bytes
    bwd, total_bwd = estimate(prediction, backward=True)
    assert dict(bwd)["kept for backward"] > 0 and total_bwd > total


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.cuda
@cuda
def test_cuda_runs_cudnn_and_measures_a_peak_near_the_estimate():
    from rnnshape import analyze

    report = analyze("lstm", num_layers=4, bidirectional=True, device="auto", min_time=0.02, backward=True,
                     vs_loop=True)
    assert report.spec.device == "cuda"
    t = report.timing
    assert t.kernel.path == "cudnn" and t.kernel.flop_counter_flops == 0
    assert t.memory.peak_bytes is not None and t.memory.peak_of == "forward+backward"
    assert 0.1 < t.memory.peak_bytes / t.memory.estimate_bytes < 10
    assert t.backward.median > 0 and t.loop.median > 0


@pytest.mark.cuda
@cuda
def test_cuda_loop_reproduces_cudnn_in_float64():
    from rnnshape.run import build as run

    spec = make_spec("lstm", num_layers=2, bidirectional=True, proj_size=5, dtype="float64", device="cuda")
    built = run.build(spec)
    with torch.no_grad():
        want, got = built.forward(), loop_forward(spec, built)()
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=0, atol=1e-10)


def test_the_extra_calls_run_on_the_timed_thread_count(monkeypatch):
    """The memory peak and the kernel path are taken on the count the forward was timed on, not torch's
    default (which can stall a long forward tenfold on busy cores), and torch's count is restored after."""
    import torch

    from rnnshape.model.predict import predict
    from rnnshape.run import measure
    from rnnshape.run.build import build

    seen = []
    monkeypatch.setattr(measure, "_memory", lambda *a, **k: seen.append(("memory", torch.get_num_threads())))
    monkeypatch.setattr("rnnshape.run.build.observe_kernel",
                        lambda fn: seen.append(("kernel", torch.get_num_threads())))
    before = torch.get_num_threads()
    spec = make_spec("gru", hidden_size=8)
    asked = 1 if before > 1 else 2
    opts = measure.TimingOptions(min_time=0.001, threads=asked, vs_loop=True)
    (timing, _), = measure.time_reports([(spec, predict(spec), build(spec))], opts)
    assert timing.threads.threads == asked
    assert seen == [("memory", asked), ("kernel", asked)]
    assert torch.get_num_threads() == before
