"""The result types. Frozen, raw numbers only (shapes as tuples, times in seconds); renderers format them."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from rnnshape.spec import Spec
from rnnshape.stats import Stats


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
    parameters: tuple[ParamInfo, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    totals: Totals
    symbols: tuple[tuple[str, int], ...]  # the legend: ("H_in", 100), ("H", 20), ...
    reading: tuple[str, ...] = ()  # how torch reads the user's --input-shape, line by line


@dataclass(frozen=True)
class Timing:
    forward: Stats


@dataclass(frozen=True)
class Report:
    """What the CLI renders and the Python API returns: the prediction, verified by torch or not."""

    prediction: Prediction
    verified: bool  # True when torch built and ran it and agreed with the prediction
    torch_version: str | None
    timing: Timing | None
    warnings: tuple[str, ...] = ()
    flops_counted: int | None = None  # FlopCounterMode on a meta copy (--check-flops), equal to totals.flops

    @property
    def spec(self) -> Spec:
        return self.prediction.spec
