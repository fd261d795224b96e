"""The memory a run needs at its peak, torch-free: what --dry-run shows and the guard refuses on.

Three parts, in order: the allocation replay (a :class:`Ledger` of what torch allocates, step by step, on
each kernel path), the estimate by part (what the tables and the JSON show), and the guard that refuses a
run the machine cannot take before anything is allocated (exit 3 with a way out).

The replay follows torch 2.13 allocation by allocation. The amounts were read from its CPU allocation events
(the profiler's memory events, one config at a time, sizes chosen so every tensor is recognisable);
tests/test_memory_torch.py holds the estimate between 1.0x and 1.5x of the peak the profiler measures over
generated configurations, forward and forward+backward. Sizes in the replay are in elements; the estimate
multiplies by the itemsize. Two paths exist on CPU:
- oneDNN (``aten.mkldnn_rnn_layer``): float32/bfloat16 LSTM without projection or packed input. Each
  (layer, direction) reorders its weights and uses a scratchpad of about the gates of every step; training
  allocates a workspace (the gates and states of every step) that autograd keeps until the backward.
- aten: everything else (GRU, RNN, cells, projection, packed input, float64/float16). The input projection
  of all steps is one matmul (rows x gates); each step adds its own small matmul and elementwise ops, and in
  training keeps ``KEPT_PER_STEP`` hidden-sized tensors per row.

>>> from rnnshape.model.predict import predict
>>> from rnnshape.model.spec import make_spec
>>> parts, total = estimate(predict(make_spec("lstm", num_layers=4, bidirectional=True)), backward=False)
>>> [name for name, _ in parts]
['parameters', 'inputs', 'working set']
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from rnnshape.errors import EnvironmentUnfit
from rnnshape.model.report import Prediction
from rnnshape.model.spec import Dtype, Kind, Module, Spec
from rnnshape.model.stats import nbytes

# Hidden-sized tensors per row that a training step keeps for the backward, per time step (gates, their
# activations, c_t and tanh(c_t) for LSTM, the new h): read from the allocation events of torch 2.13.
KEPT_PER_STEP = {Kind.LSTM: 7, Kind.GRU: 7, Kind.RNN: 1}
# Hidden-sized temporaries of one step besides its gates (no_grad), per row.
STEP_TEMPS = 3
# oneDNN sizes, per row and step in units of max(input width, hidden) "ld" and hidden "H": the training
# workspace is about 6 ld + 9 H; the scratchpad holds the gates and two ld-sized states. The constant terms
# cover per-batch buffers and padding (in elements per batch row of width ld, and elements).
ONEDNN_WORKSPACE = (6, 9)
ONEDNN_PER_ROW, ONEDNN_CONST = 14, 4096
ONEDNN_PAD = 128  # oneDNN pads the gate rows of its reordered weights to a multiple of this
# bfloat16 on oneDNN: the workspace holds float32 parts (about 1.4x the elements of a float32 one, counted as
# 1.5x), and the backward computes the weight and input gradients in float32 (2 elements each).
BF16_WORKSPACE, BF16_BACKWARD = 1.5, 2


@dataclass
class Ledger:
    """A running sum of live elements and its peak."""

    live: int = 0
    peak: int = 0
    kept: int = 0  # what autograd holds for the backward at the end of the forward
    calls: list = field(default_factory=list)  # the recurrent calls, for the backward, in forward order

    def alloc(self, n: int) -> None:
        self.live += n
        self.peak = max(self.peak, self.live)

    def free(self, n: int) -> None:
        self.live -= n

    def spike(self, n: int) -> None:
        """Allocated and freed again before anything else changes."""
        self.peak = max(self.peak, self.live + n)


@dataclass(frozen=True)
class Call:
    """One recurrent call that a backward replays: a (module, layer, direction), or a cell's whole loop."""

    path: str  # "onednn" or "aten"
    kind: Kind
    rows: int  # (sample, step) rows it processed
    batch: int  # rows of its widest step
    width: int  # its input width
    hidden: int
    h_out: int
    kept: int  # elements kept for its backward
    input_grad: bool  # its input is an activation (needs a gradient), not the user's tensor
    cell: bool = False
    packed: bool = False


def onednn(spec: Spec) -> bool:
    """Whether torch runs the fused oneDNN kernel: LSTM on CPU at float32/bfloat16, no proj, not packed."""
    return (spec.kind.has_cell_state and not spec.cell and spec.device == "cpu" and not spec.proj_size
            and not spec.packed and spec.dtype in (Dtype.FLOAT32, Dtype.BFLOAT16))


def forward_ledger(spec: Spec, *, training: bool) -> Ledger:
    """Replay one forward (as autograd records it when ``training``) above the resident tensors."""
    led = Ledger()
    batch = 1 if spec.unbatched else (spec.batch or 1)
    rows = spec.steps()
    path = "onednn" if onednn(spec) else "aten"
    if spec.cell:
        _cells(led, spec, batch, training)
        return led
    x = None  # elements of the current module's input when it is an activation (None: the user's input)
    strided = spec.batch_major and not spec.packed
    for i, m in enumerate(spec.modules()):  # only the user's batch-first input is not contiguous
        x = _module(led, m, path, rows, batch, x, training, spec.packed, strided and i == 0,
                    path == "onednn" and spec.dtype is Dtype.BFLOAT16)
    if training and (path != "onednn" or spec.modules()[-1].directions > 1):
        led.kept -= x  # the loss reads the last output and does not keep it
    if spec.packed:
        out = spec.seq_len * batch * spec.modules()[-1].output_size
        led.alloc(2 * out)  # pad_packed_sequence: the padded tensor and its unsorted copy
        led.free(out)
    return led


def _module(led: Ledger, m: Module, path: str, rows: int, batch: int, x: int | None, training: bool,
            packed: bool, strided: bool, bf16: bool) -> int:
    """One layer module: its layers in order, each direction a call; returns its output's elements."""
    G, H, Ho, D = m.kind.gates, m.hidden_size, m.h_out, m.directions
    states = (2 if m.kind.has_cell_state else 1) * m.num_layers * D * batch * H
    led.alloc(states)  # the zero initial states torch makes when none are passed
    previous = 0  # oneDNN, no_grad: the previous layer's direction outputs, freed during this layer
    for k in range(m.num_layers):
        width = m.input_size if k == 0 else m.output_size
        directions = later = projection = 0
        shared = rows * width if strided and k == 0 and path == "onednn" else 0  # one contiguous copy
        led.alloc(shared)
        led.kept += shared if training else 0
        for _d in range(D):
            if path == "onednn":
                kept = _onednn_call(led, m, rows, batch, width, training, bf16)
            else:
                copy = rows * width if strided and k == 0 else 0  # a batch-first input, made contiguous
                led.alloc(copy)
                led.alloc(rows * G * H)  # the input projection of every step at once
                if training:
                    led.kept += copy  # the projection's backward reads it
                else:
                    led.free(copy)
                led.free(projection)  # the other direction's, freed once this one exists
                projection = rows * G * H
                if training:
                    kept = rows * (KEPT_PER_STEP[m.kind] * H + (Ho if m.proj_size else 0))
                    led.alloc(kept)
                    led.kept += kept
                else:
                    kept = 0
                    led.alloc(rows * Ho)  # each step's h, until the layer ends
                    later += rows * Ho
                led.spike(batch * (G * H + STEP_TEMPS * H + (H if m.proj_size else 0)))
                led.alloc(rows * Ho)  # this direction's output, the steps stacked
            directions += rows * Ho
            led.calls.append(Call(path, m.kind, rows, batch, width, H, Ho, kept, input_grad=x is not None,
                                  packed=packed))
        if D > 1:
            led.alloc(rows * D * Ho)  # cat of the two directions
        led.free(projection + later + (0 if training else shared))
        if path != "onednn" and D > 1:
            led.free(directions)  # aten frees them at the layer's end
        elif path == "onednn" and D > 1 and not training:
            led.free(previous)
            previous = directions
        if x is not None and not training:
            led.free(x)  # the previous layer's output, no longer needed
        x = rows * D * Ho
        if training and m.dropout and k < m.num_layers - 1:
            led.alloc(2 * x)  # dropout's output and its mask, kept
            led.kept += 2 * x
        if training and (path != "onednn" or D > 1):
            led.kept += x  # the next layer keeps its input (oneDNN: the directions' outputs are kept already)
    led.alloc(states)  # h_n (and c_n), stacked from the last states
    return x


def _onednn_call(led: Ledger, m: Module, rows: int, batch: int, width: int, training: bool, bf16: bool) -> int:
    G, H = m.kind.gates, m.hidden_size
    ld = max(width, H)
    kept = 0
    if training:
        kept = rows * (ONEDNN_WORKSPACE[0] * ld + ONEDNN_WORKSPACE[1] * H) + _onednn_extra(batch, ld)
        kept = int(kept * (BF16_WORKSPACE if bf16 else 1))
        led.alloc(kept)
    led.alloc(rows * H + 2 * batch * H)  # output, h_n and c_n of this call
    if training:
        kept += rows * H + 2 * batch * H  # the backward reads them
        led.kept += kept
    led.spike(G * H + _onednn_weights(G, H, width) + _onednn_scratch(rows, batch, G, H, ld))
    return kept


def _onednn_weights(G: int, H: int, width: int) -> int:
    """The weights as oneDNN reorders them for one call: gate rows padded, input and hidden columns."""
    return -(-G * H // ONEDNN_PAD) * ONEDNN_PAD * (width + H)


def _onednn_scratch(rows: int, batch: int, G: int, H: int, ld: int) -> int:
    return rows * (G * H + 2 * (ld - H)) + _onednn_extra(batch, ld)


def _onednn_extra(batch: int, ld: int) -> int:
    return ONEDNN_PER_ROW * batch * ld + ONEDNN_CONST


def _cells(led: Ledger, spec: Spec, batch: int, training: bool) -> None:
    mods = spec.modules()
    n_states = 2 if spec.kind.has_cell_state else 1
    for m in mods:
        led.alloc(n_states * batch * m.hidden_size)  # the first step's zero states
    widest = max(batch * (2 * m.kind.gates * m.hidden_size + STEP_TEMPS * m.hidden_size) for m in mods)
    if training:
        for m in mods:
            kept = spec.seq_len * batch * KEPT_PER_STEP[m.kind] * m.hidden_size
            led.alloc(kept)
            led.kept += kept
    else:
        for m in mods:
            led.alloc(n_states * batch * m.hidden_size)  # the new states while the old ones are read
    led.spike(widest)
    for i, m in enumerate(mods):
        led.calls.append(Call("aten", m.kind, spec.seq_len * batch, batch, m.input_size, m.hidden_size,
                              m.hidden_size, spec.seq_len * batch * KEPT_PER_STEP[m.kind] * m.hidden_size if
                              training else 0, input_grad=i > 0, cell=True))


def backward_peak(spec: Spec, fwd: Ledger) -> int:
    """The peak of the backward that follows a training forward (elements above the resident tensors).

    At its start only what autograd kept is live (the loss's output is freed after the sum). The calls run
    in reverse; each frees what it kept and leaves its weight gradients and its input's gradient (kept to the
    end: an upper bound, as the layer below frees it).
    """
    led = Ledger(live=fwd.kept, peak=fwd.kept)
    if spec.packed:  # pad_packed_sequence's backward: the padded gradient, then the packed one
        out = spec.modules()[-1].output_size
        led.alloc((spec.seq_len * (1 if spec.unbatched else spec.batch or 1) + spec.steps()) * out)
    for c in reversed(fwd.calls):
        G, H, Ho = c.kind.gates, c.hidden, c.h_out
        w_step = G * H * (Ho + (c.width if c.cell else 0))  # the weights whose gradient sums step by step
        w_all = G * H * (c.width + Ho) + 2 * G * H
        if c.path == "onednn":
            wide = BF16_BACKWARD if spec.dtype is Dtype.BFLOAT16 else 1
            dx = c.rows * c.width * wide
            led.alloc(c.rows * H + 4 * c.batch * H + G * H + dx + w_all * wide)  # grads in, grads out
            scratch = _onednn_scratch(c.rows, c.batch, G, H, max(c.width, H))
            led.spike((_onednn_weights(G, H, c.width) + G * H + scratch) * wide + (w_all if wide > 1 else 0))
            led.free(c.rows * H + 4 * c.batch * H + G * H + c.kept)
        else:
            # the first steps: the summed gradient, a new step's and their sum, the step's temporaries
            # packed input: the gradients of each step's rows, scattered into the gates' gradient
            packed = c.rows * G * H if c.packed else 0
            led.spike(3 * w_step + (G + 4) * c.batch * H + packed)
            dx = c.rows * c.width if c.input_grad else 0
            led.free(c.kept)
            if not c.cell:  # the gates' gradients of every step, stacked for the input projection
                led.spike(2 * c.rows * G * H + w_all + dx)
            led.alloc(w_all + dx)
    return led.peak


# The estimate, by part

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
    peak, kept = _peak(spec, backward)
    if backward:
        parts = [*resident, ("kept for backward", kept * size), ("working set", (peak - kept) * size)]
    else:
        parts = [*resident, ("working set", peak * size)]
    return tuple(parts), with_margin(sum(b for _, b in parts))


@functools.lru_cache(maxsize=16)
def _peak(spec: Spec, training: bool) -> tuple[int, int]:
    """(peak, kept) in elements: replayed once per configuration, however many readers ask (the guard, the
    run's Memory, the Totals table)."""
    fwd = forward_ledger(spec, training=training)
    if training:
        return max(fwd.peak, backward_peak(spec, fwd)), fwd.kept
    return fwd.peak, 0


def with_margin(peak: int) -> int:
    return int(peak * (1 + MARGIN)) + MARGIN_BYTES


def input_bytes(prediction: Prediction) -> int:
    """The input, its packed data and any initial states: allocated before the forward starts."""
    return sum(t.numel for t in prediction.inputs) * prediction.spec.dtype.itemsize


# The guard

# A meta forward decomposes into per-step ops: about 2 ms per (layer, direction, step) for an LSTM
# here (GRU 0.75x, RNN 0.35x), whatever the sizes; see the reference, section 7.
META_WARN_SECONDS = 3.0
META_REFUSE_SECONDS = 60.0


def estimate_bytes(prediction: Prediction) -> int:
    """What one forward needs at its peak, with the allocator's slack (:func:`estimate` has the parts)."""
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

    The need is :func:`estimate`: the modelled peak plus MARGIN (10 %) and MARGIN_BYTES,
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
