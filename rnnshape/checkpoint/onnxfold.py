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


def _is_stored(name: str, scope: Scope) -> bool:
    where, name = scope.find(name)
    return where is not None and name in where.inits


def keras_cells(scope: Scope, onnx) -> list:
    """Keras LSTM/GRU/SimpleRNN layers that tf2onnx converted into a Loop whose body multiplies by the stored
    ``kernel`` (in, G·H) and ``recurrent_kernel`` (H, G·H): named by their TF variables (``gru_1/gru_cell_1/...``),
    mapped to torch's layout (transposed; GRU gates z, r, h -> r, z, n; Keras' one LSTM bias as bias_ih with a
    zero bias_hh). A GRU with reset_after=False (one bias vector) computes what torch's nn.GRU cannot: said."""
    import numpy as np

    from rnnshape.checkpoint.keras import TORCH_FROM_KERAS
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
        order = [j for b in TORCH_FROM_KERAS[kind.value] for j in range(b * h, (b + 1) * h)]
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


def unrolled_rnn(scope: Scope, onnx, prefix: str, cls: str, nodes: list):
    """A layer module (``cls``: RNN, GRU, LSTM) the exporter wrote as products per time step, ``nodes`` its own
    (its metadata scope): nn.RNN rebuilt from its steps (``_rnn_steps``); anything else, or anything not read
    exactly, an entry that says so."""
    from rnnshape.model.deploy import KIND_OF_OP, OnnxLayer, OnnxRecurrent

    base = dict(prefix=prefix, op="MatMul", kind=KIND_OF_OP[cls], hidden_size=0, input_size=0, branch=scope.branch,
                where_named="metadata scopes")
    why = "rnnshape rebuilds only nn.RNN from its unrolled steps"
    if cls == "RNN":
        try:
            read = _rnn_steps(scope, onnx, nodes)
        except Unreadable as err:
            why = str(err)
        else:
            t = read["tensors"]
            steps = sum(n.op_type == read["act"] for n in nodes) // (len(read["nodes"]) + len(read["calls"]))
            return OnnxRecurrent(**{**base, "hidden_size": int(t["weight_hh_l0"].shape[0]),
                                    "input_size": int(t["weight_ih_l0"].shape[1])},
                                 direction="bidirectional" if read["bidirectional"] else "forward",
                                 layers=tuple(OnnxLayer(n, (), (), None) for n in read["nodes"]),
                                 activations=(read["act"],), layout=read["layout"], dtype=str(t["weight_ih_l0"].dtype),
                                 notes=(f"unrolled into {steps} time steps of MatMul, Add and {read['act']} (no RNN "
                                        f"node): weights read from each layer's and direction's products",),
                                 params=tuple((k, tuple(v.shape)) for k, v in t.items()), tensors=t,
                                 calls=tuple(f"{c} ({scope.branch or 'top level'})" for c in read["calls"]))
    return OnnxRecurrent(**base, error=f"{prefix} (nn.{cls}) was exported unrolled, as matrix products per time "
                                       f"step with no {cls} node; {why}")


def _rnn_steps(scope: Scope, onnx, nodes: list) -> dict:
    """An nn.RNN that torch's dynamo exporter wrote unrolled (it writes no ONNX RNN node for it): per layer and
    direction one MatMul of the whole input by ``weight_ih`` (stored transposed, ``val_23 (in, H)``) plus
    ``bias_ih``, cut into steps (``flip``-ped first for ``_reverse``), and per step a MatMul of the previous
    Relu/Tanh by ``weight_hh`` plus ``bias_hh``, added, then Relu/Tanh. The biases keep torch's names, the
    weights do not: layers and directions come from the data flow in the exporter's order (l0, l0_reverse,
    l1, ...), checked against the bias names; batch_first from the Transpose of the input. Returns
    {"tensors": torch's local names -> arrays, "act", "nodes", "layout", "bidirectional", "calls": the input
    products of the module's later calls}; anything not read exactly is ``Unreadable``."""
    import numpy as np

    users: dict[str, list] = {}
    for n in nodes:
        for i in n.input:
            users.setdefault(i, []).append(n)
    acts = {n.op_type for n in nodes if n.op_type in ("Relu", "Tanh")}
    act_out = {o for n in nodes if n.op_type in acts for o in n.output}
    products = [n for n in nodes if n.op_type == "MatMul" and len(n.input) == 2]
    recurrent = {n.input[1] for n in products if n.input[0] in act_out}
    chains = [n for n in products if n.input[1] not in recurrent]
    if len(acts) != 1 or not chains:
        raise Unreadable(f"its steps apply {' and '.join(sorted(acts)) or 'no Relu or Tanh'} "
                         f"({len(chains)} input products)")
    fold = Folder(scope, onnx)
    found = []  # per input product: (flipped, W_ih, W_hh, b_ih, b_hh)
    for node in chains:
        flipped, reached, todo, seen = False, set(), [node.output[0]], set()
        while todo:  # forward from the input product to each step's activation, whose next product reads W_hh
            for user in users.get(todo.pop(), []):
                if id(user) in seen:
                    continue
                seen.add(id(user))
                if user.op_type in acts:
                    reached.update(m.input[1] for o in user.output for m in users.get(o, [])
                                   if m.op_type == "MatMul" and m.input[1] in recurrent)
                    continue
                if user.op_type == "Slice" and len(user.input) > 4 and user.input[4]:
                    flipped |= bool((fold.value(user.input[4], "steps")[0] < 0).any())
                todo.extend(user.output)
        if len(reached) != 1:
            raise Unreadable(f"the steps after its product {node.name!r} read {len(reached)} recurrent weights, "
                             f"not 1 (with a single time step the exporter folds weight_hh away)")
        hh = reached.pop()
        w_ih, w_hh = (np.array(fold.value(n, role)[0].T) for n, role in ((node.input[1], "weight_ih"),
                                                                         (hh, "weight_hh")))
        b_hh = [_bias(m.output[0], users, fold) for m in products if m.input[1] == hh and m.input[0] in act_out]
        same = all(b is None if b_hh[0] is None else b is not None and b[1] == b_hh[0][1] and
                   np.array_equal(b[0], b_hh[0][0]) for b in b_hh)
        found.append((flipped, w_ih, w_hh, _bias(node.output[0], users, fold), b_hh[0] if same else ("several",)))
    keys = [(w_ih.tobytes(), w_hh.tobytes()) for _, w_ih, w_hh, *_ in found]
    n = len(dict.fromkeys(keys))  # a module called several times runs the same products again, in order
    if keys != keys[:n] * (len(keys) // n):
        raise Unreadable("its products reuse weights in an order that no call of one module gives")
    found, calls = found[:n], [c.name or c.output[0] for c in chains[n:]]
    flips = [f for f, *_ in found]
    d = 2 if any(flips) else 1
    if d == 2 and flips != [False, True] * (len(found) // 2):
        raise Unreadable("its forward and reverse products do not alternate as torch's exporter writes them")
    h = int(found[0][2].shape[0])
    tensors: dict = {}
    for k, (_, w_ih, w_hh, b_ih, b_hh) in enumerate(found):
        sfx = f"_l{k // d}" + ("_reverse" if k % d else "")
        if w_ih.ndim != 2 or w_hh.shape != (h, h) or w_ih.shape[0] != h or (k >= d and w_ih.shape[1] != d * h):
            raise Unreadable(f"its products for {sfx[1:]} read weights {tuple(w_ih.shape)} and "
                             f"{tuple(w_hh.shape)} (hidden_size {h}, {d} direction{'s' if d > 1 else ''})")
        tensors[f"weight_ih{sfx}"], tensors[f"weight_hh{sfx}"] = w_ih, w_hh
        for param, bias in (("bias_ih", b_ih), ("bias_hh", b_hh)):
            if bias is None:
                continue
            if len(bias) != 2 or bias[0].shape != (h,):
                raise Unreadable(f"the products of {sfx[1:]} add several different {param} vectors")
            names = {n.rsplit(".", 1)[-1] for n in bias[1]}
            if names and f"{param}{sfx}" not in names:
                raise Unreadable(f"the {param}{sfx} position reads {', '.join(sorted(names))}")
            tensors[f"{param}{sfx}"] = np.array(bias[0])
    if len([k for k in tensors if k.startswith("bias")]) not in (0, 2 * len(found)):
        raise Unreadable("only some of its biases are stored")
    first = scope.producer.get(chains[0].input[0])
    layout = int(first is not None and first.op_type == "Transpose"
                 and first.output[0] in {o for n in nodes for o in n.output}
                 and list(next((plain(onnx.helper.get_attribute_value(a)) for a in first.attribute
                                if a.name == "perm"), [])) == [1, 0, 2])
    return {"tensors": tensors, "act": acts.pop(), "nodes": [c.name or c.output[0] for c in chains[:n]],
            "layout": layout, "bidirectional": d == 2, "calls": calls}


def _bias(name: str, users: dict, fold: Folder):
    """The stored vector added to a product's output: (array, names), or None."""
    for user in users.get(name, []):
        if user.op_type != "Add":
            continue
        other = user.input[1] if user.input[0] == name else user.input[0]
        try:
            value, names = fold.value(other, "bias")
        except Unreadable:
            continue
        if value.ndim == 1:
            return value, frozenset(names)
    return None
