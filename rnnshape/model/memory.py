"""The memory a run needs at its peak, by part, torch-free: what --dry-run shows and the guard refuses on.

The working set is replayed allocation by allocation as torch 2.13 makes them on the kernel path it takes
(rnnshape.model.memory_paths); tests/test_memory_torch.py holds the estimate between 1.0x and 1.5x of the
peak the profiler measures over generated configurations, forward and forward+backward.

>>> from rnnshape.model.predict import predict
>>> from rnnshape.model.spec import make_spec
>>> parts, total = estimate(predict(make_spec("lstm", num_layers=4, bidirectional=True)), backward=False)
>>> [name for name, _ in parts]
['parameters', 'inputs', 'working set']
"""

from __future__ import annotations

from rnnshape.model import memory_paths
from rnnshape.model.report import Prediction

# The estimate is the modelled peak plus this share: the model's own error (tests hold it under it) and the
# allocator's rounding. The guard refuses a run whose estimate exceeds the free memory.
MARGIN = 0.10
MARGIN_BYTES = 16 * 1024  # small runs: per-allocation alignment and small tensors the model leaves out


def estimate(prediction: Prediction, *, backward: bool) -> tuple[tuple[tuple[str, int], ...], int]:
    """The parts of the peak in bytes, and the estimate: their sum with the margin.

    The parts sum to the modelled peak: the parameters and inputs (resident before the run), for
    ``backward`` what autograd keeps for the backward, and the working set (outputs, temporaries, and for
    ``backward`` the gradients) at the peak.
    """
    spec = prediction.spec
    size = spec.dtype.itemsize
    resident = [("parameters", prediction.totals.parameter_bytes), ("inputs", input_bytes(prediction))]
    if backward:
        fwd = memory_paths.forward(spec, training=True)
        peak = max(fwd.peak, memory_paths.backward(spec, fwd))
        parts = [*resident, ("kept for backward", fwd.kept * size), ("working set", (peak - fwd.kept) * size)]
    else:
        parts = [*resident, ("working set", memory_paths.forward(spec, training=False).peak * size)]
    return tuple(parts), with_margin(sum(b for _, b in parts))


def with_margin(peak: int) -> int:
    return int(peak * (1 + MARGIN)) + MARGIN_BYTES


def input_bytes(prediction: Prediction) -> int:
    """The input, its packed data and any initial states: allocated before the forward starts."""
    return sum(t.numel for t in prediction.inputs) * prediction.spec.dtype.itemsize
