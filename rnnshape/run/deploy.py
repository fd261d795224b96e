"""--deploy: the configuration in each deployed form, held to eager float32 on the same input, and timed.

Variants: eager (the baseline), bfloat16, float16, int8-dynamic (torch.ao.quantization.quantize_dynamic),
torch.compile, onnxruntime (rnnshape.run.onnx_export). A variant that cannot run here becomes a row with a
one-sentence reason, never a traceback. Timing goes through the engine (rnnshape.run.measure.time_statements):
each variant in rounds alternating with eager alone, so a busy spell falls on both alike and a slow variant
(float16 on a CPU) does not slow the others.
torch is imported inside functions only.
"""

from __future__ import annotations

import io
import warnings as pywarnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rnnshape.errors import one_line
from rnnshape.model.deploy import VARIANTS, Deployment, OnnxView, VariantResult
from rnnshape.model.enums import Kind
from rnnshape.model.spec import Spec
from rnnshape.model.stats import Stats
from rnnshape.run.measure import DEFAULT_MIN_TIME, no_grad, time_statements
from rnnshape.run.onnx_export import Unsupported


@dataclass(frozen=True)
class _Candidate:
    call: Callable[[], dict]  # {output name: tensor}, for the comparison
    timed: Callable[[], object]  # the statement timed (ORT: the session call alone)
    bytes: int | None
    note: str | None = None


def deploy(spec: Spec, built, *, threads: int | None = None, min_time: float = DEFAULT_MIN_TIME,
           clock: Callable[[], float] | None = None, timed: bool = True,
           variants: Sequence[str] = VARIANTS) -> Deployment:
    """Each of ``variants`` of ``built`` (a float32 rnnshape.run.build.Built: a module, a forward returning
    {name: tensor}, its inputs), compared with eager on the same input and timed against it. Eager is
    always the first row."""
    import torch

    threads = threads or torch.get_num_threads()
    with torch.no_grad():
        reference = {k: v.detach().float().cpu().clone() for k, v in built.forward().items()}
    makers = [(name, make) for name, make in (
        ("eager", _eager), ("bfloat16", _dtype("bfloat16")), ("float16", _dtype("float16")),
        ("int8-dynamic", _int8), ("torch.compile", _compiled), ("onnxruntime", _onnx),
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


def _onnx(spec: Spec, built, threads: int) -> tuple[_Candidate, OnnxView]:
    import torch

    from rnnshape.run.onnx_export import export_and_load

    loaded = export_and_load(spec, _mods(built), dict(built.inputs), threads)

    def call() -> dict:
        return {n: torch.from_numpy(a) for n, a in zip(loaded.names, loaded.run())}

    return _Candidate(call=call, timed=loaded.run, bytes=loaded.bytes,
                      note=f"torch.onnx, opset {loaded.view.opset}; its bytes are the whole model file"), loaded.view


def _diffs(reference: dict, produced: dict) -> tuple[tuple[str, float], ...]:
    out = []
    for name, ref in reference.items():
        got = produced[name].detach().float().cpu()
        if got.shape != ref.shape:
            raise Unsupported(f"{name} came back as {tuple(got.shape)}, eager gives {tuple(ref.shape)}")
        out.append((name, float((got - ref).abs().max()) if ref.numel() else 0.0))
    return tuple(out)
