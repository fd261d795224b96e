"""The result types. Frozen, raw numbers only (shapes as tuples, times in seconds); renderers format them."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from rnnshape.model.deploy import Deployment
from rnnshape.model.spec import Spec
from rnnshape.model.stats import Stats, ThreadChoice


class Named(tuple):
    """A tuple of named items (tensors, parameters) that is also indexed by name.

    >>> outputs = Named((TensorInfo("output", (10, 3, 20), ("L", "N", "H")), TensorInfo("h_n", (1, 3, 20), ())))
    >>> outputs["h_n"].shape, outputs[0].name, [t.name for t in outputs], "h_n" in outputs
    ((1, 3, 20), 'output', ['output', 'h_n'], True)
    """

    __slots__ = ()

    def __getitem__(self, key):
        if isinstance(key, str):
            for item in self:
                if item.name == key:
                    return item
            raise KeyError(f"no {key!r} here; the names are {', '.join(self.names())}")
        found = super().__getitem__(key)
        return Named(found) if isinstance(key, slice) else found

    def __contains__(self, key) -> bool:
        if isinstance(key, str):
            return key in self.names()
        return super().__contains__(key)

    def names(self) -> tuple[str, ...]:
        return tuple(item.name for item in self)


@dataclass(frozen=True)
class ParamInfo:
    """One parameter as torch names it, with where each dimension comes from."""

    name: str
    shape: tuple[int, ...]
    dims: tuple[str, ...]  # the docs' symbols per dimension, e.g. ("4·H", "D·H_out")
    module: int | None  # index in a stack, None for a single module
    layer: int | None  # layer within a layer module, None for a cell
    direction: int  # 0 forward, 1 reverse
    gates: tuple[str, ...]  # row blocks, in torch's order (LSTM i,f,g,o; GRU r,z,n)
    bias: bool

    @property
    def numel(self) -> int:
        return prod(self.shape)


@dataclass(frozen=True)
class TensorInfo:
    """One input, output or state tensor."""

    name: str
    shape: tuple[int, ...]
    dims: tuple[str, ...]  # the docs' symbols, e.g. ("L", "N", "D·H_out")
    note: str | None = None

    @property
    def numel(self) -> int:
        return prod(self.shape)


@dataclass(frozen=True)
class Totals:
    parameters: int
    parameter_bytes: int
    macs: int  # multiply-accumulates of one forward: steps x weights excluding biases
    flops: int  # 2 x macs, FlopCounterMode's convention
    steps: int  # (sample, time step) pairs one forward processes
    input_bytes: int
    output_bytes: int
    keras_parameters: int | None  # what Keras would count (one bias vector), None where it has no equal


@dataclass(frozen=True)
class Prediction:
    """Everything about a configuration that follows from the spec alone (no torch)."""

    spec: Spec
    module_repr: str
    parameters: Named  # of ParamInfo, indexed by position or by torch's name
    inputs: Named  # of TensorInfo
    outputs: Named  # of TensorInfo
    totals: Totals
    symbols: tuple[tuple[str, int], ...]  # the legend: ("H_in", 100), ("H", 20), ...
    reading: tuple[str, ...] = ()  # how torch reads the user's --input-shape, line by line


@dataclass(frozen=True)
class Kernel:
    """Which implementation ran one forward, as seen by a TorchDispatchMode, and what FlopCounterMode read."""

    path: str  # "onednn" (aten.mkldnn_rnn_layer), "cudnn" (aten._cudnn_rnn), "miopen" or "aten" (per-step ops)
    ops: tuple[tuple[str, int], ...]  # aten ops of one forward with their call counts, first seen first
    flop_counter_flops: int  # FlopCounterMode(display=False).get_total_flops() over the same forward


@dataclass(frozen=True)
class Memory:
    """Bytes: the estimate by part (what rnnshape refuses by), and the peak measured over one more call."""

    parts: tuple[tuple[str, int], ...]  # ("parameters", n), ("inputs", n), ... raw, before the safety margin
    estimate_bytes: int  # guard's estimate: the parts with the allocator safety margin
    peak_bytes: int | None = None  # CUDA: max_memory_allocated; CPU: profiler allocation events (run/memory.py)
    peak_of: str = "forward"  # the statement the peak and the estimate cover: "forward" or "forward+backward"


@dataclass(frozen=True)
class Timing:
    """Per-call statistics of each timed statement; only ``forward`` is always there.

    ``backward`` is forward+backward (a training step without the optimizer), ``loop`` the same weights as
    a per-time-step cell loop, ``padded`` the packed batch run as one padded tensor (with --lengths).
    """

    forward: Stats
    backward: Stats | None = None
    loop: Stats | None = None
    padded: Stats | None = None
    kernel: Kernel | None = None
    memory: Memory | None = None
    threads: ThreadChoice | None = None  # the count timed on, why, and the probe (issue 12)


@dataclass(frozen=True)
class Report:
    """What the CLI renders and the Python API returns: the prediction, verified by torch or not."""

    prediction: Prediction
    verified: bool  # True when torch built and ran it and agreed with the prediction
    torch_version: str | None
    timing: Timing | None
    warnings: tuple[str, ...] = ()
    flops_counted: int | None = None  # FlopCounterMode on a meta copy (--check-flops), equal to totals.flops
    deploy: Deployment | None = None  # --deploy: each deployed variant against eager
    # --backward with nothing timed (--dry-run, --no-time, meta): the training step's memory, predicted (issue 24)
    memory: Memory | None = None

    @property
    def spec(self) -> Spec:
        return self.prediction.spec

    @property
    def parameters(self) -> Named:
        """Every parameter: ``report.parameters["weight_ih_l0"].shape``."""
        return self.prediction.parameters

    @property
    def inputs(self) -> Named:
        return self.prediction.inputs

    @property
    def outputs(self) -> Named:
        """output, h_n, c_n ...: ``report.outputs["h_n"].shape``."""
        return self.prediction.outputs

    @property
    def totals(self) -> Totals:
        return self.prediction.totals
