"""--deploy: the configuration in each deployed form, held to eager float32 on the same input, and timed.

Variants: eager (the baseline), bfloat16, float16, int8-dynamic (torch.ao.quantization.quantize_dynamic),
torch.compile, onnxruntime (exported with torch.onnx, run with ONNX Runtime, its weights read back by
rnnshape's ONNX reader, the one ``rnnshape inspect`` uses). A variant that cannot run here becomes a row with a
one-sentence reason, never a traceback. Timing goes through the engine (rnnshape.run.measure.time_statements):
each variant in rounds alternating with eager alone, so a busy spell falls on both alike and a slow variant
(float16 on a CPU) does not slow the others.
torch, onnx and onnxruntime are imported inside functions only: they are optional (the `deploy` extra) and slow.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import warnings as pywarnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rnnshape.errors import one_line
from rnnshape.model.deploy import EXTRA_HINT, ONNX_OP, VARIANTS, Deployment, OnnxView, VariantResult
from rnnshape.model.enums import Kind
from rnnshape.model.spec import Spec
from rnnshape.model.stats import Stats
from rnnshape.run.measure import DEFAULT_MIN_TIME, no_grad, time_statements


@dataclass(frozen=True)
class _Candidate:
    call: Callable[[], dict]  # {output name: tensor}, for the comparison
    timed: Callable[[], object]  # the statement timed (ORT: the session call alone)
    bytes: int | None
    note: str | None = None


def deploy(spec: Spec, built, *, threads: int | None = None, min_time: float = DEFAULT_MIN_TIME,
           clock: Callable[[], float] | None = None, timed: bool = True,
           variants: Sequence[str] = VARIANTS, onnx_reader: Callable | None = None) -> Deployment:
    """Each of ``variants`` of ``built`` (a float32 rnnshape.run.build.Built: a module, a forward returning
    {name: tensor}, its inputs), compared with eager on the same input and timed against it. Eager is
    always the first row.

    ``onnx_reader`` (rnnshape.checkpoint.onnxfile.read_states, passed in by the API: the run layer does not
    import the checkpoint readers) reads the exported graph back for the ONNX view; without it there is none.
    """
    import torch

    threads = threads or torch.get_num_threads()
    with torch.no_grad():
        reference = {k: v.detach().float().cpu().clone() for k, v in built.forward().items()}
    makers = [(name, make) for name, make in (
        ("eager", _eager), ("bfloat16", _dtype("bfloat16")), ("float16", _dtype("float16")),
        ("int8-dynamic", _int8), ("torch.compile", _compiled),
        ("onnxruntime", lambda spec, built, threads: _onnx(spec, built, threads, onnx_reader)),
    ) if name == "eager" or name in variants]
    rows, candidates, view = [], {}, None
    for name, make in makers:
        try:
            candidate = make(spec, built, threads)
            if isinstance(candidate, tuple):
                candidate, view = candidate
            diffs = _diffs(reference, candidate.call())
        except Unsupported as err:
            rows.append(VariantResult(variant=name, ok=False, error=str(err)))
            continue
        except Exception as err:  # a variant that fails at run time is a row's reason, not the command's end
            rows.append(VariantResult(variant=name, ok=False, error=f"{name} failed here: {one_line(err)}"))
            continue
        candidates[name] = candidate
        rows.append(VariantResult(variant=name, ok=True, diffs=diffs, bytes=candidate.bytes, note=candidate.note))
    if timed and "eager" in candidates:
        stats = against_eager({n: c.timed for n, c in candidates.items()}, threads=threads, min_time=min_time,
                              clock=clock)
        rows = [VariantResult(**{**r.__dict__, "forward": stats[r.variant][0], "baseline": stats[r.variant][1]})
                if r.variant in stats else r for r in rows]
    return Deployment(rows=tuple(rows), onnx=view)


def against_eager(fns: dict[str, Callable[[], object]], *, threads: int, min_time: float,
                  clock: Callable[[], float] | None = None) -> dict[str, tuple[Stats, Stats | None]]:
    """{variant: (its forward, eager's from the same rounds)}; ``fns`` starts with "eager".

    Each variant is timed by the engine (rnnshape.run.measure.time_statements) in rounds alternating with
    eager alone on ``threads`` threads: sample i of both is round i. Eager's own row pools its samples of
    every pair (they are all per-call times of the same statement).
    """
    eager = fns["eager"]
    out: dict[str, tuple[Stats, Stats | None]] = {}
    pooled: list[Stats] = []
    for name, fn in fns.items():
        if name == "eager":
            continue
        base, timing = time_statements([{"forward": eager}, {"forward": fn}], threads=threads,
                                       min_time=min_time, clock=clock)
        out[name] = (timing.stats["forward"], base.stats["forward"])
        pooled.append(base.stats["forward"])
    if not pooled:
        pooled = [time_statements([{"forward": eager}], threads=threads, min_time=min_time, clock=clock)[0]
                  .stats["forward"]]
    samples = tuple(x for s in pooled for x in s.samples)
    out["eager"] = (Stats(samples=samples, calls_per_run=min(s.calls_per_run for s in pooled),
                          threads=pooled[0].threads), None)
    return out


def _mods(built) -> list:
    from torch import nn

    return list(built.module) if isinstance(built.module, nn.ModuleList) else [built.module]


def _serialized(module) -> int:
    import torch

    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return len(buffer.getvalue())


def _eager(spec: Spec, built, threads: int) -> _Candidate:
    forward = no_grad(built.forward)
    return _Candidate(call=forward, timed=forward, bytes=_serialized(built.module))


def _variant_of(spec: Spec, built, mods: list, inputs: dict | None = None) -> _Candidate:
    from torch import nn

    from rnnshape.run.build import forward_fn

    inputs = dict(inputs if inputs is not None else built.inputs)
    forward = no_grad(forward_fn(spec, mods, inputs))
    module = mods[0] if len(mods) == 1 else nn.ModuleList(mods)  # eager's state_dict keys, so bytes compare
    return _Candidate(call=forward, timed=forward, bytes=_serialized(module))


def _dtype(name: str):
    def make(spec: Spec, built, threads: int) -> _Candidate:
        import copy

        import torch

        dtype = getattr(torch, name)
        mods = [copy.deepcopy(m).to(dtype) for m in _mods(built)]
        inputs = {k: v.to(dtype) for k, v in built.inputs.items() if k != "input.data"}
        return _variant_of(spec, built, mods, inputs)

    return make


INT8_KINDS = "nn.LSTM, nn.GRU, nn.LSTMCell, nn.GRUCell and nn.RNNCell"


def _int8(spec: Spec, built, threads: int) -> _Candidate:
    import torch
    from torch import nn

    if not spec.device.startswith("cpu"):
        raise Unsupported(f"quantize_dynamic's int8 kernels run on the CPU only (got --device {spec.device})")
    if spec.kind is Kind.RNN and not spec.cell:
        raise Unsupported(f"quantize_dynamic has no int8 nn.RNN (it quantizes {INT8_KINDS}); use --cell")
    if spec.proj_size:
        raise Unsupported("quantize_dynamic's int8 LSTM has no projection (--proj-size)")
    if not spec.bias:
        raise Unsupported("quantize_dynamic's int8 recurrent modules need bias=True (got --no-bias)")
    if spec.unbatched:
        raise Unsupported("quantize_dynamic's int8 recurrent modules take batched input only (got --unbatched)")
    from torch.ao.quantization import quantize_dynamic

    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice, on every call
        # quantize_dynamic swaps submodules only: the module list is what makes the modules themselves swap.
        quantized = quantize_dynamic(nn.ModuleList(_mods(built)), dtype=torch.qint8)
    mods = list(quantized)
    left = [type(m).__name__ for m in mods if type(m).__module__.startswith("torch.nn.")]
    if left:
        raise Unsupported(f"quantize_dynamic left {left[0]} in float32 (it quantizes {INT8_KINDS})")
    candidate = _variant_of(spec, built, mods)
    return _Candidate(candidate.call, candidate.timed, candidate.bytes,
                      note="weights int8, activations quantized per batch at run time")


def _compiled(spec: Spec, built, threads: int) -> _Candidate:
    import torch

    try:
        compiled = torch.compile(built.forward)
    except Exception as err:
        raise Unsupported(f"torch.compile is not available here: {one_line(err)}") from None
    call = no_grad(compiled)
    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            call()  # compiles now (seconds), so the timing's warm-up does not
    except Exception as err:
        raise Unsupported(_compile_reason(err)) from None
    return _Candidate(call=call, timed=call, bytes=_serialized(built.module),
                      note="inductor; the weights are eager's")


def _compile_reason(err: BaseException) -> str:
    text = str(err).lower()
    if "compiler" in text and ("c++" in text or "cxx" in text or "gcc" in text or "not found" in text):
        return "torch.compile found no working C++ compiler (install gcc or clang)"
    return f"torch.compile failed: {one_line(err)}"


def _onnx(spec: Spec, built, threads: int, reader: Callable | None) -> tuple[_Candidate, OnnxView | None]:
    import torch

    loaded = export_and_load(spec, _mods(built), dict(built.inputs), threads, reader)

    def call() -> dict:
        return {n: torch.from_numpy(a) for n, a in zip(loaded.names, loaded.run())}

    return _Candidate(call=call, timed=loaded.run, bytes=loaded.bytes,
                      note=f"torch.onnx, opset {loaded.opset}; bytes: the tensors the graph stores"), loaded.view


def _diffs(reference: dict, produced: dict) -> tuple[tuple[str, float], ...]:
    out = []
    for name, ref in reference.items():
        got = produced[name].detach().float().cpu()
        if got.shape != ref.shape:
            raise Unsupported(f"{name} came back as {tuple(got.shape)}, eager gives {tuple(ref.shape)}")
        out.append((name, float((got - ref).abs().max()) if ref.numel() else 0.0))
    return tuple(out)


# --- the onnxruntime variant: export with torch.onnx, run with ONNX Runtime, read the weights back ---

OPSET = 18  # torch.onnx's default for the dynamo exporter in torch 2.9+


class Unsupported(Exception):
    """A variant that cannot run here; the message is the row's one-sentence reason."""


@dataclass(frozen=True)
class OnnxRun:
    run: Callable[[], list]  # one ONNX Runtime call on the prepared inputs
    names: tuple[str, ...]  # the output names, in the order run() returns them
    bytes: int  # the tensors the graph stores (initializers, Constant nodes), not the exporter's debug metadata
    opset: int
    view: OnnxView | None


def check_supported(spec: Spec) -> None:
    """The options ONNX cannot carry, before anything is imported or exported."""
    if spec.packed:
        raise Unsupported("torch.onnx cannot export a PackedSequence (--lengths); ONNX's recurrent ops take "
                          "sequence_lens instead, which torch.onnx does not emit")
    if spec.proj_size:
        raise Unsupported("ONNX's LSTM has no projection (--proj-size): torch.onnx exports a graph that "
                          "ONNX Runtime rejects")
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise Unsupported(f"needs onnx, onnxscript and onnxruntime ({err.name} is not installed): "
                          f"{EXTRA_HINT}") from None


def export_and_load(spec: Spec, mods: list, inputs: dict, threads: int, reader: Callable | None = None) -> OnnxRun:
    """Export the configuration's forward (all its modules, with the same inputs) and open an ORT session."""
    check_supported(spec)
    import onnxruntime as ort
    import torch

    names = [k for k in inputs if k != "input.data"]
    wrapper = _graph_module(spec, mods, names)
    with torch.no_grad():
        out_names = tuple(wrapper.names_of(*[inputs[n] for n in names]))
    providers = ["CPUExecutionProvider"]
    if spec.device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise Unsupported("this onnxruntime has no CUDAExecutionProvider; pip install onnxruntime-gpu, "
                              "or use --device cpu")
        providers.insert(0, "CUDAExecutionProvider")
    try:
        with _quiet():
            program = torch.onnx.export(wrapper, tuple(inputs[n] for n in names), None, dynamo=True,
                                        verbose=False, input_names=names, output_names=list(out_names),
                                        opset_version=OPSET)
        proto = program.model_proto
        data = proto.SerializeToString()
    except Exception as err:  # the exporter's failures are many and long; one line says which
        raise Unsupported(f"torch.onnx.export failed: {one_line(err)}") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: shape-merge warnings would reach the user's stderr
    try:
        session = ort.InferenceSession(data, options, providers=providers)
    except Exception as err:
        raise Unsupported(f"ONNX Runtime cannot load the exported model: {one_line(err)}") from None
    feeds = {n: inputs[n].detach().cpu().numpy() for n in names}
    weights = _node_weights(proto, feeds)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
    return OnnxRun(run=lambda: session.run(None, feeds), names=out_names, bytes=weight_bytes(proto), opset=opset,
                   view=read_view(mods, proto, weights, reader) if reader is not None else None)


def weight_bytes(proto) -> int:
    """The bytes of the tensors an ONNX graph carries: its initializers and Constant nodes' values.

    The serialized file is bigger by the graph itself and, for torch's dynamo exporter, by per-node debug
    metadata that holds source paths (so its size depends on where torch is installed); that is not weights.
    """
    from onnx import numpy_helper

    tensors = list(proto.graph.initializer) + [a.t for n in proto.graph.node if n.op_type == "Constant"
                                               for a in n.attribute if a.name == "value"]
    return sum(numpy_helper.to_array(t).nbytes for t in tensors)


def _graph_module(spec: Spec, mods: list, names: list[str]):
    """The configuration's forward as one nn.Module taking the input tensors positionally."""
    from torch import nn

    from rnnshape.run.build import forward_fn

    class Graph(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mods = nn.ModuleList(mods)

        def _run(self, *tensors) -> dict:
            return forward_fn(spec, list(self.mods), dict(zip(names, tensors)))()

        def names_of(self, *tensors) -> list[str]:
            return list(self._run(*tensors))

        def forward(self, *tensors):
            return tuple(self._run(*tensors).values())

    return Graph().eval()


def _node_weights(proto, feeds: dict) -> dict:
    """{name: array} of every W, R, B input of the recurrent nodes, as ONNX Runtime feeds them to the node.

    torch.onnx keeps torch's weights as initializers and reorders their gate blocks in the graph (Slice,
    Concat), so the node's W and R exist only at run time: run a copy whose outputs include them.
    """
    import onnx
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in proto.graph.initializer}
    wanted = [name for n in proto.graph.node if n.op_type in ONNX_OP.values() for name in n.input[1:4] if name]
    out = {name: numpy_helper.to_array(inits[name]) for name in wanted if name in inits}
    computed = [name for name in dict.fromkeys(wanted) if name not in inits]
    if computed:
        probe = onnx.ModelProto()
        probe.CopyFrom(proto)
        for name in computed:
            probe.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
        out.update(zip(computed, session.run(computed, feeds)))
    return out


def read_view(mods: list, proto, weights: dict, reader: Callable) -> OnnxView:
    """The exported recurrent modules, read by rnnshape's ONNX reader (the one ``rnnshape inspect`` uses), each
    held to torch: the arrays the reader maps back must be the module's state_dict, exactly. ``weights`` are
    the nodes' W, R, B as ONNX Runtime computes them; the reader's own folding must give the same."""
    import numpy as np

    stacked = len(mods) > 1
    groups, matches = [], []
    for g, got in reader(proto):
        if g.op not in ONNX_OP.values():
            continue  # a cell is exported as plain products: there is no recurrent node to show
        prefix = re.sub(r"^mods\.?", "", g.prefix)  # the export wrapper holds the modules as mods.0, mods.1
        index = int(prefix) if prefix.isdigit() else None
        g = _relabel(g, prefix if stacked else "")
        ok = index is not None and index < len(mods) and g.error is None
        if ok:
            want = {k: v.detach().cpu().float().numpy() for k, v in mods[index].state_dict().items()}
            ok = set(got) == set(want) and all(np.array_equal(got[k], want[k]) for k in want)
            ok = ok and all(np.array_equal(a, weights[n]) for layer in g.layers
                            for a, n in zip(layer.arrays, layer.inputs) if n and n in weights)
        groups.append(g)
        matches.append(ok)
    ops = Counter(n.op_type for n in proto.graph.node)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
    return OnnxView(opset=opset, groups=tuple(groups), ops=tuple(ops.items()), matches=tuple(matches))


def _relabel(g, prefix: str):
    import dataclasses

    return dataclasses.replace(g, prefix=prefix)


def _plain(value):
    return value.decode() if isinstance(value, bytes) else value


@contextlib.contextmanager
def _quiet():
    """Silence the exporter: it prints progress on stdout and logs on stderr, at the file-descriptor level
    (logging handlers hold their own reference to the original stream), and warns about deprecations."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with pywarnings.catch_warnings(), contextlib.redirect_stdout(open(os.devnull, "w")) as sink:
            pywarnings.simplefilter("ignore")
            try:
                yield
            finally:
                sink.close()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
