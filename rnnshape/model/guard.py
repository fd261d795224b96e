"""Refuse a run the machine cannot take, before anything is allocated (exit 3 with a way out)."""

from __future__ import annotations

from rnnshape.errors import EnvironmentUnfit
from rnnshape.model.memory import estimate
from rnnshape.model.report import Prediction
from rnnshape.model.spec import Spec
from rnnshape.model.units import nbytes

# A meta forward decomposes into per-step ops: about 2 ms per (layer, direction, step) for an LSTM
# here (GRU 0.75x, RNN 0.35x), whatever the sizes; see the reference, section 7.
META_WARN_SECONDS = 3.0
META_REFUSE_SECONDS = 60.0


def estimate_bytes(prediction: Prediction) -> int:
    """What one forward needs at its peak, with the allocator's slack (rnnshape.model.memory has the parts)."""
    return estimate(prediction, backward=False)[1]


def meta_seconds(spec: Spec) -> float:
    """Roughly how long a meta forward takes: it grows with layers x directions x steps."""
    per = spec.kind.info.meta_seconds_per_step
    steps = 0
    for m in spec.modules():
        steps += (1 if m.cell else m.num_layers * m.directions) * spec.seq_len
    return steps * per


def check_meta(spec: Spec) -> str | None:
    """Refuse a meta run that would take minutes; return a warning for one that takes seconds."""
    seconds = meta_seconds(spec)
    if seconds > META_REFUSE_SECONDS:
        raise EnvironmentUnfit(
            f"--device meta would take about {seconds:,.0f} s here: a meta forward costs time per "
            f"layer × direction × step (got {spec.seq_len} steps)",
            hint="use --dry-run for the same shapes and counts at once",
        )
    if seconds > META_WARN_SECONDS:
        return (
            f"the meta forward takes about {seconds:,.0f} s (per layer × direction × step); "
            "--dry-run answers at once"
        )
    return None


def check_memory(prediction: Prediction, available: int | None, device: str, *, backward: bool = False) -> None:
    """Refuse before allocating when the run (with --backward: the training step) needs more than is free.

    The need is rnnshape.model.memory's estimate: the modelled peak plus MARGIN (10 %) and MARGIN_BYTES,
    which tests hold between 1.0x and 1.5x of the measured peak on CPU. On CUDA the same model stands in
    for cuDNN's allocations, which no test here measures.
    """
    if available is None:
        return
    need = estimate(prediction, backward=backward)[1]
    if need > available:
        spec = prediction.spec
        meta_ok = meta_seconds(spec) <= META_REFUSE_SECONDS
        hint = "use --dry-run for the same shapes and counts without running"
        if meta_ok:
            hint += ", or --device meta to run torch without allocating memory"
        raise EnvironmentUnfit(
            f"not enough memory on {device}: this run{' with --backward' if backward else ''} needs about "
            f"{nbytes(need)} and {nbytes(available)} is free",
            hint=hint,
        )
