"""ONNX's recurrent nodes, and the deployment lens (--deploy): each deployed form of a configuration.

The one model of an ONNX recurrent node (``OnnxRecurrent``: the nodes that make one torch module), read from a
file by ``rnnshape inspect`` (rnnshape.checkpoint.onnxfile) and from torch.onnx's export by ``--deploy``
(rnnshape.run.deploy); the gate mapping between torch and ONNX. Pure data: no numpy, no torch.

>>> onnx_row_order(Kind.GRU, 2)  # ONNX's z, r, h blocks are torch's rows 2:4, 0:2, 4:6
[2, 3, 0, 1, 4, 5]
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


# Per ONNX operator: its gate order, torch's, and for each torch block the ONNX block holding it (kind table).
GATES = {k.torch_name: ("".join(k.info.onnx_gates), "".join(k.info.gates or k.info.onnx_gates),
                        k.info.torch_from_onnx) for k in Kind}
KIND_OF_OP = {k.torch_name: k for k in Kind}  # "LSTM" -> Kind.LSTM (also the cells' "LSTMCell" minus "Cell")


@dataclass(frozen=True)
class OnnxLayer:
    """One ONNX recurrent node: one layer, every direction. ``arrays`` holds (W, R, B) when they were read."""

    node: str
    W: tuple[int, ...]
    R: tuple[int, ...]
    B: tuple[int, ...] | None
    inputs: tuple[str, ...] = ()  # the node's W, R, B input names ('' for an absent B)
    attributes: tuple[tuple[str, object], ...] = ()  # the node's attributes as ONNX Runtime reads them
    arrays: tuple = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Source:
    """torch parameter ``torch`` = the rows ``rows`` (in this order) of ONNX ``tensor[direction]`` of ``node``."""

    torch: str
    tensor: str  # W, R or B
    node: str
    direction: int
    rows: tuple[tuple[int, int], ...]

    def text(self) -> str:
        return f"{self.tensor}[{self.direction}] rows {', '.join(f'{a}:{b}' for a, b in self.rows)} of {self.node}"


@dataclass(frozen=True)
class OnnxRecurrent:
    """The ONNX nodes that make one torch module: one recurrent node per layer (LSTM, GRU, RNN), or, for a cell
    exported as plain ops (``op`` "Gemm"/"MatMul"), the matrix products that read its weights.

    ``prefix`` is the torch module path, from the exporter's metadata scopes, the stored weights' names or the
    node names (``where_named`` says which); ``branch`` the subgraph that holds it (``If_1.then``), '' at the
    top; ``calls`` the other nodes that run the same weights (a module called in several branches or steps).
    ``error`` says why a node that is there could not be read (its shapes are then unknown).
    """

    prefix: str
    op: str  # LSTM, GRU, RNN; Gemm or MatMul for a cell exported as matrix products
    kind: Kind
    hidden_size: int
    input_size: int
    direction: str = "forward"  # forward, reverse, bidirectional
    layers: tuple[OnnxLayer, ...] = ()
    activations: tuple[str, ...] = ()
    linear_before_reset: int | None = None  # GRU only
    layout: int = 0
    dtype: str = "float32"
    notes: tuple[str, ...] = ()
    cell: bool = False  # torch's *Cell: names weight_ih (no _l0)
    branch: str = ""
    calls: tuple[str, ...] = ()
    where_named: str = "node names"  # "metadata scopes", "weight names", "node names"
    error: str | None = None
    params: tuple[tuple[str, tuple[int, ...]], ...] = ()  # matrix-product cells: torch's local names and shapes
    tensors: dict = field(default_factory=dict, compare=False, repr=False)  # their arrays, by local name

    @property
    def directions(self) -> int:
        return 2 if self.direction == "bidirectional" else 1

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(layer.node for layer in self.layers)

    def mapping(self) -> tuple[Source, ...]:
        """Where each torch parameter comes from in W, R, B: gate blocks taken in torch's order."""
        if self.op not in GATES:
            return ()
        onnx_order, _, take = GATES[self.op]
        h, g = self.hidden_size, len(onnx_order)  # B holds the G·H input biases, then the G·H recurrent ones
        name = f"{self.prefix}." if self.prefix else ""
        out = []
        for k, layer in enumerate(self.layers):
            for d in range(self.directions):
                sfx = "" if self.cell else f"_l{k}" + ("_reverse" if d else "")
                sources = [("weight_ih", "W", 0), ("weight_hh", "R", 0)]
                if layer.B is not None:
                    sources += [("bias_ih", "B", 0), ("bias_hh", "B", g * h)]
                for param, tensor, offset in sources:
                    rows = tuple((offset + j * h, offset + (j + 1) * h) for j in take)
                    out.append(Source(f"{name}{param}{sfx}", tensor, layer.node, d, rows))
        return tuple(out)

    def torch_shapes(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """(full torch name, shape) of every parameter, in the order the module's state_dict() lists them.
        The shapes are the stored tensors' (rows of W, R, B), never computed from hidden_size."""
        if self.error is not None:
            return ()
        name = f"{self.prefix}." if self.prefix else ""
        if self.op not in GATES:
            return tuple((name + local, shape) for local, shape in self.params)
        out = []
        for m in self.mapping():
            layer = self.layers[self.nodes.index(m.node)]
            full = {"W": layer.W, "R": layer.R, "B": layer.B}[m.tensor]
            rows = sum(b - a for a, b in m.rows)
            out.append((m.torch, (rows, full[2]) if m.tensor != "B" else (rows,)))
        return tuple(out)


@dataclass(frozen=True)
class OnnxView:
    """What torch.onnx exported for --deploy, read back by the same reader as ``rnnshape inspect``: its
    recurrent modules, each held to torch's weights, or the ops it used where it emitted no recurrent node."""

    opset: int
    groups: tuple[OnnxRecurrent, ...]
    ops: tuple[tuple[str, int], ...]  # every op type in the graph with its count, first seen first
    matches: tuple[bool, ...] = ()  # per group: the weights read back are torch's state_dict, exactly; () predicted

    @property
    def predicted(self) -> bool:
        return bool(self.groups) and not self.matches


def predicted_view(modules, opset: int = 18) -> OnnxView:
    """The ONNX nodes torch.onnx writes for these modules (``Spec.modules()``), predicted without torch or onnx:
    a node per layer, W ``(D, G·H, H_in)``, R ``(D, G·H, H)``, B ``(D, 2·G·H)``, gates in ONNX's order, GRU with
    linear_before_reset=1. Cells have no node (torch writes them as matrix products); nor has a projection
    (ONNX's LSTM has none). tests/test_deploy_torch.py holds it equal to what the exporter writes.

    >>> from rnnshape.model.spec import make_spec
    >>> (g,) = predicted_view(make_spec(Kind.GRU, input_size=10, hidden_size=20, num_layers=2).modules()).groups
    >>> [(layer.W, layer.R, layer.B) for layer in g.layers]
    [((1, 60, 10), (1, 60, 20), (1, 120)), ((1, 60, 20), (1, 60, 20), (1, 120))]
    """
    groups = []
    for i, m in enumerate(modules):
        if m.cell or m.proj_size:
            continue
        d, gh, h = m.directions, m.kind.gates * m.hidden_size, m.hidden_size
        op = m.kind.torch_name
        act = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh")}.get(
            op, (("Relu",) if m.nonlinearity == "relu" else ("Tanh",)))
        layers = tuple(OnnxLayer(f"{op} l{k}", (d, gh, m.input_size if k == 0 else d * h), (d, gh, h),
                                 (d, 2 * gh) if m.bias else None, inputs=("W", "R", "B" if m.bias else ""),
                                 attributes=(("hidden_size", h),) + ((("direction", "bidirectional"),) if d == 2
                                                                     else ())
                                 + ((("linear_before_reset", 1),) if op == "GRU" else ()))
                       for k in range(m.num_layers))
        groups.append(OnnxRecurrent(prefix=str(i) if len(modules) > 1 else "", op=op, kind=m.kind, hidden_size=h,
                                    input_size=m.input_size, direction="bidirectional" if d == 2 else "forward",
                                    layers=layers, activations=act * d,
                                    linear_before_reset=1 if op == "GRU" else None, where_named="prediction"))
    return OnnxView(opset=opset, groups=tuple(groups), ops=(), matches=())  # no weights: nothing to compare


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
