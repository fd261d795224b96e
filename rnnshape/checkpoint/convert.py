"""`inspect --save-state-dict`: the recovered modules' weights, torch-named, in a file torch loads strictly.

Each module is rebuilt in torch with the weights loaded by ``load_state_dict(strict=True)``; where the
source can be evaluated here (onnxruntime for an ONNX node, the TorchScript module itself with --trust)
both run on one random input; then the file is written beside its destination, renamed into place, and
read back bit for bit. What torch cannot compute exactly is refused (:class:`NotExact`, exit 1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rnnshape.checkpoint.inspection import Recovered, inspect_checkpoint
from rnnshape.errors import RnnshapeError, UsageError

if TYPE_CHECKING:
    from rnnshape.checkpoint.files import Checkpoint

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
    input_shape: tuple[int, ...] | None = None  # the random input both were given (layer 0's, layer by layer)
    not_compared: str | None = None  # why the outputs were not compared


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
        done.append(Converted(m.prefix, m.constructor, keys, m.spec.dtype.value, not_compared=compared)
                    if isinstance(compared, str) else Converted(m.prefix, m.constructor, keys, m.spec.dtype.value,
                                                                *compared))
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
    import warnings

    from rnnshape.checkpoint.files import read_tensors

    try:
        with warnings.catch_warnings():  # torch.from_numpy of a read-only array warns; nothing here writes to it
            warnings.simplefilter("ignore", UserWarning)
            return {k: v.detach() for k, v in read_tensors(ckpt.file, names).items()}
    except KeyError as err:
        raise NotExact(f"{ckpt.file}: the reader gives no value for {err.args[0]!r}",
                       hint="this is a bug in rnnshape; please report it") from None


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
    else:  # files.py's header check and reader, which share nothing with the writer above
        from rnnshape.checkpoint.files import read_checkpoint, read_tensors

        read_checkpoint(out)
        back = read_tensors(out)
    if set(back) != set(state) or any(not torch.equal(back[k], v) for k, v in state.items()):
        os.unlink(out)
        raise NotExact(f"{out} did not read back as written; it was removed",
                       hint="this is a bug in rnnshape; please report it")


def _compare(ckpt: Checkpoint, m: Recovered, module, local: dict, trust: bool):
    """(what ran the source, max |diff|, input shape), or why the source cannot run here."""
    if ckpt.format == "onnx":
        return _compare_onnx(ckpt, m, module, local)
    if ckpt.format == "torchscript" and trust:
        return _compare_torchscript(ckpt.file, m, module)
    source = next((s for s in ckpt.sources if s.prefix == m.prefix), None)
    if ckpt.format.startswith("keras") and source is not None:
        return _compare_keras(ckpt.file, m, module, dict(source.settings))
    if ckpt.format == "torchscript":
        return "add --trust to run the TorchScript module itself (that runs the file's code)"
    if ckpt.format.startswith(("pytorch", "pickle", "safetensors")) or ckpt.files:
        return "the source is these torch weights, copied as they are"
    return f"nothing here runs a {ckpt.format} file's function"


def _compare_keras(path: str, m: Recovered, module, settings: dict):
    """The layer by Keras's equations in NumPy (checkpoint.keras.evaluate) beside the converted torch module.

    Keras runs batch-first; go_backwards reads the sequence reversed (torch: x.flip(1)); without
    return_sequences it returns the last step, and a Bidirectional layer's backward half is then the
    state after the whole reversed sequence (torch's output[:, 0] of the reverse direction).
    """
    import numpy as np
    import torch

    from rnnshape.checkpoint import keras

    mod = m.module
    backwards, sequences = settings.get("go_backwards", False), settings.get("return_sequences", False)
    merge = settings.get("merge_mode", "concat")
    if mod.bidirectional and (backwards or merge not in ("concat", "sum", "mul", "ave")):
        return f"a Bidirectional layer with go_backwards or merge_mode={merge!r} is not compared"
    x = np.random.default_rng(0).standard_normal((3, 5, mod.input_size)).astype(np.float32)
    try:
        want = np.asarray(keras.evaluate(path, m.prefix, x))
    except UsageError:  # weights alone: the activations are not recorded, so nothing can be run
        return "the file records no configuration (activations), so the Keras layer cannot be run"
    with torch.no_grad():
        out, _ = module(torch.from_numpy(x).flip(1) if backwards else torch.from_numpy(x))
    out = out.double().numpy()
    h = mod.hidden_size
    if mod.bidirectional:
        fwd, bwd = out[..., :h], out[..., h:]
        if not sequences:
            fwd, bwd = fwd[:, -1], bwd[:, 0]
        got = {"concat": lambda a, b: np.concatenate([a, b], -1), "sum": np.add, "mul": np.multiply,
               "ave": lambda a, b: (a + b) / 2}[merge](fwd, bwd)
    else:
        got = out if sequences else out[:, -1]
    if got.shape != want.shape:
        raise NotExact(f"{m.prefix}: the Keras layer gives {want.shape} where {m.constructor} gives {got.shape}; "
                       f"nothing written", hint="please report it with the file")
    worst = float(np.max(np.abs(got - want))) if want.size else 0.0
    if worst > TOLERANCE * max(1.0, float(np.max(np.abs(want))) if want.size else 1.0):
        raise NotExact(f"{m.prefix}: outputs differ from Keras's equations by up to {worst:.3g} on a random input: "
                       f"not exact; nothing written", hint="please report it with the file")
    return "Keras's equations (NumPy)", worst, x.shape


def _compare_torchscript(path: str, m: Recovered, module):
    """--trust: torch.jit.load the archive (its code runs) and run the submodule at ``m.prefix`` beside ours."""
    import torch

    try:
        sub = torch.jit.load(path, map_location="cpu")
        for part in m.prefix.split(".") if m.prefix else ():
            sub = getattr(sub, part)
        sub.eval()
    except Exception as err:  # the archive's own code failed to load: say so, compare nothing
        raise NotExact(f"--trust: torch.jit.load could not give {m.prefix or 'the top-level module'} "
                       f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); nothing written",
                       hint="drop --trust to convert without running the file") from None
    mod, gen = m.module, torch.Generator().manual_seed(0)
    dtype = getattr(torch, m.spec.dtype.value)
    shape = (3, mod.input_size) if m.cell else ((3, 5, mod.input_size) if mod.batch_first else (5, 3, mod.input_size))
    x = torch.randn(shape, generator=gen).to(dtype)
    # a scripted nn.LSTM/GRU/RNN keeps its two overloads (tensor, packed) as forward__0 and forward__1
    runs = [f for f in (getattr(sub, n, None) for n in ("forward", "forward__0", "forward__1")) if f is not None]
    theirs = None
    with torch.no_grad():
        for run in runs:
            try:
                theirs = run(x)
                break
            except Exception:  # the file's own code (or the packed overload): try the next
                continue
        ours = module(x)
    if theirs is None:
        return f"the TorchScript archive has no forward that runs {m.prefix or 'the module'} alone on a tensor"
    flat_theirs, flat_ours = _tensors(theirs), _tensors(ours)
    if len(flat_theirs) != len(flat_ours) or any(a.shape != b.shape for a, b in zip(flat_theirs, flat_ours)):
        raise NotExact(f"--trust: {m.prefix or 'the module'} returns other shapes than {m.constructor}; "
                       f"nothing written")
    worst = max((float((a.double() - b.double()).abs().max()) for a, b in zip(flat_theirs, flat_ours) if a.numel()),
                default=0.0)
    scale = max([1.0] + [float(b.abs().max()) for b in flat_theirs if b.numel()])
    if worst > TOLERANCE * scale:
        raise NotExact(f"{m.prefix or 'the module'}: outputs differ from the TorchScript module's by up to "
                       f"{worst:.3g}: not exact; nothing written", hint="please report it with the file")
    return "the TorchScript module (--trust)", worst, tuple(shape)


def _tensors(value) -> list:
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return []


def _compare_onnx(ckpt: Checkpoint, m: Recovered, module, local: dict):
    """Run each layer's ONNX node alone in onnxruntime and the same layer in torch, on one random input.

    The node is rebuilt from what the reader recorded (op, hidden_size, direction, activations,
    linear_before_reset, layout) and the stored W, R, B, so a node inside an If or Loop body runs the same.
    """
    import numpy as np
    import torch
    from torch import nn

    grp = next((g for g in ckpt.onnx if g.prefix == m.prefix), None)
    if grp is None or grp.op not in ("LSTM", "GRU", "RNN"):
        return "it was exported as matrix products (a cell, a Loop, unrolled steps), not one recurrent node to run"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "onnxruntime is not installed (pip install 'rnnshape[deploy]')"
    mod = m.module
    rng = np.random.default_rng(0)
    t, n, d, h = 5, 3, mod.directions, mod.hidden_size
    worst, first_shape = 0.0, None
    for k, layer in enumerate(grp.layers):
        weights = layer.arrays  # (W, R, B) as stored, or as the reader folded them from stored constants
        if not weights:
            return f"the weights of ONNX node {layer.node} were not kept to run it"
        width = weights[0].shape[-1]
        if m.cell:  # a cell is the node run for one step: torch's cell on x[0] gives Y_h[0] (and Y_c[0])
            x = rng.standard_normal((1, n, width)).astype(np.float32)
            y_ort = _run_node(grp, weights, x)
            with torch.no_grad():
                state = module(torch.from_numpy(x[0]))
            ours = [s.numpy() for s in (state if isinstance(state, tuple) else (state,))]
            worst = _within(m, k, [(a, b[0]) for a, b in zip(ours, y_ort[1:])], worst)
            first_shape = x.shape[1:]
            continue
        x = rng.standard_normal((n, t, width) if grp.layout else (t, n, width)).astype(np.float32)
        first_shape = first_shape or x.shape
        y_ort = _run_node(grp, weights, x)
        one = getattr(nn, mod.torch_class)(**{**mod.constructor_kwargs(), "input_size": width, "num_layers": 1,
                                              "batch_first": bool(grp.layout), "dropout": 0.0})
        one.load_state_dict({key.replace(f"_l{k}", "_l0"): v for key, v in local.items() if f"_l{k}" in key},
                            strict=True)
        with torch.no_grad():
            y, state = one.eval()(torch.from_numpy(x))
        states = state if isinstance(state, tuple) else (state,)
        y_onnx = y_ort[0].transpose(0, 2, 1, 3) if not grp.layout else y_ort[0]  # (L|N, N|L, D, H)
        ours = [y.numpy().reshape(y_onnx.shape[:2] + (d, h)), *(s.numpy() for s in states)]
        theirs = [y_onnx, *((s.transpose(1, 0, 2) if grp.layout else s) for s in y_ort[1:])]
        worst = _within(m, k, list(zip(ours, theirs)), worst)
    return "onnxruntime, layer by layer", worst, tuple(first_shape)


def _within(m: Recovered, k: int, pairs, worst: float) -> float:
    """The largest |ours - onnxruntime's| so far; beyond the tolerance the conversion is refused."""
    import numpy as np

    for a, b in pairs:
        worst = max(worst, float(np.max(np.abs(a - b))) if a.size else 0.0)
        scale = max(1.0, float(np.max(np.abs(b))) if b.size else 1.0)
        if worst > TOLERANCE * scale:
            raise NotExact(f"{m.prefix or 'the top-level module'}: layer {k}'s outputs differ from onnxruntime's "
                           f"by up to {worst:.3g} on a random input: the conversion is not exact; nothing written",
                           hint="please report it with the file")
    return worst


def _run_node(grp, weights, x):
    import onnx
    import onnxruntime
    from onnx import helper, numpy_helper

    attrs = {"hidden_size": grp.hidden_size, "direction": grp.direction, "layout": grp.layout}
    if grp.activations:
        attrs["activations"] = list(grp.activations)
    if grp.op == "GRU":
        attrs["linear_before_reset"] = grp.linear_before_reset or 0
    names = ["W", "R", "B"]
    inits = [numpy_helper.from_array(w.astype("float32"), name=nm) for nm, w in zip(names, weights) if w is not None]
    outs = ["Y", "Y_h"] + (["Y_c"] if grp.op == "LSTM" else [])
    node = helper.make_node(grp.op, ["X"] + [nm if w is not None else "" for nm, w in zip(names, weights)], outs,
                            **attrs)
    graph = helper.make_graph([node], "layer", [helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, None) for o in outs], inits)
    built = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    session = onnxruntime.InferenceSession(built.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(outs, {"X": x})
