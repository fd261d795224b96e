"""The deployment lens (--deploy): each deployed form of a configuration, and ONNX's view of its weights.

Pure data and the gate mapping between torch and ONNX; rnnshape.run.deploy fills these from a real run.

>>> onnx_row_order(Kind.GRU, 2)  # ONNX's z, r, h blocks are torch's rows 2:4, 0:2, 4:6
[2, 3, 0, 1, 4, 5]
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnshape.model.enums import Kind
from rnnshape.model.stats import Stats

VARIANTS = ("eager", "bfloat16", "float16", "int8-dynamic", "torch.compile", "onnxruntime")

# The largest |difference| against eager float32 each variant is held to (tests/test_deploy_torch.py).
# Recurrent states stay in (-1, 1), so these are absolute: bfloat16 keeps 8 significant bits (2^-8 = 0.004
# per rounding, summed over the steps), float16 11 bits, int8 weights one part in 127 of each row's range;
# torch.compile and ONNX Runtime only reorder float32 sums.
TOLERANCE = {
    "eager": 0.0,
    "bfloat16": 5e-2,
    "float16": 1e-2,
    "int8-dynamic": 1e-1,
    "torch.compile": 1e-5,
    "onnxruntime": 1e-4,
}

EXTRA_HINT = "pip install 'rnnshape[deploy]'"  # brings onnx, onnxscript and onnxruntime

# Row blocks of weight_ih / weight_hh / biases in each framework's order come from the kind table
# (rnnshape.model.kinds): ONNX's c is torch's g, GRU's h is torch's n; RNN's one block is called h here.
TORCH_GATES = {k: k.info.gates or ("h",) for k in Kind}
ONNX_GATES = {k: k.info.onnx_gates for k in Kind}
ONNX_FROM_TORCH = {k: k.info.onnx_from_torch for k in Kind}
ONNX_OP = {k: k.torch_name for k in Kind}  # the operator's name is torch's class name


def onnx_row_order(kind: Kind, hidden: int) -> list[int]:
    """Torch's row index for each ONNX row: ``W_onnx = weight_ih[order]`` (the same for R and each bias)."""
    return [b * hidden + r for b in ONNX_FROM_TORCH[kind] for r in range(hidden)]


@dataclass(frozen=True)
class GateBlock:
    """One block of an ONNX node's W/R/B rows and the torch rows it is taken from."""

    onnx_gate: str
    onnx_rows: tuple[int, int]  # [start, stop)
    torch_gate: str
    torch_rows: tuple[int, int]


def gate_blocks(kind: Kind, hidden: int) -> tuple[GateBlock, ...]:
    """ONNX's row blocks in its order, each with the torch block it is taken from.

    >>> [(b.onnx_gate, b.torch_gate, b.torch_rows) for b in gate_blocks(Kind.LSTM, 10)][:2]
    [('i', 'i', (0, 10)), ('o', 'o', (30, 40))]
    """
    return tuple(
        GateBlock(onnx_gate=ONNX_GATES[kind][k], onnx_rows=(k * hidden, (k + 1) * hidden),
                  torch_gate=TORCH_GATES[kind][t], torch_rows=(t * hidden, (t + 1) * hidden))
        for k, t in enumerate(ONNX_FROM_TORCH[kind])
    )


@dataclass(frozen=True)
class OnnxInput:
    """One weight input of an exported recurrent node: ONNX's role (W, R, B) and where it comes from."""

    role: str  # "W" (input weights), "R" (recurrence weights), "B" (both biases, concatenated)
    name: str  # the initializer's name in the exported graph
    shape: tuple[int, ...]
    sources: tuple[tuple[str, ...], ...]  # per direction, the torch parameters it is built from


@dataclass(frozen=True)
class OnnxNode:
    """A recurrent node (LSTM, GRU, RNN) of the exported graph and the torch layer it came from."""

    op_type: str
    layer: str  # torch's parameter suffix prefix: "l0", "0.l0" in a stack
    hidden_size: int
    inputs: tuple[OnnxInput, ...]
    attributes: tuple[tuple[str, object], ...]
    blocks: tuple[GateBlock, ...]
    matches: bool  # the exported W, R, B equal torch's weights moved by the mapping, exactly


@dataclass(frozen=True)
class OnnxView:
    """What torch.onnx exported: its recurrent nodes, or the ops it used where it emitted none."""

    opset: int
    nodes: tuple[OnnxNode, ...]
    ops: tuple[tuple[str, int], ...]  # every op type in the graph with its count, first seen first


@dataclass(frozen=True)
class VariantResult:
    """One deployed form: whether it runs here (or why not), how exact, how big, how fast."""

    variant: str
    ok: bool
    error: str | None = None  # one sentence: why it cannot run here
    diffs: tuple[tuple[str, float], ...] = ()  # max |difference| per output tensor against eager float32
    bytes: int | None = None  # the serialized weights (torch.save of the state_dict, or the ONNX model)
    forward: Stats | None = None
    baseline: Stats | None = None  # eager's forward, timed in the same alternating rounds as this variant
    note: str | None = None  # what was run, when it is not obvious from the name

    @property
    def max_abs_diff(self) -> float | None:
        return max((d for _, d in self.diffs), default=None) if self.ok else None

    @property
    def tolerance(self) -> float:
        return TOLERANCE[self.variant]

    @property
    def within_tolerance(self) -> bool | None:
        diff = self.max_abs_diff
        return None if diff is None else diff <= self.tolerance


@dataclass(frozen=True)
class Deployment:
    """Every variant of one configuration, eager first; each variant timed in rounds alternating with eager
    alone (a slow variant, float16 on a CPU, slows whatever runs next to it), eager's row pooling those."""

    rows: tuple[VariantResult, ...]
    onnx: OnnxView | None = None

    @property
    def eager(self) -> VariantResult:
        return self.rows[0]

    def ratio(self, row: VariantResult) -> float | None:
        """This variant's forward median over eager's from the same rounds (below 1 is faster)."""
        base = row.baseline or self.eager.forward
        if row.forward is None or base is None or base.median <= 0:
            return None
        return row.forward.median / base.median

    def bytes_ratio(self, row: VariantResult) -> float | None:
        if row.bytes is None or not self.eager.bytes:
            return None
        return row.bytes / self.eager.bytes


def noise_warning(d: Deployment, min_time: float) -> str | None:
    """One warning, with its fix, naming the variants whose forward cannot be trusted as it stands.

    >>> from rnnshape.model.stats import Stats
    >>> rows = (VariantResult("eager", True, forward=Stats((1.0, 1.0, 1.5, 1.0), 1, 1)),)
    >>> noise_warning(Deployment(rows=rows), 0.05)  # doctest: +ELLIPSIS
    'deploy: the forward of eager is noisy (IQR over 10 % of the median, ...; use --min-time 0.5 or a quieter machine'
    """
    noisy = [r.variant for r in d.rows if r.forward is not None and r.forward.noisy]
    if not noisy:
        return None
    return (f"deploy: the forward of {', '.join(noisy)} is noisy (IQR over 10 % of the median, or under 3 runs): "
            f"the machine was busy; use --min-time {10 * min_time:g} or a quieter machine")
