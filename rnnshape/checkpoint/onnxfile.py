"""Recurrent nodes of an ONNX graph (LSTM, GRU, RNN), as torch would name their parameters.

An ONNX recurrent node holds one layer, both directions: W ``[D, G·H, input]``, R ``[D, G·H, H]``,
B ``[D, 2·G·H]`` (input biases, then recurrent ones). torch's exporter writes a k-layer module as k
consecutive nodes, each reading the previous one's Y (through Squeeze, or Transpose and Reshape when
bidirectional). The gates are stacked in another order: ONNX LSTM i, o, f, c where torch has i, f, g, o;
ONNX GRU z, r, h where torch has r, z, n. Shapes come from the graph's initializers (or Constant nodes),
read with the ``onnx`` package without loading external data.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnshape.errors import EnvironmentUnfit, UsageError
from rnnshape.model.enums import Kind

# Per ONNX operator: its gate order, torch's, and for each torch block the ONNX block holding it (kind table).
GATES = {k.torch_name: ("".join(k.info.onnx_gates), "".join(k.info.gates or k.info.onnx_gates),
                        k.info.torch_from_onnx) for k in Kind}
_PASS = {"Squeeze", "Unsqueeze", "Transpose", "Reshape", "Identity", "Dropout", "Cast"}
_DEFAULT_ACTIVATIONS = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh"), "RNN": ("Tanh",)}


@dataclass(frozen=True)
class OnnxLayer:
    node: str
    W: tuple[int, ...]
    R: tuple[int, ...]
    B: tuple[int, ...] | None


@dataclass(frozen=True)
class OnnxRecurrent:
    """Consecutive ONNX nodes that make one torch module (one node per layer)."""

    prefix: str  # the torch module path the node names say (``/encoder/rnn/LSTM`` -> encoder.rnn)
    op: str  # LSTM, GRU, RNN
    hidden_size: int
    input_size: int
    direction: str  # forward, reverse, bidirectional
    layers: tuple[OnnxLayer, ...]
    activations: tuple[str, ...]
    linear_before_reset: int | None  # GRU only
    layout: int
    dtype: str = "float32"
    notes: tuple[str, ...] = ()

    @property
    def directions(self) -> int:
        return 2 if self.direction == "bidirectional" else 1

    def mapping(self) -> tuple[Source, ...]:
        """Where each torch parameter comes from in W, R, B: gate blocks taken in torch's order."""
        onnx_order, _, take = GATES[self.op]
        h, g = self.hidden_size, len(onnx_order)  # B holds the G·H input biases, then the G·H recurrent ones
        name = f"{self.prefix}." if self.prefix else ""
        out = []
        for k, layer in enumerate(self.layers):
            for d in range(self.directions):
                sfx = f"_l{k}" + ("_reverse" if d else "")
                sources = [("weight_ih", "W", 0), ("weight_hh", "R", 0)]
                if layer.B is not None:
                    sources += [("bias_ih", "B", 0), ("bias_hh", "B", g * h)]
                for param, tensor, offset in sources:
                    rows = tuple((offset + j * h, offset + (j + 1) * h) for j in take)
                    out.append(Source(f"{name}{param}{sfx}", tensor, layer.node, d, rows))
        return tuple(out)


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


def read_onnx(path: str):
    """A Checkpoint whose entries are the torch parameters the recurrent nodes correspond to."""
    from rnnshape.checkpoint.entries import Checkpoint, Entry

    onnx = _onnx()
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as err:  # protobuf's DecodeError and friends: the file is not a model
        raise UsageError(f"{path} is not a readable ONNX model ({type(err).__name__}: {err})",
                         hint="check that the file was completely written and copied") from None
    groups = _groups(model.graph, onnx)
    entries, attributes = [], []
    for grp in groups:
        for source in grp.mapping():
            entries.append(Entry(source.torch, _torch_shape(grp, source.torch), grp.dtype))
        stored = ((("nonlinearity", grp.activations[0].lower()),) if grp.op == "RNN" and grp.activations else ()) + (
            (("batch_first", True),) if grp.layout == 1 else ())
        if stored:
            attributes.append((grp.prefix, stored))
    return Checkpoint(path, "onnx", (), tuple(entries), reader="onnx", onnx=tuple(groups),
                      attributes=tuple(attributes))


def _torch_shape(grp: OnnxRecurrent, torch_name: str) -> tuple[int, ...]:
    """The shape the ONNX tensor gives this torch parameter (taken from W, R, B, never computed from H)."""
    k = int(torch_name.rsplit("_l", 1)[1].split("_")[0])
    layer = grp.layers[k]
    g = len(GATES[grp.op][0])
    if "weight_ih" in torch_name:
        return layer.W[1:]
    if "weight_hh" in torch_name:
        return layer.R[1:]
    return (layer.B[1] // 2,) if layer.B and len(layer.B) == 2 and layer.B[1] % 2 == 0 else (g * grp.hidden_size,)


def _onnx():
    try:
        import onnx
    except ImportError:
        raise EnvironmentUnfit("reading .onnx files needs the onnx package, which is not installed",
                               hint="pip install 'rnnshape[onnx]' (or pip install onnx)") from None
    return onnx


def _groups(graph, onnx) -> list[OnnxRecurrent]:
    shapes = {i.name: tuple(int(d) for d in i.dims) for i in graph.initializer}
    dtypes = {i.name: i.data_type for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    shapes[node.output[0]] = tuple(int(d) for d in a.t.dims)
    producer = {out: node for node in graph.node for out in node.output}
    groups: list[OnnxRecurrent] = []
    last_output: dict[str, int] = {}  # Y of a recurrent node -> index in groups
    for node in graph.node:
        if node.op_type not in GATES:
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        layer = OnnxLayer(node.name or node.output[0], _shape(node, 1, shapes), _shape(node, 2, shapes),
                          _shape(node, 3, shapes, optional=True))
        grp = _new_group(node, attrs, layer, _dtype(dtypes.get(node.input[1]), onnx))
        source = _through(node.input[0], producer)
        idx = last_output.get(source)
        if idx is not None and _continues(groups[idx], grp):
            prev = groups[idx]
            groups[idx] = OnnxRecurrent(**{**prev.__dict__, "layers": prev.layers + (layer,),
                                           "notes": tuple(dict.fromkeys(prev.notes + grp.notes))})
        else:
            idx = len(groups)
            groups.append(grp)
        if node.output and node.output[0]:
            last_output[node.output[0]] = idx
    return groups


def _shape(node, i: int, shapes, optional: bool = False):
    name = node.input[i] if len(node.input) > i else ""
    if not name:
        if optional:
            return None
        raise UsageError(f"ONNX node {node.name!r} ({node.op_type}) has no input {i}")
    if name not in shapes:
        raise UsageError(f"ONNX node {node.name!r} ({node.op_type}) computes its weights ({name}) instead of "
                         f"storing them: rnnshape reads stored weights only",
                         hint="export with constant folding (torch.onnx.export's default) to store them")
    return shapes[name]


def _through(name: str, producer) -> str:
    """Follow shape-only ops back from a node's input to the output of the node that made it."""
    for _ in range(6):
        node = producer.get(name)
        if node is None or node.op_type not in _PASS or not node.input:
            return name
        name = node.input[0]
    return name


def _dtype(code, onnx) -> str:
    try:
        return onnx.helper.tensor_dtype_to_np_dtype(code).name if code else "float32"
    except (KeyError, TypeError, ValueError):
        return "float32"


def _new_group(node, attrs, layer: OnnxLayer, dtype: str) -> OnnxRecurrent:
    op = node.op_type
    direction = attrs.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else str(direction)
    acts = tuple(a.decode() if isinstance(a, bytes) else str(a) for a in attrs.get("activations", ()))
    directions = 2 if direction == "bidirectional" else 1
    default = _DEFAULT_ACTIVATIONS[op]
    notes = []
    if acts and acts not in (default, default * directions) and op != "RNN":
        notes.append(f"activations {', '.join(acts)} differ from torch's {', '.join(default)}")
    if op == "RNN" and acts and acts[0].lower() not in ("tanh", "relu"):
        notes.append(f"activation {acts[0]}: torch's nn.RNN has only tanh and relu")
    if direction == "reverse":
        notes.append("direction reverse: torch has no module that runs only backwards (its bidirectional "
                     "modules hold the reverse direction as *_reverse)")
    if op == "GRU" and not attrs.get("linear_before_reset", 0):
        notes.append("linear_before_reset=0: torch's nn.GRU computes r ⊙ (W_hn·h + b_hn), which is ONNX's "
                     "linear_before_reset=1; these weights load but compute another function")
    if "clip" in attrs:
        notes.append(f"clip={attrs['clip']}: torch's modules do not clip")
    if op == "LSTM" and (attrs.get("input_forget") or (len(node.input) > 7 and node.input[7])):
        notes.append("input_forget or peepholes: torch's nn.LSTM has neither")
    path = (node.name or "").strip("/").split("/")[:-1]
    return OnnxRecurrent(
        prefix=".".join(path), op=op, hidden_size=int(attrs.get("hidden_size", layer.R[-1] if layer.R else 0)),
        input_size=layer.W[-1], direction=direction, layers=(layer,), activations=acts or default * directions,
        linear_before_reset=int(attrs.get("linear_before_reset", 0)) if op == "GRU" else None,
        layout=int(attrs.get("layout", 0)), dtype=dtype, notes=tuple(notes))


def _continues(prev: OnnxRecurrent, grp: OnnxRecurrent) -> bool:
    same = (prev.op, prev.hidden_size, prev.direction, prev.prefix, prev.layout, prev.activations,
            prev.linear_before_reset)
    return same == (grp.op, grp.hidden_size, grp.direction, grp.prefix, grp.layout, grp.activations,
                    grp.linear_before_reset)
