"""The graph scopes and the constant folder of rnnshape's ONNX reader: W, R, B (and cell weights) that a graph
computes from stored tensors, evaluated with numpy; and Keras layers that tf2onnx writes as a Loop of products.

Exporters put shape and indexing ops between the stored weights and a recurrent node: torch's TorchScript
exporter slices ``weight_ih`` into gate blocks and concatenates them in ONNX's order (inside ``If`` branches,
where its constant folding does not reach), tf2onnx transposes and splits Keras kernels. ``Folder.value``
follows an input back to initializers and Constant nodes (through enclosing scopes: a subgraph reads outer
names) and evaluates each op on the way; anything that depends on a graph input, or an op it does not know,
is ``Unreadable`` with the reason, for that node only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


class Unreadable(Exception):
    """This node (only) cannot be read; the message says why."""


class Scope:
    """One graph (the main one or a subgraph) with its enclosing scopes: subgraphs read outer names."""

    def __init__(self, graph, parent: Scope | None, branch: str, base_dir: str | None = None) -> None:
        self.graph, self.parent, self.branch = graph, parent, branch
        self.base_dir = parent.base_dir if parent is not None else base_dir
        self.inits = {i.name: i for i in graph.initializer}
        self.producer = {out: node for node in graph.node for out in node.output if out}
        self.values: dict = {}  # folded constants, by name
        self.aliases: dict[str, str] = {}  # a Loop body's input -> the outer value it always holds

    def find(self, name: str) -> tuple[Scope | None, str]:
        """The scope that defines ``name`` and its name there (a passed-through Loop input is the outer value)."""
        scope = self
        while scope is not None:
            if name in scope.inits or name in scope.producer:
                return scope, name
            name = scope.aliases.get(name, name)
            scope = scope.parent
        return None, name


def loop_constants(node, body) -> dict[str, str]:
    """A Loop's carried values that its body passes on unchanged (tf2onnx carries a Keras cell's weights so):
    {body input name: the Loop's input name}."""
    produced = {o: n for n in body.node for o in n.output}
    out = {}
    for k, (inner, outer) in enumerate(zip(body.input[2:], node.input[2:])):
        if len(body.output) <= k + 1 or not outer:
            continue
        name = body.output[k + 1].name
        while name in produced and produced[name].op_type == "Identity":
            name = produced[name].input[0]
        if name == inner.name:
            out[inner.name] = outer
    return out


def stored(name: str, scope: Scope, depth: int = 0) -> set[str]:
    """The initializers a value is computed from, by name only (nothing is read)."""
    where, name = scope.find(name) if name and depth < 8 else (None, name)
    if where is None:
        return set()
    if name in where.inits:
        return {name}
    return set().union(*(stored(i, where, depth + 1) for i in where.producer[name].input))


@dataclass
class Folder:
    """Evaluates a node input that depends on stored tensors only, with numpy: (array, initializer names)."""

    scope: Scope
    onnx: object

    def value(self, name: str, role: str):
        return self._value(name, role, 0)

    def _value(self, name: str, role: str, depth: int):
        if not name:
            return None, frozenset()
        where, name = self.scope.find(name)
        if where is None:
            raise Unreadable(f"its {role} ({name}) is computed from the graph's input, not from stored tensors")
        if name in where.values:
            return where.values[name]
        if depth > 64:
            raise Unreadable(f"its {role} ({name}) is computed through more than 64 operations")
        if name in where.inits:
            result = self._initializer(where.inits[name], role), frozenset([name])
        else:
            node = where.producer[name]
            inputs = [self._value(i, role, depth + 1) for i in node.input]
            arrays = [a for a, _ in inputs]
            names = frozenset().union(*(n for _, n in inputs)) if inputs else frozenset()
            try:
                outs = _evaluate(node, arrays, self.onnx)
            except Unreadable:
                raise
            except Exception as err:
                raise Unreadable(f"its {role} ({name}) comes from {node.op_type} node {node.name!r}, which "
                                  f"rnnshape's folder cannot evaluate ({type(err).__name__}: {err})") from None
            for out_name, out in zip(node.output, outs):
                where.values[out_name] = (out, names)
            result = where.values[name]
        where.values[name] = result
        return result

    def _initializer(self, tensor, role: str):
        from onnx import numpy_helper

        if tensor.data_location == self.onnx.TensorProto.EXTERNAL:
            _external(tensor, self.scope.base_dir, role)
        return numpy_helper.to_array(tensor)


def _external(tensor, base_dir: str | None, role: str) -> None:
    """Fill ``tensor`` from its external data file, which must sit beside the model (or below it)."""
    from onnx.external_data_helper import load_external_data_for_tensor

    location = next((e.value for e in tensor.external_data if e.key == "location"), "")
    if base_dir is None:
        raise Unreadable(f"its {role} ({tensor.name}) is in an external data file ({location})")
    full = os.path.realpath(os.path.join(base_dir, location))
    if not full.startswith(os.path.realpath(base_dir) + os.sep):
        raise Unreadable(f"its {role} ({tensor.name}) points outside the model's folder ({location})")
    if not os.path.isfile(full):
        raise Unreadable(f"its {role} ({tensor.name}) is in {location}, which is not beside the model")
    try:
        load_external_data_for_tensor(tensor, base_dir)
    except Exception as err:
        raise Unreadable(f"its {role} ({tensor.name}) cannot be read from {location}: {err}") from None


def _evaluate(node, x: list, onnx) -> list:
    """One ONNX operator on constant inputs (the shape and indexing ops exporters put between stored weights
    and a recurrent node, plus elementwise arithmetic)."""
    import numpy as np
    from onnx import numpy_helper

    op = node.op_type
    a = {k.name: plain(onnx.helper.get_attribute_value(k)) for k in node.attribute}
    if op == "Constant":
        if "value" in a:
            return [numpy_helper.to_array(next(k.t for k in node.attribute if k.name == "value"))]
        for key, dtype in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                           ("value_ints", np.int64)):
            if key in a:
                return [np.array(a[key], dtype=dtype)]
        raise Unreadable(f"Constant node {node.name!r} holds no tensor rnnshape reads")
    if op in ("Identity", "Dropout"):
        return [x[0]]
    if op == "Cast":
        return [x[0].astype(onnx.helper.tensor_dtype_to_np_dtype(a["to"]))]
    if op == "Transpose":
        return [np.transpose(x[0], a.get("perm"))]
    if op in ("Squeeze", "Unsqueeze"):
        axes = [int(v) for v in (x[1] if len(x) > 1 and x[1] is not None else a.get("axes", []))]
        if op == "Squeeze":
            return [np.squeeze(x[0], axis=tuple(axes) if axes else None)]
        out = x[0]
        for ax in sorted(v % (out.ndim + len(axes)) for v in axes):
            out = np.expand_dims(out, ax)
        return [out]
    if op == "Reshape":
        shape = [int(v) for v in x[1]]
        if not a.get("allowzero", 0):
            shape = [x[0].shape[k] if v == 0 else v for k, v in enumerate(shape)]
        return [x[0].reshape(shape)]
    if op == "Concat":
        return [np.concatenate([v for v in x if v is not None], axis=a["axis"])]
    if op == "Gather":
        return [np.take(x[0], x[1].astype(np.int64), axis=a.get("axis", 0))]
    if op == "Slice":
        data = x[0]
        if len(x) > 1:
            starts, ends = x[1], x[2]
            axes = x[3] if len(x) > 3 and x[3] is not None else range(len(starts))
            steps = x[4] if len(x) > 4 and x[4] is not None else [1] * len(starts)
        else:  # opset < 10: attributes
            starts, ends = a["starts"], a["ends"]
            axes, steps = a.get("axes", range(len(starts))), [1] * len(starts)
        index = [slice(None)] * data.ndim
        for s, e, ax, st in zip(starts, ends, axes, steps):
            index[int(ax)] = slice(*slice(int(s), int(e), int(st)).indices(data.shape[int(ax)]))
        return [data[tuple(index)]]
    if op == "Split":
        axis = a.get("axis", 0)
        sizes = x[1] if len(x) > 1 and x[1] is not None else a.get("split")
        if sizes is None:
            return np.array_split(x[0], a.get("num_outputs", len(node.output)), axis=axis)
        return np.split(x[0], np.cumsum([int(v) for v in sizes])[:-1], axis=axis)
    if op in ("Add", "Sub", "Mul", "Div"):
        fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
        return [fn(x[0], x[1]).astype(x[0].dtype)]
    if op == "Neg":
        return [-x[0]]
    if op == "ConstantOfShape":
        fill = numpy_helper.to_array(next(k.t for k in node.attribute if k.name == "value")) if "value" in a \
            else np.zeros(1, np.float32)
        return [np.full([int(v) for v in x[0]], fill.reshape(-1)[0], dtype=fill.dtype)]
    if op == "Shape":
        return [np.array(x[0].shape, dtype=np.int64)]
    if op == "Expand":
        return [x[0] * np.ones([int(v) for v in x[1]], dtype=x[0].dtype)]
    raise Unreadable(f"it is computed by a {op} node ({node.name!r}), which rnnshape's folder does not evaluate")


def plain(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [v.decode() if isinstance(v, bytes) else v for v in value]
    return value


# --- Keras cells that tf2onnx writes as a Loop of matrix products ---------------------------------------

_KERAS_CELL = re.compile(r"^(?P<path>(?:[^/]+/)*?(?P<layer>[^/]+))/(?P<cell>gru|lstm|simple_rnn)_cell(?:_\d+)?/")
_KERAS_KIND = {"gru": "GRU", "lstm": "LSTM", "simple_rnn": "RNN"}
_KERAS_ORDER = {"GRU": (1, 0, 2), "LSTM": (0, 1, 2, 3), "RNN": (0,)}  # torch block k = Keras block ORDER[k]


def _is_stored(name: str, scope: Scope) -> bool:
    where, name = scope.find(name)
    return where is not None and name in where.inits


def keras_cells(scope: Scope, onnx) -> list:
    """Keras LSTM/GRU/SimpleRNN layers that tf2onnx converted into a Loop whose body multiplies by the stored
    ``kernel`` (in, G·H) and ``recurrent_kernel`` (H, G·H): named by their TF variables (``gru_1/gru_cell_1/...``),
    mapped to torch's layout (transposed; GRU gates z, r, h -> r, z, n; Keras' one LSTM bias as bias_ih with a
    zero bias_hh). A GRU with reset_after=False (one bias vector) computes what torch's nn.GRU cannot: said."""
    import numpy as np

    from rnnshape.model.deploy import KIND_OF_OP, OnnxLayer, OnnxRecurrent

    layers: dict[str, dict] = {}
    inputs = {i.name for i in scope.graph.input}
    for node in scope.graph.node:
        for k, name in enumerate(node.input):
            for source in stored(name, scope):
                m = _KERAS_CELL.match(source)
                if not m:
                    continue
                e = layers.setdefault(m["layer"], {"kind": _KERAS_KIND[m["cell"]], "mats": {}, "bias": {},
                                                   "nodes": []})
                if node.op_type == "MatMul" and k == 1:
                    e["mats"][source] = (name, node.input[0] in inputs)
                    e["nodes"].append(node.name or node.output[0])
                elif _is_stored(name, scope):  # the bias itself, not a product that read the kernel
                    e["bias"][source] = name
    out = []
    for layer, e in layers.items():
        kind = KIND_OF_OP[e["kind"]]
        base = dict(prefix=layer, op="MatMul", kind=kind, hidden_size=0, input_size=0, branch=scope.branch,
                    where_named="weight names", layers=tuple(OnnxLayer(n, (), (), None) for n in e["nodes"]))
        try:
            mats = [(Folder(scope, onnx).value(n, "kernel")[0], carried) for n, carried in e["mats"].values()]
            if len(mats) != 2 or any(m.ndim != 2 for m, _ in mats):
                continue
            g = kind.gates
            h = mats[0][0].shape[1] // g
            recurrent = [m for m, carried in mats if m.shape[0] == h and (carried or mats[0][0].shape[0] != h or
                                                                            mats[1][0].shape[0] != h)]
            kernel = [m for m, _ in mats if not any(m is r for r in recurrent[:1])]
            if len(recurrent) < 1 or len(kernel) != 1:
                raise Unreadable("its kernel and recurrent kernel cannot be told apart")
            biases = [Folder(scope, onnx).value(n, "bias")[0] for n in dict.fromkeys(e["bias"].values())]
        except Unreadable as err:
            out.append(OnnxRecurrent(**base, error=f"Keras {e['kind']} layer {layer!r} cannot be read: {err}"))
            continue
        order = [j for b in _KERAS_ORDER[e["kind"]] for j in range(b * h, (b + 1) * h)]
        w_ih, w_hh = kernel[0].T[order], recurrent[0].T[order]
        bias = next((b for b in biases if b.shape in ((g * h,), (2, g * h))), None)
        if kind.value == "gru" and bias is not None and bias.shape == (g * h,):
            out.append(OnnxRecurrent(**base, error=f"Keras GRU layer {layer!r} has reset_after=False (one bias "
                                     f"vector): torch's nn.GRU applies the reset gate after the product, so it "
                                     f"cannot compute this layer"))
            continue
        tensors = {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh}
        if bias is not None:
            pair = (bias[0], bias[1]) if bias.ndim == 2 else (bias, np.zeros_like(bias))
            tensors.update(bias_ih_l0=pair[0][order], bias_hh_l0=pair[1][order])
        acts = ("Relu",) if kind.value == "rnn" and any(n.op_type == "Relu" for n in scope.graph.node) else (
            ("Tanh",) if kind.value == "rnn" else ())
        notes = ("tf2onnx wrote this Keras layer as a Loop of matrix products; Keras' go_backwards, if set, is "
                 "not visible here",) + (("Keras' single LSTM bias is bias_ih; bias_hh is zeros",)
                                         if kind.value == "lstm" and bias is not None else ())
        out.append(OnnxRecurrent(**{**base, "hidden_size": h, "input_size": int(w_ih.shape[1])},
                                 activations=acts, dtype=str(w_ih.dtype), notes=notes,
                                 params=tuple((k, tuple(v.shape)) for k, v in tensors.items()), tensors=tensors))
    return out
