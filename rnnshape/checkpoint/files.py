"""Read the tensor names and shapes of a model file, safely, without keeping its data or running its code.

The kind of file is told by its first bytes (and, where bytes cannot tell, its name), then one reader gives
every tensor a torch name in torch's layout, so that recovery finds modules the same way in each format:

- torch.save files (.pt, .pth, .bin, .ckpt) and plain pickles, and TorchScript archives (torch.jit.save):
  ``rnnshape.checkpoint.torchfile``, through torch's restricted reader or rnnshape's inert one, which
  replaces every object a pickle names with a stand-in and never calls anything (``checkpoint.inert``);
- .safetensors from their JSON header, NumPy .npy/.npz from their array headers (here);
- Keras .keras, .h5 and .weights.h5 with h5py (``checkpoint.keras``), .onnx with the onnx package
  (``checkpoint.onnxfile``); Hugging Face folders and sharded weights through their index (``checkpoint.entries``).

TensorFlow SavedModel folders, .tflite and frozen .pb graphs are named and refused with what to do.

>>> import tempfile, os, json, struct
>>> header = json.dumps({"rnn.weight_ih_l0": {"dtype": "F16", "shape": [8, 4], "data_offsets": [0, 64]}})
>>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
>>> _ = open(path, "wb").write(struct.pack("<Q", len(header)) + header.encode() + bytes(64))
>>> read_checkpoint(path).entries
(Entry(name='rnn.weight_ih_l0', shape=(8, 4), dtype='float16'),)
"""

from __future__ import annotations

import json
import os
import re
import struct
from math import prod

from rnnshape.checkpoint.entries import Checkpoint, Entry, SourceModule
from rnnshape.errors import UsageError

__all__ = ["Checkpoint", "Entry", "SourceModule", "detect", "read_checkpoint", "read_tensors"]


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Every tensor's name, shape and dtype; any file that is not a readable model file is a UsageError."""
    path = os.fspath(path)
    fmt = detect(path)
    if fmt == "folder":
        from rnnshape.checkpoint.entries import read_folder

        return read_folder(path, read_checkpoint)
    if fmt == "onnx":
        from rnnshape.checkpoint.onnxfile import read_onnx

        return read_onnx(path)
    if fmt in ("safetensors", "npy", "npz"):
        return _read_arrays(path, fmt)
    if fmt in ("keras", "hdf5"):
        from rnnshape.checkpoint import keras

        return keras.read(path)
    from rnnshape.checkpoint import torchfile

    return torchfile.read(path, fmt)


def read_tensors(path: str | os.PathLike, names=None) -> dict:
    """The values of ``read_checkpoint(path).entries``, by the same names, as CPU torch tensors.

    They are in torch's layout and gate order whatever the format (a Keras kernel transposed, its gates
    and biases rearranged, a NumPy array under the torch name it was recognised by), so the tensors under
    one recovered module's prefix are what ``load_state_dict(strict=True)`` takes, once the prefix is cut.
    ``names`` (an iterable) keeps only those; a name the file does not have is a KeyError.
    """
    path = os.fspath(path)
    wanted = None if names is None else list(names)
    fmt = detect(path)
    if fmt == "folder":
        out = {}
        for file in read_checkpoint(path).files:
            out.update(read_tensors(file))
    elif fmt == "onnx":
        import numpy as np
        import torch

        from rnnshape.checkpoint.onnxfile import onnx_state_dicts  # {prefix: {local name: numpy array}}

        out = {(f"{prefix}.{name}" if prefix else name): torch.from_numpy(np.ascontiguousarray(value))
               for prefix, state in onnx_state_dicts(path).items() for name, value in state.items()}
    elif fmt in ("safetensors", "npy", "npz"):
        out = _array_tensors(path, fmt)
    elif fmt in ("keras", "hdf5"):
        from rnnshape.checkpoint import keras

        out = keras.tensors(path)
    else:
        from rnnshape.checkpoint import torchfile

        out = torchfile.tensors(path, fmt)
    if wanted is None:
        return out
    return {name: out[name] for name in wanted}


# --- telling formats apart --------------------------------------------------------------------------------

_ZIP = b"PK\x03\x04"
_PICKLE = b"\x80"
_HDF5 = b"\x89HDF\r\n\x1a\n"
_NPY = b"\x93NUMPY"
_READS = ("rnnshape inspect reads files written by torch.save (.pt, .pth, .bin, .ckpt), TorchScript (.jit, "
          ".pt), .safetensors, .onnx, Keras (.keras, .h5, .weights.h5) and NumPy (.npz, .npy) files, and "
          "Hugging Face model folders")
_TO_ONNX = "convert it to ONNX with tf2onnx ({}) and inspect the .onnx file"


def detect(path: str) -> str:
    """The reader for ``path``: folder, onnx, safetensors, npy, npz, keras, hdf5, torchscript, torch zip, pickle."""
    if os.path.isdir(path):
        _refuse_tensorflow_folder(path)
        return "folder"
    if path.endswith(".index.json"):
        return "folder"
    head = _head(path)
    lower = path.lower()
    if lower.endswith(".tflite") or head[4:8] == b"TFL3":
        raise UsageError(f"{path} is a TensorFlow Lite model (.tflite): rnnshape reads no TensorFlow format",
                         hint=_TO_ONNX.format(f"python -m tf2onnx.convert --tflite {path} --output model.onnx")
                         + ", or the Keras model it was converted from")
    if lower.endswith(".onnx") or _looks_like_onnx(head):
        return "onnx"
    if lower.endswith(".pb"):
        _refuse_pb(path)
    if lower.endswith(".index") and os.path.isfile(path[: -len(".index")] + ".data-00000-of-00001"):
        raise UsageError(f"{path} is a TensorFlow checkpoint index (its values are in .data-* files beside it): "
                         f"rnnshape reads no TensorFlow format",
                         hint="restore it in TensorFlow and save the Keras model as .keras or .h5, then inspect that")
    if looks_like_safetensors(head):
        return "safetensors"
    if head.startswith(_HDF5):
        return "hdf5"
    if head.startswith(_NPY):
        return "npy"
    if head.startswith(_ZIP):
        return _zip_kind(path)
    if head.startswith(_PICKLE) or lower.endswith((".pkl", ".pickle")):  # protocol 0/1 have no header
        return "pickle"
    raise UsageError(f"{path} is not a PyTorch checkpoint or a safetensors file, nor another format rnnshape "
                     f"reads: {_what(head)} (it starts with {head[:8]!r})", hint=_READS)


def _what(head: bytes) -> str:
    if head.startswith(b"\x1f\x8b"):
        return "it is gzip-compressed (unpack it first)"
    if head.lstrip()[:1] in (b"{", b"["):
        return "it looks like JSON (a model's configuration holds no weights)"
    return "an unknown format"


def _refuse_tensorflow_folder(path: str) -> None:
    names = set(os.listdir(path)) if os.access(path, os.R_OK) else set()
    if {"saved_model.pb", "saved_model.pbtxt"} & names:
        raise UsageError(f"{path} is a TensorFlow SavedModel folder: rnnshape reads no TensorFlow format",
                         hint=_TO_ONNX.format(f"python -m tf2onnx.convert --saved-model {path} --output model.onnx")
                         + ", or save the Keras model with model.save('model.keras')")


def _refuse_pb(path: str) -> None:
    folder = os.path.dirname(path) or "."
    if os.path.basename(path) in ("saved_model.pb", "saved_model.pbtxt") or os.path.isdir(
            os.path.join(folder, "variables")):
        raise UsageError(f"{path} is the graph of a TensorFlow SavedModel ({folder}): rnnshape reads no "
                         f"TensorFlow format",
                         hint=_TO_ONNX.format(f"python -m tf2onnx.convert --saved-model {folder} --output model.onnx"))
    raise UsageError(f"{path} is a TensorFlow protobuf graph (.pb, a frozen GraphDef): rnnshape reads no "
                     f"TensorFlow format",
                     hint=_TO_ONNX.format(f"python -m tf2onnx.convert --graphdef {path} --inputs IN:0 "
                                          f"--outputs OUT:0 --output model.onnx"))


def _looks_like_onnx(head: bytes) -> bool:
    """An ONNX ModelProto starts with field 1 (ir_version, a small varint), then a length-delimited field."""
    return len(head) >= 3 and head[0] == 0x08 and head[1] < 0x80 and head[2] in (0x12, 0x1A, 0x22, 0x2A, 0x3A, 0x42)


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a checkpoint file") from None
    except PermissionError:
        raise UsageError(f"{path} cannot be read: permission denied") from None
    except OSError as err:
        raise UsageError(f"{path} cannot be read: {err.strerror or err}") from None
    if not head:
        raise UsageError(f"{path} is empty (0 bytes): not a checkpoint")
    return head


def _zip_kind(path: str) -> str:
    """A zip is a torch.save file (``<name>/data.pkl``), a TorchScript archive, a .keras file or an .npz."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise UsageError(f"{path} is truncated or corrupt: it starts as a zip archive, as torch.save, Keras and "
                         f"NumPy write, but cannot be read as one ({err})",
                         hint="check that the file was completely written and copied") from None
    if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
        return "torchscript"
    if "model.weights.h5" in names or "config.json" in names:
        return "keras"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    if any(n.endswith("data.pkl") for n in names):
        return "torch zip"
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    raise UsageError(f"{path} is a zip archive ({shown}) but no model file rnnshape reads: it has no data.pkl "
                     f"(torch.save), model.weights.h5 (Keras) or .npy arrays (NumPy)", hint=_READS)




# --- safetensors and NumPy: shapes from the headers ----------------------------------------------------------
# safetensors: 8 bytes little-endian header length N, then N bytes of JSON mapping each tensor name to
# {"dtype", "shape", "data_offsets": [begin, end]} (plus an optional "__metadata__"), then the data.
# NumPy: np.save writes a magic string, a version and a Python-literal header {'descr': '<f4', 'fortran_order':
# False, 'shape': (768, 256)}; np.savez zips one NAME.npy per array. The names are the writer's own, so recurrent
# weights are recognised by torch-style names (rnn.weight_ih_l0, or short ones such as enc_w_ih / enc_b_hh, given
# torch's names here) or, failing names, by shape: a matrix (G·H, H), G = 3 (GRU) or 4 (LSTM), beside another
# (G·H, in) and G·H vectors is taken for a cell, and said to be a guess. Arrays of pickled objects are never loaded.

MAX_HEADER = 100_000_000  # the safetensors library refuses larger headers too

DTYPES = {  # safetensors code -> (torch name, bytes per element)
    "F64": ("float64", 8), "F32": ("float32", 4), "F16": ("float16", 2), "BF16": ("bfloat16", 2),
    "F8_E4M3": ("float8_e4m3fn", 1), "F8_E5M2": ("float8_e5m2", 1),
    "I64": ("int64", 8), "I32": ("int32", 4), "I16": ("int16", 2), "I8": ("int8", 1),
    "U64": ("uint64", 8), "U32": ("uint32", 4), "U16": ("uint16", 2), "U8": ("uint8", 1), "BOOL": ("bool", 1),
}


def looks_like_safetensors(head: bytes) -> bool:
    """True when the first bytes start a safetensors header (8-byte length, then a JSON object).

    A length past the end of the file still counts: that is a truncated or corrupt safetensors file,
    and read_header says so, rather than "not a checkpoint".
    """
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return n >= 2 and head[8:9] == b"{"


def read_header(path: str) -> tuple[tuple[str, tuple[int, ...], str], ...]:
    """``(name, shape, dtype)`` per tensor, in file order; a damaged file is a UsageError naming the damage."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise UsageError(f"{path} is truncated: a safetensors file starts with an 8-byte header length")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER or n > size - 8:
            raise UsageError(f"{path} is truncated or corrupt: its header claims {n:,} bytes but the file "
                             f"has {size - 8:,} after the length")
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"{path} has a corrupt safetensors header: {err}") from None
    if not isinstance(header, dict):
        raise UsageError(f"{path} has a corrupt safetensors header: expected a JSON object")
    data_size = size - 8 - n
    return tuple(_entry(path, name, info, data_size) for name, info in header.items() if name != "__metadata__")


def _entry(path: str, name: str, info, data_size: int) -> tuple[str, tuple[int, ...], str]:
    bad = f"{path} has a corrupt safetensors header: tensor {name!r}"
    if not isinstance(info, dict):
        raise UsageError(f"{bad} is not described by an object")
    shape, dtype, offsets = info.get("shape"), info.get("dtype"), info.get("data_offsets")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                              for d in shape):
        raise UsageError(f"{bad} has no valid shape (got {shape!r})")
    if dtype not in DTYPES:
        raise UsageError(f"{bad} has an unknown dtype (got {dtype!r})")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]):
        raise UsageError(f"{bad} has invalid data_offsets (got {offsets!r})")
    torch_name, itemsize = DTYPES[dtype]
    if offsets[1] - offsets[0] != prod(shape) * itemsize:
        raise UsageError(f"{bad} has {offsets[1] - offsets[0]:,} bytes of data for shape {tuple(shape)} {dtype}")
    if offsets[1] > data_size:
        raise UsageError(f"{path} is truncated: tensor {name!r} ends at byte {offsets[1]:,} of the data, "
                         f"but only {data_size:,} bytes are there")
    return name, tuple(shape), torch_name


def _read_arrays(path: str, fmt: str) -> Checkpoint:
    """The Checkpoint of a .safetensors, .npy or .npz file, from the headers alone."""
    if fmt == "safetensors":
        return Checkpoint(path, "safetensors", (), tuple(Entry(*e) for e in read_header(path)))
    arrays = _numpy_headers(path, fmt)
    names, sources = _torch_names([(name, shape) for name, shape, _ in arrays])
    entries = tuple(Entry(names.get(name, name), shape, dtype) for name, shape, dtype in arrays)
    fmt_name = "numpy .npz" if fmt == "npz" else "numpy .npy"
    notes = ("NumPy arrays: the file names no module, so recurrent weights were recognised by their names or "
             "shapes and given torch's names (each module says which arrays)",) if sources else ()
    return Checkpoint(path, fmt_name, (), entries, reader="header", notes=notes, sources=sources)


def _array_tensors(path: str, fmt: str) -> dict:
    """name -> CPU tensor, by the names ``read`` gives (safetensors by offset; NumPy arrays without pickle)."""
    import torch

    out = {}
    if fmt == "safetensors":
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
            base = 8 + n
            for name, info in header.items():
                if name == "__metadata__":
                    continue
                begin, end = info["data_offsets"]
                f.seek(base + begin)
                raw = bytearray(f.read(end - begin))
                dtype = getattr(torch, DTYPES[info["dtype"]][0])
                out[name] = (torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)).reshape(
                    info["shape"])
        return out
    import numpy as np

    arrays = _numpy_headers(path, fmt)
    names, _ = _torch_names([(name, shape) for name, shape, _ in arrays])
    for name, stream in _npy_streams(path, fmt):
        with stream:
            array = np.lib.format.read_array(stream, allow_pickle=False)
        out[names.get(name, name)] = torch.from_numpy(np.ascontiguousarray(array))
    return out


def _npy_streams(path: str, fmt: str):
    """(array name, open binary stream) per array: the .npz members, or the .npy file itself."""
    if fmt == "npy":
        yield os.path.splitext(os.path.basename(path))[0], open(path, "rb")
        return
    import zipfile

    with zipfile.ZipFile(path) as z:
        for member in z.namelist():
            yield member.removesuffix(".npy"), z.open(member)


def _numpy_headers(path: str, fmt: str) -> list[tuple[str, tuple[int, ...], str]]:
    import numpy as np

    out = []
    try:
        for name, stream in _npy_streams(path, fmt):
            with stream:
                version = np.lib.format.read_magic(stream)
                read_header_of = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                  else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header_of(stream)
            if dtype.hasobject:
                raise UsageError(f"{path}: the array {name!r} holds pickled Python objects, which rnnshape never "
                                 f"loads (np.load would need allow_pickle=True)",
                                 hint="save the weights as plain numeric arrays (np.savez(**arrays))")
            out.append((name, tuple(int(d) for d in shape), _torch_dtype(dtype)))
    except UsageError:
        raise
    except Exception as err:  # a damaged header: numpy says which part
        raise UsageError(f"{path} is not a readable NumPy {'.npz archive' if fmt == 'npz' else '.npy file'}: "
                         f"{err}", hint="check that the file was completely written and copied") from None
    return out


def _torch_dtype(dtype) -> str:
    names = {"f8": "float64", "f4": "float32", "f2": "float16", "i8": "int64", "i4": "int32", "i2": "int16",
             "i1": "int8", "u1": "uint8", "b1": "bool"}
    return names.get(f"{dtype.kind}{dtype.itemsize}", str(dtype))


_TORCH_NAME = re.compile(r"^(?:.+\.)?(?:weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)(?:_l\d+(?:_reverse)?)?$")
_SHORT_NAME = re.compile(r"^(?P<prefix>.*?)[._/-]?(?P<p>w|weight|b|bias)[._]?(?P<m>ih|hh|hr)"
                         r"(?P<sfx>_l\d+(?:_reverse)?)?$")


def _torch_names(arrays):
    """({array name: torch name}, SourceModules) for the arrays taken for recurrent weights."""
    names: dict[str, str] = {}
    sources = []
    short: dict[str, list[str]] = {}
    for name, _ in arrays:
        if _TORCH_NAME.match(name):
            continue
        m = _SHORT_NAME.match(name)
        if m:
            prefix = re.sub(r"[/\-]", ".", m["prefix"].strip("._/-")) or "rnn"
            param = ("weight_" if m["p"].startswith("w") else "bias_") + m["m"]
            names[name] = f"{prefix}.{param}{m['sfx'] or ''}"
            short.setdefault(prefix, []).append(name)
    for prefix, held in short.items():
        sources.append(SourceModule(prefix, "arrays " + ", ".join(held),
                                    notes=(f"named from the arrays {', '.join(held)} (torch-style short names)",)))
    if not short and not any(_TORCH_NAME.match(n) for n, _ in arrays):
        guessed_names, guessed_sources = _guess_by_shape(arrays)
        names.update(guessed_names)
        sources += guessed_sources
    return names, tuple(sources)


def _guess_by_shape(arrays):
    """Cells told from shapes alone: (G·H, H) for weight_hh, (G·H, in) before it, G·H vectors after."""
    names, sources, used = {}, [], set()
    shapes = dict(arrays)
    order = [n for n, _ in arrays]
    for i, name in enumerate(order):
        shape = shapes[name]
        if name in used or len(shape) != 2 or shape[1] < 1 or shape[0] % shape[1] or shape[0] // shape[1] not in (3, 4):
            continue
        rows, hidden = shape
        ih = next((n for n in reversed(order[:i]) if n not in used and len(shapes[n]) == 2 and shapes[n][0] == rows),
                  None)
        hh = name
        if ih is None:  # weight_ih after weight_hh (when in == H the first of the two is taken for weight_ih)
            ih = next((n for n in order[i + 1:] if n not in used and len(shapes[n]) == 2 and shapes[n][0] == rows),
                      None)
            if ih is None:
                continue
            if shapes[ih] == shape:
                ih, hh = hh, ih
        biases = [n for n in order[max(order.index(ih), order.index(hh)) + 1:]
                  if n not in used and shapes[n] == (rows,)][:2]
        prefix = _stem(ih, hh) or f"rnn{len(sources)}"
        kind = {3: "GRU", 4: "LSTM"}[rows // hidden]
        held = [ih, hh, *biases]
        for n, param in zip(held, ("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
            names[n] = f"{prefix}.{param}"
        used.update(held)
        sources.append(SourceModule(
            prefix, "arrays " + ", ".join(held), guessed=True,
            notes=(f"a guess from the shapes alone: {hh} {shapes[hh]} has {rows} = {rows // hidden}·{hidden} rows, "
                   f"as a {kind} cell's weight_hh; taken as weight_ih, weight_hh"
                   + (", bias_ih, bias_hh" if len(biases) == 2 else ", bias_ih" if biases else "")
                   + f": {', '.join(held)} (the gate order is assumed to be torch's)",)))
    return names, sources


def _stem(a: str, b: str) -> str:
    common = os.path.commonprefix([a, b])
    return re.sub(r"[/\-]", ".", common.rstrip("._/-")) if len(common) < min(len(a), len(b)) else ""
