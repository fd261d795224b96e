"""Recurrent modules in an ONNX graph from any exporter, as torch would name their parameters.

An ONNX recurrent node (LSTM, GRU, RNN) holds one layer, both directions: W ``[D, G·H, input]``, R
``[D, G·H, H]``, B ``[D, 2·G·H]`` (input biases, then recurrent ones), gates in another order than torch's
(ONNX LSTM i, o, f, c where torch has i, f, g, o; ONNX GRU z, r, h where torch has r, z, n). What real files
add, and this reader follows:

- nodes inside subgraphs (``If`` branches, ``Loop`` and ``Scan`` bodies), reported with the branch named;
- W, R, B computed from stored tensors (torch's exporter slices and concatenates the gate blocks of
  ``weight_ih`` when constant folding is off or inside branches): rnnshape.checkpoint.onnxfold evaluates
  them with numpy;
- names: the dynamo exporter's node metadata (``pkg.torch.onnx.name_scopes``), else the names of the stored
  weights the node reads (``decoder.rnn.weight_ih``), else the node's name (``/encoder/rnn/LSTM``);
- cells exported as plain ops (torch writes nn.LSTMCell/GRUCell/RNNCell as Gemm/MatMul + Sigmoid/Tanh):
  found from the stored weights' torch names or the metadata's ``class_hierarchy``;
- nn.RNN that torch's dynamo exporter unrolls (MatMul, Add, Relu/Tanh per time step, no RNN node): rebuilt
  from its steps by rnnshape.checkpoint.onnxfold.unrolled_rnn;
- one node that cannot be read becomes an entry saying which and why; the others are still reported.

Layers of one module are consecutive nodes each reading the previous one's Y; nothing else is merged,
except nodes that run the very same weights (one module called in several branches or steps).
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import replace

from rnnshape.checkpoint.onnxfold import Folder as _Folder
from rnnshape.checkpoint.onnxfold import Scope as _Scope
from rnnshape.checkpoint.onnxfold import Unreadable as _Unreadable
from rnnshape.checkpoint.onnxfold import keras_cells as _keras_cells
from rnnshape.checkpoint.onnxfold import loop_constants as _loop_constants
from rnnshape.checkpoint.onnxfold import plain as _plain
from rnnshape.checkpoint.onnxfold import stored as _stored
from rnnshape.checkpoint.onnxfold import unrolled_rnn as _unrolled_rnn
from rnnshape.errors import EnvironmentUnfit, UsageError
from rnnshape.model.deploy import GATES, KIND_OF_OP, OnnxLayer, OnnxRecurrent

_PASS = {"Squeeze", "Unsqueeze", "Transpose", "Reshape", "Identity", "Dropout", "Cast"}
_DEFAULT_ACTIVATIONS = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh"), "RNN": ("Tanh",)}
_PARAM = re.compile(r"^(?:(?P<prefix>.+)\.)?(?P<param>weight_ih|weight_hh|bias_ih|bias_hh)"
                    r"(?P<sfx>_l(?P<layer>\d+)(?P<rev>_reverse)?)?$")
_INLINE = re.compile(r"(?:F\d+::)?If_\d+_(?:then|else)_branch__Inline_\d+__/?")  # spox's inlined branch names
_CELL_CLASSES = {"LSTMCell": "LSTM", "GRUCell": "GRU", "RNNCell": "RNN"}
_SCOPES, _CLASSES = "pkg.torch.onnx.name_scopes", "pkg.torch.onnx.class_hierarchy"


def read_onnx(path: str):
    """A Checkpoint whose entries are the torch parameters the recurrent modules correspond to."""
    from rnnshape.checkpoint.entries import Checkpoint, Entry

    onnx = _onnx()
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as err:  # protobuf's DecodeError and friends: the file is not a model
        raise UsageError(f"{path} is not a readable ONNX model ({type(err).__name__}: {err})",
                         hint="check that the file was completely written and copied") from None
    groups = read_model(model, os.path.dirname(os.path.abspath(path)))
    entries, attributes = [], []
    for grp in groups:
        entries += [Entry(name, shape, grp.dtype) for name, shape in grp.torch_shapes()]
        stored = ((("nonlinearity", grp.activations[0].lower()),) if grp.kind.value == "rnn" and grp.activations
                  else ()) + ((("batch_first", True),) if grp.layout == 1 else ())
        if stored and grp.error is None:
            attributes.append((grp.prefix, stored))
    return Checkpoint(path, "onnx", (), tuple(entries), reader="onnx", onnx=groups, attributes=tuple(attributes))


def onnx_state_dicts(path: str) -> dict[str, dict]:
    """{module prefix: {torch's local parameter name: numpy array}} for every recurrent module of an ONNX file,
    in torch's gate order and layout: what ``load_state_dict(strict=True)`` takes into the module that
    ``rnnshape inspect`` prints for that prefix. Modules that could not be read are left out (inspect says why).

    >>> import numpy as np, onnx, tempfile, os
    >>> from onnx import helper, numpy_helper
    >>> W, R = np.zeros((1, 12, 5), np.float32), np.zeros((1, 12, 4), np.float32)
    >>> node = helper.make_node("GRU", ["x", "W", "R"], ["y"], name="/enc/gru/GRU", hidden_size=4,
    ...                         linear_before_reset=1)
    >>> x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [3, 1, 5])
    >>> y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    >>> graph = helper.make_graph([node], "g", [x], [y], [numpy_helper.from_array(W, "W"),
    ...                                                  numpy_helper.from_array(R, "R")])
    >>> path = os.path.join(tempfile.mkdtemp(), "m.onnx"); onnx.save(helper.make_model(graph), path)
    >>> {k: v.shape for k, v in onnx_state_dicts(path)["enc.gru"].items()}
    {'weight_ih_l0': (12, 5), 'weight_hh_l0': (12, 4)}
    """
    ckpt = read_onnx(path)
    return {g.prefix: state_dict(g) for g in ckpt.onnx if g.error is None}


def state_dict(g: OnnxRecurrent) -> dict:
    """One module's {local torch name: numpy array}, in torch's gate order (the rows ``g.mapping()`` lists)."""
    import numpy as np

    if g.op not in GATES:
        return {k: np.ascontiguousarray(v) for k, v in g.tensors.items()}
    cut = len(g.prefix) + 1 if g.prefix else 0
    layers = {layer.node: layer for layer in g.layers}
    out = {}
    for m in g.mapping():
        layer = layers[m.node]
        if not layer.arrays:
            raise ValueError(f"the weights of {m.node} were not read")
        tensor = layer.arrays["WRB".index(m.tensor)][m.direction]
        out[m.torch[cut:]] = np.ascontiguousarray(np.concatenate([tensor[a:b] for a, b in m.rows]))
    return out


def read_states(model) -> tuple[tuple[OnnxRecurrent, dict | None], ...]:
    """(module, its state_dict or None when unreadable) for every recurrent module of a ModelProto."""
    return tuple((g, state_dict(g) if g.error is None else None) for g in read_model(model))


def read_model(model, base_dir: str | None = None) -> tuple[OnnxRecurrent, ...]:
    """Every recurrent module of an ONNX ModelProto (its graph and all subgraphs); tensors kept in external
    data files (torch's dynamo exporter writes ``model.onnx.data``) are read from ``base_dir``."""
    onnx = _onnx()
    found: list[OnnxRecurrent] = []
    _walk(_Scope(model.graph, None, "", base_dir), found, onnx)
    return _distinct(found)


# --- walking the graph and its subgraphs ---------------------------------------------------------------

def _walk(scope: _Scope, found: list, onnx) -> None:
    chains: dict[str, int] = {}  # Y of a recurrent node -> its index in found
    for node in scope.graph.node:
        if node.op_type in GATES and node.domain in ("", "ai.onnx"):
            try:
                grp = _recurrent(node, scope, onnx)
            except _Unreadable as err:
                grp = _unreadable(node, scope, str(err))
            source = _through(node.input[0], scope) if node.input else ""
            idx = chains.get(source)
            if idx is not None and grp.error is None and _continues(found[idx], grp):
                prev = found[idx]
                found[idx] = replace(prev, layers=prev.layers + grp.layers,
                                     notes=tuple(dict.fromkeys(prev.notes + grp.notes)))
            else:
                idx = len(found)
                found.append(grp)
            if node.output and node.output[0]:
                chains[node.output[0]] = idx
        for attr in node.attribute:  # If's then/else_branch, Loop's and Scan's body
            subgraphs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else (
                list(attr.graphs) if attr.type == onnx.AttributeProto.GRAPHS else [])
            for sub in subgraphs:
                label = f"{_clean(node.name).strip('/') or node.op_type}.{attr.name.replace('_branch', '')}"
                inner = _Scope(sub, scope, f"{scope.branch}/{label}" if scope.branch else label)
                if node.op_type == "Loop":
                    inner.aliases = _loop_constants(node, sub)
                _walk(inner, found, onnx)
    found.extend(_cells(scope, onnx))
    found.extend(_keras_cells(scope, onnx))


def _through(name: str, scope: _Scope) -> str:
    """Follow shape-only ops back from a node's input to the output of the node that made it."""
    for _ in range(6):
        where, name = scope.find(name)
        node = where.producer.get(name) if where is not None else None
        if node is None or node.op_type not in _PASS or not node.input:
            return name
        name = node.input[0]
    return name


def _clean(name: str) -> str:
    return _INLINE.sub("", name or "")


# --- one recurrent node ------------------------------------------------------------------------------

def _recurrent(node, scope: _Scope, onnx) -> OnnxRecurrent:
    op = node.op_type
    attrs = {a.name: _plain(onnx.helper.get_attribute_value(a)) for a in node.attribute}
    values = []
    for i, role in ((1, "W"), (2, "R"), (3, "B")):
        name = node.input[i] if len(node.input) > i else ""
        if not name:
            if role != "B":
                raise _Unreadable(f"it has no {role} input")
            values.append(None)
            continue
        values.append(_Folder(scope, onnx).value(name, role))
    (w, w_names), (r, r_names) = values[0], values[1]
    b, b_names = values[2] if values[2] is not None else (None, frozenset())
    if w.ndim != 3 or r.ndim != 3 or (b is not None and b.ndim != 2):
        raise _Unreadable(f"W, R, B have {w.ndim}, {r.ndim} and {b.ndim if b is not None else '-'} dimensions "
                          f"(ONNX's {op} takes 3, 3 and 2)")
    direction = str(attrs.get("direction", "forward"))
    hidden = int(attrs.get("hidden_size", r.shape[-1]))
    g = len(GATES[op][0])
    if r.shape[1] != g * hidden or w.shape[1] != g * hidden or r.shape[0] != (2 if direction == "bidirectional"
                                                                              else 1):
        raise _Unreadable(f"W {tuple(w.shape)} and R {tuple(r.shape)} do not fit hidden_size={hidden}, "
                          f"{g} gate blocks, direction {direction}")
    layer = OnnxLayer(node.name or node.output[0], tuple(w.shape), tuple(r.shape),
                      tuple(b.shape) if b is not None else None,
                      inputs=tuple(node.input[1:4]) + ("",) * (4 - len(node.input)),
                      attributes=tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in attrs.items()),
                      arrays=(w, r, b))
    prefix, where, cell = _name(node, scope, w_names | r_names | b_names)
    acts = tuple(str(a) for a in attrs.get("activations", ()))
    directions = 2 if direction == "bidirectional" else 1
    return OnnxRecurrent(
        prefix=prefix, op=op, kind=KIND_OF_OP[op], hidden_size=hidden, input_size=int(w.shape[-1]),
        direction=direction, layers=(layer,), activations=acts or _DEFAULT_ACTIVATIONS[op] * directions,
        linear_before_reset=int(attrs.get("linear_before_reset", 0)) if op == "GRU" else None,
        layout=int(attrs.get("layout", 0)), dtype=str(w.dtype), notes=_notes(node, attrs, acts, direction),
        cell=cell and directions == 1, branch=scope.branch, where_named=where)


def _unreadable(node, scope: _Scope, why: str) -> OnnxRecurrent:
    name = node.name or (node.output[0] if node.output else node.op_type)
    prefix, where, _ = _name(node, scope, frozenset())
    return OnnxRecurrent(prefix=prefix or name, op=node.op_type, kind=KIND_OF_OP[node.op_type], where_named=where,
                         hidden_size=0, input_size=0, layers=(OnnxLayer(name, (), (), None),),
                         branch=scope.branch, error=f"node {name!r} ({node.op_type}) cannot be read: {why}")


def _name(node, scope: _Scope, names: frozenset) -> tuple[str, str, bool]:
    """(module path, where it came from, whether torch's names say a cell) for a node."""
    params = [m for m in (_PARAM.match(n) for n in sorted(names)) if m]
    cell = bool(params) and all(m["sfx"] is None for m in params)
    scopes = _metadata(node, _SCOPES)
    if len(scopes) >= 2 and scopes[-2]:
        return scopes[-2], "metadata scopes", cell
    prefixes = {m["prefix"] or "" for m in params}
    if len(prefixes) == 1:
        return prefixes.pop(), "weight names", cell
    if _node_path(node):
        return _node_path(node), "node names", cell
    # no path anywhere (tf2onnx names nodes LSTM__228): the node's own name, so that no two modules merge
    return _clean(node.name).strip("/") or node.output[0], "node", cell


def _node_path(node) -> str:
    return ".".join(p for p in _clean(node.name).strip("/").split("/")[:-1] if p)


def _metadata(node, key: str) -> list[str]:
    for prop in getattr(node, "metadata_props", ()):
        if prop.key == key:
            try:
                value = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError):
                return []
            return [str(v) for v in value] if isinstance(value, (list, tuple)) else []
    return []


def _notes(node, attrs: dict, acts: tuple[str, ...], direction: str) -> tuple[str, ...]:
    op = node.op_type
    default = _DEFAULT_ACTIVATIONS[op]
    directions = 2 if direction == "bidirectional" else 1
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
    return tuple(notes)


def _continues(prev: OnnxRecurrent, grp: OnnxRecurrent) -> bool:
    if prev.error is not None or prev.cell or grp.cell or prev.branch != grp.branch:
        return False
    # nodes named only by themselves (RNN, RNN_1; LSTM__228) say nothing of their module: the data flow decides
    named = prev.where_named != "node" or grp.where_named != "node"
    same = (prev.op, prev.hidden_size, prev.direction, prev.prefix if named else "", prev.layout, prev.activations,
            prev.linear_before_reset, prev.dtype)
    return same == (grp.op, grp.hidden_size, grp.direction, grp.prefix if named else "", grp.layout,
                    grp.activations, grp.linear_before_reset, grp.dtype)


# --- cells exported as matrix products -----------------------------------------------------------------

def _cells(scope: _Scope, onnx) -> list[OnnxRecurrent]:
    """nn.LSTMCell/GRUCell/RNNCell written as Gemm/MatMul: their stored weights keep torch's cell names
    (``dec.cell.weight_ih``), or the node's metadata names the cell class and its module path."""
    found: dict[str, dict] = {}
    unrolled: dict[str, str] = {}  # module path -> class, for layer modules written as products per step
    for node in scope.graph.node:
        if node.op_type not in ("Gemm", "MatMul") or len(node.input) < 2:
            continue
        classes = _metadata(node, _CLASSES)
        layer_cls = next((c for c in classes if c.rsplit(".", 1)[-1] in GATES and c.startswith("torch.nn.")), None)
        scopes = _metadata(node, _SCOPES)
        if layer_cls and len(scopes) >= 2:
            unrolled.setdefault(scopes[-2], layer_cls.rsplit(".", 1)[-1])
        cls = next((c.rsplit(".", 1)[-1] for c in classes if c.rsplit(".", 1)[-1] in _CELL_CLASSES), None)
        if not cls and not any((m := _PARAM.match(n)) and m["sfx"] is None for n in _stored(node.input[1], scope)):
            continue  # not a cell's product: leave its (maybe large) weight unread
        try:
            weight, names = _Folder(scope, onnx).value(node.input[1], "weight")
        except _Unreadable:
            continue  # a product with a computed operand is not a stored weight
        attrs = {a.name: _plain(onnx.helper.get_attribute_value(a)) for a in node.attribute}
        if weight.ndim != 2:
            continue
        if node.op_type == "MatMul" or not attrs.get("transB", 0):
            weight = weight.T  # torch's linear stores (out, in); MatMul and Gemm without transB take (in, out)
        params = [m for m in (_PARAM.match(n) for n in sorted(names)) if m and m["sfx"] is None]
        scopes = _metadata(node, _SCOPES)
        if params and params[0]["param"].startswith("weight"):
            prefix, param, where = params[0]["prefix"] or "", params[0]["param"], "weight names"
        elif cls and len(scopes) >= 2:
            prefix, param, where = scopes[-2], None, "metadata scopes"
        else:
            continue
        entry = found.setdefault(prefix, {"cls": cls, "where": where, "nodes": [], "weights": {}, "biases": {},
                                          "unnamed": []})
        entry["nodes"].append(node.name or node.output[0])
        entry["cls"] = entry["cls"] or cls
        bias = _bias(node, scope, onnx)
        if param is None:
            entry["unnamed"].append((weight, bias))
        else:
            entry["weights"].setdefault(param, weight)
            if bias is not None:
                entry["biases"].setdefault(param.replace("weight", "bias"), bias[0])
    out = [g for g in (_cell_group(prefix, e, scope) for prefix, e in found.items()) if g is not None]
    for prefix, cls in unrolled.items():  # dropped by _distinct when a recurrent node of that module was found
        nodes = [n for n in scope.graph.node if len(s := _metadata(n, _SCOPES)) >= 2 and s[-2] == prefix]
        out.append(_unrolled_rnn(scope, onnx, prefix, cls, nodes))
    return out


def _bias(node, scope: _Scope, onnx):
    """Gemm's C, when stored: (array, names)."""
    if node.op_type != "Gemm" or len(node.input) < 3 or not node.input[2]:
        return None
    try:
        value, names = _Folder(scope, onnx).value(node.input[2], "bias")
    except _Unreadable:
        return None
    return (value, names) if value.ndim == 1 else None


def _cell_group(prefix: str, e: dict, scope: _Scope) -> OnnxRecurrent | None:
    weights, biases = dict(e["weights"]), dict(e["biases"])
    kind_name = _CELL_CLASSES.get(e["cls"] or "")
    for weight, bias in e["unnamed"]:  # metadata only: tell input from recurrent weights by their shapes
        g = len(GATES[kind_name][0]) if kind_name else None
        if g and weight.shape[0] == g * weight.shape[1] and "weight_hh" not in weights:
            role = "hh"
        elif "weight_ih" not in weights:
            role = "ih"
        else:
            role = "hh"
        weights.setdefault(f"weight_{role}", weight)
        if bias is not None:
            biases.setdefault(f"bias_{role}", bias[0])
    name = ".".join(filter(None, [prefix]))
    node = e["nodes"][0]
    if "weight_hh" not in weights or "weight_ih" not in weights:
        if not kind_name and "weight_hh" not in weights:
            return None  # a lone product named weight_ih: not enough to call it a cell
        have = ", ".join(sorted(weights)) or "no weight"
        return OnnxRecurrent(prefix=name, op="Gemm", kind=KIND_OF_OP[kind_name or "RNN"], hidden_size=0,
                             input_size=0, layers=(OnnxLayer(node, (), (), None),), cell=True,
                             branch=scope.branch, where_named=e["where"],
                             error=f"cell {name or node!r} ({e['cls'] or 'named as a cell'}): only {have} is stored "
                                   f"(the exporter folded the rest away, as it does for a zero initial state)")
    hh, ih = weights["weight_hh"], weights["weight_ih"]
    hidden = int(hh.shape[1])
    g = hh.shape[0] // hidden if hidden else 0
    kind = KIND_OF_OP.get(kind_name or "") or next((KIND_OF_OP[k] for k, v in GATES.items() if len(v[0]) == g), None)
    if kind is None or hh.shape[0] != kind.gates * hidden or ih.shape[0] != hh.shape[0]:
        return None
    tensors = {"weight_ih": ih, "weight_hh": hh}
    if set(biases) == {"bias_ih", "bias_hh"}:
        tensors.update(bias_ih=biases["bias_ih"], bias_hh=biases["bias_hh"])
    acts = _cell_activation(scope, e["nodes"]) if kind.value == "rnn" else ()
    notes = () if acts or kind.value != "rnn" else ("the graph does not say tanh or relu",)
    return OnnxRecurrent(prefix=name, op="Gemm", kind=kind, hidden_size=hidden, input_size=int(ih.shape[1]),
                         layers=tuple(OnnxLayer(n, (), (), None) for n in e["nodes"]), activations=acts,
                         dtype=str(ih.dtype), cell=True, branch=scope.branch, where_named=e["where"],
                         notes=notes, params=tuple((k, tuple(v.shape)) for k, v in tensors.items()),
                         tensors=tensors)


def _cell_activation(scope: _Scope, nodes: list[str]) -> tuple[str, ...]:
    """An RNNCell's nonlinearity: the Tanh or Relu its products' sum flows into."""
    consumers: dict[str, list] = {}
    for n in scope.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    frontier = [o for n in scope.graph.node if (n.name or n.output[0]) in nodes for o in n.output]
    for _ in range(4):
        nxt = []
        for name in frontier:
            for user in consumers.get(name, []):
                if user.op_type in ("Tanh", "Relu"):
                    return (user.op_type,)
                if user.op_type in ("Add", "Sum", "Identity"):
                    nxt += list(user.output)
        frontier = nxt
    return ()


# --- distinct modules ----------------------------------------------------------------------------------

def _distinct(found: list[OnnxRecurrent]) -> tuple[OnnxRecurrent, ...]:
    """One entry per module: nodes that run the same weights are one module's calls; distinct modules that
    share a name are told apart by their branch."""
    out: list[OnnxRecurrent] = []
    read = {g.prefix for g in found if g.error is None}
    found = [g for g in found if not (g.op == "MatMul" and g.error and not g.layers and g.prefix in read)]
    for grp in found:
        twin = next((k for k, o in enumerate(out) if _base(o.prefix) == _base(grp.prefix) and _same_weights(o, grp)),
                    None)
        if twin is not None:
            o = out[twin]
            calls = o.calls + tuple(f"{n} ({grp.branch or 'top level'})" for n in grp.nodes)
            out[twin] = replace(o, calls=calls, prefix=min(o.prefix, grp.prefix, key=len))
            continue
        out.append(grp)
    if len(out) == 1 and out[0].where_named == "node":
        out = [replace(out[0], prefix="")]  # the file's one module, named by no path: the top level
    names = [g.prefix for g in out]
    return tuple(replace(g, prefix=f"{g.prefix}[{_label(g, out)}]") if names.count(g.prefix) > 1 and g.branch else g
                 for g in out)


def _base(prefix: str) -> str:
    """torch's TorchScript exporter names a module's second call ``rnn_1``: the same module as ``rnn``."""
    return re.sub(r"_\d+$", "", prefix)


def _label(g: OnnxRecurrent, groups: list[OnnxRecurrent]) -> str:
    """The outermost branch that tells ``g`` from the other modules of its name, else its whole branch."""
    first = g.branch.split("/")[0]
    others = [o.branch.split("/")[0] for o in groups if o is not g and o.prefix == g.prefix]
    return first if first not in others else g.branch


def _same_weights(a: OnnxRecurrent, b: OnnxRecurrent) -> bool:
    import numpy as np

    if a.error is not None or b.error is not None or a.op != b.op or a.cell != b.cell:
        return False
    if [shape for _, shape in a.torch_shapes()] != [shape for _, shape in b.torch_shapes()]:
        return False
    if a.op not in GATES:
        return all(np.array_equal(a.tensors[k], b.tensors[k]) for k in a.tensors)
    return all(x is y or (x is not None and y is not None and np.array_equal(x, y))
               for la, lb in zip(a.layers, b.layers) for x, y in zip(la.arrays, lb.arrays))


def _onnx():
    try:
        import onnx
    except ImportError:
        raise EnvironmentUnfit("reading .onnx files needs the onnx package, which is not installed",
                               hint="pip install 'rnnshape[onnx]' (or pip install onnx)") from None
    return onnx
