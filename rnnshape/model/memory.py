"""Memory estimates by part, torch-free: what one forward (and a backward) holds at its peak.

>>> from rnnshape.model.predict import predict
>>> from rnnshape.model.spec import make_spec
>>> parts, total = estimate(predict(make_spec("lstm", num_layers=4, bidirectional=True)), backward=False)
>>> [name for name, _ in parts], total
(['parameters', 'inputs', 'outputs', 'states', 'working set'], 332200)
"""

from __future__ import annotations

from rnnshape.model.report import Prediction
from rnnshape.model.spec import Kind, Spec

SAFETY = 1.25  # allocator slack and the estimate's approximations


def estimate(prediction: Prediction, *, backward: bool) -> tuple[tuple[tuple[str, int], ...], int]:
    """The parts in bytes, and their total with the safety margin (what rnnshape.model.guard refuses on)."""
    t = prediction.totals
    size = prediction.spec.dtype.itemsize
    parts = [
        ("parameters", t.parameter_bytes),
        ("inputs", _numel(prediction.inputs, states=False) * size),
        ("outputs", _numel(prediction.outputs, states=False) * size),
        ("states", _numel(prediction.inputs + prediction.outputs, states=True) * size),
        ("working set", 2 * working_bytes(prediction)),
    ]
    if backward:
        parts += [("gradients", t.parameter_bytes), ("kept for backward", kept_for_backward(prediction.spec))]
    return tuple(parts), int(SAFETY * sum(b for _, b in parts))


def working_bytes(prediction: Prediction) -> int:
    """The largest per-module transient of one forward (the estimate counts it twice)."""
    spec = prediction.spec
    return max(
        # gates precomputed for every step, plus one layer's output sequence, per direction
        spec.steps() * m.directions * (m.kind.gates * m.hidden_size + m.h_out) * spec.dtype.itemsize
        for m in spec.modules()
    )


def _numel(tensors, *, states: bool) -> int:
    """Elements of the h_*/c_* tensors (states=True) or of the others."""
    return sum(x.numel for x in tensors if x.name.startswith(("h_", "c_")) is states)


def kept_for_backward(spec: Spec) -> int:
    """Activations autograd keeps for a backward, estimated: per (layer, direction, step) the gates,
    the cell state (LSTM) and h; per step each layer's input after the first (for weight_ih's gradient)."""
    steps = spec.steps()
    total = 0
    for i, m in enumerate(spec.modules()):
        cell_state = m.hidden_size if m.kind is Kind.LSTM else 0
        per_direction = m.kind.gates * m.hidden_size + cell_state + m.h_out
        total += steps * m.num_layers * m.directions * per_direction
        total += steps * ((m.num_layers - 1) * m.output_size + (m.input_size if i > 0 else 0))
    return total * spec.dtype.itemsize
