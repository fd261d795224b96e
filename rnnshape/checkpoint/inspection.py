"""`rnnshape inspect`: the recurrent modules a checkpoint file holds, as a frozen result.

>>> import tempfile, os, json, struct
>>> header = json.dumps({"gru.weight_ih_l0": {"dtype": "F32", "shape": [60, 10], "data_offsets": [0, 2400]},
...                      "gru.weight_hh_l0": {"dtype": "F32", "shape": [60, 20], "data_offsets": [2400, 7200]}})
>>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
>>> _ = open(path, "wb").write(struct.pack("<Q", len(header)) + header.encode() + bytes(7200))
>>> [m.constructor for m in inspect_checkpoint(path).modules]
['nn.GRU(input_size=10, hidden_size=20, bias=False)']
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from rnnshape.checkpoint.files import Checkpoint, read_checkpoint
from rnnshape.checkpoint.recover import Recovered, find_modules
from rnnshape.errors import RnnshapeError, UsageError
from rnnshape.model.spec import make_spec
from rnnshape.views.code import constructor as constructor_line

_WRAPPERS = (
    ("module.", "saved from DataParallel or DistributedDataParallel"),
    ("_orig_mod.", "saved from a torch.compile'd model"),
)


@dataclass(frozen=True)
class Inspection:
    checkpoint: Checkpoint
    modules: tuple[Recovered, ...]
    notes: tuple[str, ...]


def inspect_checkpoint(path: str | os.PathLike, prefix: str | None = None) -> Inspection:
    """Read ``path`` and recover every recurrent module in it (only the one under ``prefix`` if given)."""
    ckpt = read_checkpoint(path)
    onnx = {g.prefix: g for g in ckpt.onnx}
    attributes: dict[str, list] = {}
    for where, pairs in ckpt.attributes:
        attributes.setdefault(where, []).extend(pairs)
    modules = tuple(_with_attributes(m, attributes.get(m.prefix, ()), onnx.get(m.prefix))
                    for m in find_modules(ckpt.entries))
    if prefix is not None:
        modules = (select(modules, prefix, ckpt.file),)
    notes = _notes(ckpt)
    if any(m.spec is not None and not m.cell and not {"batch_first", "dropout"} <= set(m.stored) for m in modules):
        notes += ("batch_first and dropout are not stored in a state_dict: the constructors leave them out "
                  "(torch's defaults), the JSON says null, and a module saved with either loads all the same",)
    return Inspection(ckpt, modules, notes)


def select(modules: tuple[Recovered, ...], prefix: str, file: str) -> Recovered:
    for m in modules:
        if m.prefix == prefix:
            return m
    here = ", ".join(repr(m.prefix) for m in modules)
    raise UsageError(
        f"--prefix names no recurrent module in {file} (got {prefix!r})",
        hint=f"the recurrent modules there are {here}" if modules else f"{file} holds no recurrent module",
    )


def location_text(location: tuple[str, ...]) -> str:
    """``checkpoint["model"]["state_dict"]``: how to reach the state_dict in code."""
    return "checkpoint" + "".join(f"[{k!r}]" for k in location)


_NOT_STORED = {
    "batch_first": "a state_dict does not store batch_first: the file says nothing of the input's layout",
    "dropout": "a state_dict does not store dropout (it has no weights)",
    "nonlinearity": "tanh and relu have the same weights: the file does not say which (see candidates)",
}


def not_stored(m: Recovered) -> dict[str, str]:
    """The constructor arguments the file does not record, each with the reason (the JSON shows them null)."""
    if m.spec is None:
        return {}
    if m.cell:
        out = {"batch_first": "a cell takes one time step: batch_first does not apply",
               "dropout": "a cell has no dropout"}
    else:
        out = {k: v for k, v in _NOT_STORED.items() if k != "nonlinearity" and k not in m.stored}
    if m.module.kind.info.takes_nonlinearity and "nonlinearity" not in m.stored:
        out["nonlinearity"] = _NOT_STORED["nonlinearity"]
    return out


def _with_attributes(m: Recovered, attributes, onnx=None) -> Recovered:
    """A pickled module keeps what a state_dict does not: batch_first, dropout, an RNN's nonlinearity.

    An ONNX node records its layout and activations; a reader may add ("untorchable", why) for what the
    source computes that no torch module can (ONNX's own notes on a node say the same).
    """
    if m.spec is None:
        return m
    untorchable = tuple(v for k, v in attributes if k == "untorchable" and isinstance(v, str))
    known = {k: v for k, v in attributes if k != "untorchable"}
    if onnx is not None:
        known.setdefault("batch_first", onnx.layout == 1)
        untorchable += tuple(getattr(onnx, "untorchable", onnx.notes))
    mode = known.pop("mode", None)
    if mode in ("RNN_TANH", "RNN_RELU"):
        known["nonlinearity"] = mode[4:].lower()
    module = m.module
    changes = {k: v for k, v in known.items() if k in ("batch_first", "dropout", "nonlinearity")
               and (k != "nonlinearity" or module.kind.value == "rnn") and (k == "nonlinearity" or not m.cell)}
    if not changes and not untorchable:
        return m
    try:
        spec = make_spec(module.kind, cell=m.cell, input_size=module.input_size, hidden_size=module.hidden_size,
                         num_layers=module.num_layers, bidirectional=module.bidirectional,
                         proj_size=module.proj_size, bias=module.bias, dtype=m.spec.dtype,
                         **{**{"nonlinearity": module.nonlinearity}, **changes})
    except (UsageError, TypeError, ValueError):
        return dataclasses.replace(m, untorchable=untorchable)
    said = ", ".join(f"{k}={v!r}" for k, v in changes.items())
    notes = tuple(n for n in m.notes if "nonlinearity" not in n or "nonlinearity" not in changes)
    module = spec.modules()[0]  # the candidates differ only in the nonlinearity: they show the stored rest too
    candidates = () if "nonlinearity" in changes else tuple(
        dataclasses.replace(c, constructor=constructor_line(dataclasses.replace(module, nonlinearity=c.nonlinearity)))
        for c in m.candidates)
    return dataclasses.replace(m, spec=spec, candidates=candidates,
                               notes=notes + ((f"stored in the file: {said}",) if said else ()),
                               stored=tuple(changes), untorchable=untorchable)


def _notes(ckpt: Checkpoint) -> tuple[str, ...]:
    notes = []
    if len(ckpt.files) > 1:
        notes.append(f"read {len(ckpt.files)} shards: " + ", ".join(os.path.basename(f) for f in ckpt.files))
    elif ckpt.files and ckpt.files[0] != ckpt.file:
        notes.append(f"read {ckpt.files[0]}")
    if ckpt.config:
        said = ", ".join(f"{k}={v!r}" for k, v in ckpt.config)
        notes.append(f"config.json: {said}")
    if ckpt.origin:
        notes.append(f"a {ckpt.origin} checkpoint" + (
            ": the names are the LightningModule's attributes (strip its 'model.' or similar prefix to load "
            "the inner model)" if ckpt.origin.startswith("PyTorch Lightning") else ""))
    if ckpt.format == "onnx":
        notes.append("ONNX keeps each layer as W, R, B in its own gate order: the torch names and shapes "
                     "below are what those tensors map onto (the rows of each are listed at the end)")
    if ckpt.reader == "inert":
        met = ", ".join(ckpt.foreign) if ckpt.foreign else "no other object"
        notes.append(f"read by rnnshape's inert reader: the pickle names {met}; each became an inert "
                     f"stand-in, and nothing in the file was called")
    if ckpt.module_class:
        where = location_text(ckpt.location) if ckpt.location else "the file"
        notes.append(f"{where} is a whole pickled module ({ckpt.module_class}): the names are its state_dict()'s")
    elif ckpt.location:
        notes.append(f"the state_dict is {location_text(ckpt.location)}; load that, not the whole file")
    if ckpt.whole_file:
        notes.append("no state_dict under a common key (state_dict, model, ...): tensors are named by "
                     "their path in the file")
    names = [e.name for e in ckpt.entries]
    for wrapper, why in _WRAPPERS:
        if names and all(n.startswith(wrapper) for n in names):
            notes.append(f"every name starts with {wrapper!r} ({why}): strip it to load into the plain model")
    return tuple(notes)


# ---- --save-state-dict: the recovered modules' weights, torch-named, in a file torch loads strictly ----

_OUT_FORMATS = {".safetensors": "safetensors", ".pt": "pt", ".pth": "pt", ".bin": "pt"}
_ST_CODES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16"}
TOLERANCE = 1e-5  # max |diff| allowed between the source's outputs and the converted module's, times max(1, |y|)


class NotExact(RnnshapeError):
    """The conversion cannot be exact, or the check of it failed: nothing is written (exit 1)."""

    exit_code = 1


@dataclass(frozen=True)
class Converted:
    """One module written: its constructor, the keys it has in the file, and how it was verified."""

    prefix: str
    constructor: str
    keys: tuple[str, ...]
    dtype: str
    compared_with: str | None = None  # what computed the source's outputs (onnxruntime, ...); None: nothing ran
    max_abs_diff: float | None = None
    input_shape: tuple[int, ...] | None = None  # the random input both were given


@dataclass(frozen=True)
class Conversion:
    file: str
    out: str
    format: str  # "safetensors" or "pt"
    modules: tuple[Converted, ...]
    prefixed: bool  # keys keep the module's prefix (several modules in one file)
    notes: tuple[str, ...] = ()


def save_state_dict(path: str | os.PathLike, out: str | os.PathLike, prefix: str | None = None,
                    trust: bool = False) -> Conversion:
    """Write each recovered module's weights (or the one under ``prefix``) as a torch state_dict file.

    Every module is rebuilt in torch, the weights loaded with ``load_state_dict(strict=True)``, and,
    where the source can be evaluated here, both are run on one random input; then the file is written
    and read back. A conversion that cannot be exact raises :class:`NotExact` and writes nothing.
    """
    out = os.fspath(out)
    fmt = _OUT_FORMATS.get(os.path.splitext(out)[1].lower())
    if fmt is None:
        raise UsageError(f"--save-state-dict writes .safetensors or .pt files (got {out!r})",
                         hint="end the name with .safetensors, or .pt for torch.save's format")
    if not os.path.isdir(os.path.dirname(os.path.abspath(out))):
        raise UsageError(f"--save-state-dict: the folder of {out!r} does not exist")
    ins = inspect_checkpoint(path, prefix)
    file = ins.checkpoint.file
    if not ins.modules:
        raise NotExact(f"{file} holds no recurrent module: nothing to convert", hint=f"run rnnshape inspect {file}")
    for m in ins.modules:
        where = f"{m.prefix!r}" if m.prefix else "the top-level module"
        others = "; convert the others with --module NAME" if len(ins.modules) > 1 else ""
        if not m.recognised:
            raise NotExact(f"{where} in {file} is not a module torch builds ({m.reason}): nothing written{others}")
        if m.untorchable:
            raise NotExact(f"{where} in {file} cannot be converted exactly: {m.untorchable[0]}; nothing written"
                           f"{others}")
    values = source_tensors(ins.checkpoint, [e.name for m in ins.modules for e in m.entries])
    prefixed = len(ins.modules) > 1
    state, done = {}, []
    for m in ins.modules:
        local = {e.name[len(m.prefix) + 1 if m.prefix else 0:]: values[e.name] for e in m.entries}
        module = build_module(m, local)
        compared = _compare(ins.checkpoint, m, module, local, trust)
        keys = tuple(f"{m.prefix}.{k}" if prefixed and m.prefix else k for k in local)
        state.update(zip(keys, local.values()))
        done.append(Converted(m.prefix, m.constructor, keys, m.spec.dtype.value, *compared))
    _write(state, out, fmt, {f"rnnshape.module.{c.prefix or '(top level)'}": c.constructor for c in done})
    _read_back(out, fmt, state)
    notes = ()
    if trust and not any(c.compared_with for c in done):
        notes = ("--trust runs a TorchScript file's code; this file has none to run",)
    return Conversion(file, out, fmt, tuple(done), prefixed, notes)


def build_module(m: Recovered, local: dict):
    """The torch module rnnshape prints for ``m``, with ``local`` loaded strictly; a failure is a bug, said so."""
    import torch
    from torch import nn

    mod = m.module
    module = getattr(nn, mod.torch_class)(**mod.constructor_kwargs()).to(getattr(torch, m.spec.dtype.value))
    try:
        module.load_state_dict(local, strict=True)
    except RuntimeError as err:
        raise NotExact(f"{m.constructor} does not take the converted weights: {str(err).splitlines()[-1].strip()}",
                       hint="this is a bug in rnnshape; please report it") from None
    return module.eval()


def source_tensors(ckpt: Checkpoint, names) -> dict:
    """The values of ``names`` (full names, as the checkpoint's entries), as torch tensors in torch's layout."""
    wanted = set(names)
    if ckpt.format == "folder" or len(ckpt.files) > 1:
        out = {}
        for f in ckpt.files:
            part = read_checkpoint(f)
            here = wanted & {e.name for e in part.entries}
            if here:
                out.update(source_tensors(part, here))
        return out
    if ckpt.format == "safetensors":
        return _safetensors_values(ckpt.file, wanted)
    if ckpt.format == "onnx":
        return _onnx_values(ckpt, wanted)
    if ckpt.format in ("pytorch zip", "pytorch legacy", "pickle"):
        return _torch_values(ckpt, wanted)
    raise NotExact(f"rnnshape cannot convert {ckpt.format} files yet ({ckpt.file})")


def _torch_values(ckpt: Checkpoint, wanted: set) -> dict:
    from rnnshape.checkpoint import torchfile, walk

    loaded = torchfile.load_zip(ckpt.file) if ckpt.format == "pytorch zip" else torchfile.load_pickle(ckpt.file)
    found = None if ckpt.whole_file else walk.locate(loaded.obj)
    items = found.state.items() if found is not None else walk.flatten(loaded.obj)
    return {k: v.detach() for k, v in items if k in wanted and walk.is_tensor(v)}


def _safetensors_values(path: str, wanted: set) -> dict:
    import json
    import struct

    import torch

    from rnnshape.checkpoint.safetensors import DTYPES, read_header

    read_header(path)  # refuses a damaged file, with the reason
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        out = {}
        for name in wanted:
            info = header[name]
            begin, end = info["data_offsets"]
            f.seek(8 + n + begin)
            data = bytearray(f.read(end - begin))
            dtype = getattr(torch, DTYPES[info["dtype"]][0])
            out[name] = torch.frombuffer(data, dtype=dtype).reshape(info["shape"]) if data else \
                torch.empty(info["shape"], dtype=dtype)
    return out


def _write(state: dict, out: str, fmt: str, metadata: dict) -> None:
    """Write to a temporary file beside ``out``, then rename: ``out`` is never left half written."""
    import tempfile

    import torch

    folder = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(prefix=".rnnshape-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if fmt == "pt":
                torch.save({k: v.contiguous().clone() for k, v in state.items()}, f)
            else:
                _write_safetensors(f, state, metadata)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_safetensors(f, state: dict, metadata: dict) -> None:
    """The safetensors format: an 8-byte little-endian header length, the JSON header, the raw bytes."""
    import json
    import struct

    import torch

    header, offset = {"__metadata__": {"format": "pt", **metadata}}, 0
    blobs = []
    for name, t in state.items():
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype not in _ST_CODES:
            raise NotExact(f"{name} is {dtype}: rnnshape writes float tensors only")
        data = t.detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": _ST_CODES[dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the data starts 8-byte aligned, as the safetensors library writes it
    f.write(struct.pack("<Q", len(raw)) + raw)
    for data in blobs:
        f.write(data)


def _read_back(out: str, fmt: str, state: dict) -> None:
    """The written file holds exactly ``state``: read it as torch would and compare every tensor bit for bit."""
    import torch

    if fmt == "pt":
        back = torch.load(out, map_location="cpu", weights_only=True)
    else:
        back = _safetensors_values(out, set(state))
    if set(back) != set(state) or any(not torch.equal(back[k], v) for k, v in state.items()):
        os.unlink(out)
        raise NotExact(f"{out} did not read back as written; it was removed",
                       hint="this is a bug in rnnshape; please report it")


def _compare(ckpt: Checkpoint, m: Recovered, module, local: dict, trust: bool):
    """(what ran the source, max |diff|, input shape), or (None, None, None) where the source cannot run here."""
    if ckpt.format == "onnx":
        return _compare_onnx(ckpt, m, module, local)
    return None, None, None


def _onnx_graph(path: str):
    """Every node of the model (subgraphs of If/Loop/Scan included) and every stored tensor, as numpy arrays."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    nodes, arrays = {}, {}

    def walk(graph):
        for init in graph.initializer:
            arrays[init.name] = numpy_helper.to_array(init)
        for node in graph.node:
            nodes.setdefault(node.name or node.output[0], node)
            if node.op_type == "Constant":
                for a in node.attribute:
                    if a.name == "value":
                        arrays[node.output[0]] = numpy_helper.to_array(a.t)
            for a in node.attribute:
                for g in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                    walk(g)

    walk(model.graph)
    return model, nodes, arrays


def _onnx_inputs(node, arrays, index: int):
    name = node.input[index] if len(node.input) > index else ""
    if name and name not in arrays:
        raise NotExact(f"ONNX node {node.name!r} computes its input {name} instead of storing it: rnnshape "
                       f"converts stored weights only")
    return arrays[name] if name else None


def _onnx_values(ckpt: Checkpoint, wanted: set) -> dict:
    import numpy as np
    import torch

    _, nodes, arrays = _onnx_graph(ckpt.file)
    out = {}
    for grp in ckpt.onnx:
        for source in grp.mapping():
            if source.torch not in wanted:
                continue
            tensor = _onnx_inputs(nodes[source.node], arrays, "WRB".index(source.tensor) + 1)[source.direction]
            out[source.torch] = torch.from_numpy(np.ascontiguousarray(
                np.concatenate([tensor[a:b] for a, b in source.rows])))
    return out


def _compare_onnx(ckpt: Checkpoint, m: Recovered, module, local: dict):
    """Run each layer's ONNX node alone in onnxruntime and the same layer in torch, on one random input."""
    import numpy as np
    import torch
    from torch import nn

    try:
        import onnxruntime
    except ImportError:
        return None, None, None
    import onnx

    grp = next(g for g in ckpt.onnx if g.prefix == m.prefix)
    model, nodes, arrays = _onnx_graph(ckpt.file)
    mod = m.module
    rng = np.random.default_rng(0)
    t, n, d, h = 5, 3, mod.directions, mod.hidden_size
    worst, first_shape = 0.0, None
    for k, layer in enumerate(grp.layers):
        node = nodes[layer.node]
        width = layer.W[-1]
        x = rng.standard_normal((n, t, width) if grp.layout else (t, n, width)).astype(np.float32)
        first_shape = first_shape or x.shape
        y_ort = _run_node(onnx, onnxruntime, model, node, arrays, x, grp.op)
        one = getattr(nn, mod.torch_class)(**{**mod.constructor_kwargs(), "input_size": width, "num_layers": 1,
                                              "batch_first": bool(grp.layout), "dropout": 0.0})
        one.load_state_dict({key.replace(f"_l{k}", "_l0"): v for key, v in local.items() if f"_l{k}" in key},
                            strict=True)
        with torch.no_grad():
            y, state = one.eval()(torch.from_numpy(x))
        states = state if isinstance(state, tuple) else (state,)
        y_onnx = y_ort[0].transpose(0, 2, 1, 3) if not grp.layout else y_ort[0]
        ours = [y.numpy().reshape(y_onnx.shape[:2] + (d, h)), *(s.numpy() for s in states)]
        theirs = [y_onnx.reshape(y_onnx.shape[:2] + (d, h)),
                  *((s.transpose(1, 0, 2) if grp.layout else s) for s in y_ort[1:])]
        for a, b in zip(ours, theirs):
            worst = max(worst, float(np.max(np.abs(a - b))) if a.size else 0.0)
            scale = max(1.0, float(np.max(np.abs(b))) if b.size else 1.0)
            if worst > TOLERANCE * scale:
                raise NotExact(f"{m.prefix or 'the top-level module'}: layer {k}'s outputs differ from onnxruntime's "
                               f"by up to {worst:.3g} on a random input: the conversion is not exact; nothing written",
                               hint="please report it with the file")
    return "onnxruntime", worst, tuple(first_shape)


def _run_node(onnx, onnxruntime, model, node, arrays, x, op: str):
    from onnx import helper, numpy_helper

    inputs = [i for i in node.input[1:4]]
    inits = [numpy_helper.from_array(arrays[i].astype("float32"), name=f"p{j}") for j, i in enumerate(inputs) if i]
    names = ["X"] + [f"p{j}" if i else "" for j, i in enumerate(inputs)]
    outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    one = helper.make_node(op, names, outs, domain=node.domain or "")
    one.attribute.extend(node.attribute)
    graph = helper.make_graph([one], "layer", [helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, None) for o in outs], inits)
    opset = [o for o in model.opset_import if o.domain in ("", "ai.onnx")] or [helper.make_opsetid("", 17)]
    built = helper.make_model(graph, opset_imports=opset, ir_version=min(model.ir_version or 8, 10))
    session = onnxruntime.InferenceSession(built.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(outs, {"X": x})
