"""Read the tensor names and shapes of a model file, safely, without keeping its data or running its code.

The kind of file is told by its first bytes (and, where bytes cannot tell, its name), then one reader gives
every tensor a torch name in torch's layout, so that recovery finds modules the same way in each format:

- torch.save files (.pt, .pth, .bin, .ckpt) and plain pickles, and TorchScript archives (torch.jit.save):
  ``rnnshape.checkpoint.torchfile``, through torch's restricted reader or rnnshape's inert one, which
  replaces every object a pickle names with a stand-in and never calls anything (``checkpoint.inert``);
- .safetensors from their JSON header, NumPy .npy/.npz from their array headers: ``checkpoint.headers``;
- Keras .keras, .h5 and .weights.h5 with h5py (``checkpoint.keras``), .onnx with the onnx package
  (``checkpoint.onnxfile``); Hugging Face folders and sharded weights through their index (here).

TensorFlow SavedModel folders, .tflite and frozen .pb graphs are named and refused with what to do.

>>> import tempfile, os, json, struct
>>> header = json.dumps({"rnn.weight_ih_l0": {"dtype": "F16", "shape": [8, 4], "data_offsets": [0, 64]}})
>>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
>>> _ = open(path, "wb").write(struct.pack("<Q", len(header)) + header.encode() + bytes(64))
>>> read_checkpoint(path).entries
(Entry(name='rnn.weight_ih_l0', shape=(8, 4), dtype='float16'),)
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass

from rnnshape.errors import UsageError


@dataclass(frozen=True)
class Entry:
    name: str
    shape: tuple[int, ...]
    dtype: str  # torch's name: "float32", "bfloat16", ...


@dataclass(frozen=True)
class SourceModule:
    """What a file in another format says about one recurrent module, beyond its torch names and shapes."""

    prefix: str  # the torch prefix its tensors were given
    layer: str  # the module as the file states it: "Keras LSTM 'lstm_1'", "arrays enc_w_ih, enc_w_hh, ..."
    settings: tuple[tuple[str, object], ...] = ()  # the source's own settings (units, activation, ...)
    notes: tuple[str, ...] = ()  # facts to show beside the module
    differs: tuple[str, ...] = ()  # what torch computes otherwise: converted weights would not be exact
    guessed: bool = False  # the kind was told from the shapes alone, not from names or a config


@dataclass(frozen=True)
class Checkpoint:
    """The tensors of one file: where in the file they sat, and what a reader should know about them."""

    file: str
    format: str  # "pytorch zip", "pytorch legacy", "pickle", "torchscript", "safetensors", "onnx", "keras ...", ...
    location: tuple[str, ...]  # keys leading to the state_dict, () for the top level
    entries: tuple[Entry, ...]
    whole_file: bool = False  # no state_dict under a common key: every tensor of the file, by its path
    reader: str = "header"  # "weights_only" (torch's), "inert" (rnnshape's), "header", "onnx", "h5py"
    foreign: tuple[str, ...] = ()  # qualified names the pickle asked for: replaced by stand-ins, none called
    module_class: str | None = None  # the file (or the object at ``location``) is a whole pickled module
    attributes: tuple = ()  # (prefix, ((name, value), ...)): batch_first, dropout, nonlinearity the file stores
    files: tuple[str, ...] = ()  # a folder or an index: the weight files read, in order
    config: tuple[tuple[str, object], ...] = ()  # a folder's config.json: model type and recurrent settings
    onnx: tuple = ()  # .onnx: one OnnxRecurrent per recurrent node group
    origin: str | None = None  # the training framework the file's layout says wrote it, when it says
    notes: tuple[str, ...] = ()  # what the reader says about the whole file
    sources: tuple[SourceModule, ...] = ()  # other formats: each recurrent module as the file states it


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Every tensor's name, shape and dtype; any file that is not a readable model file is a UsageError."""
    path = os.fspath(path)
    fmt = detect(path)
    if fmt == "folder":
        return _read_folder(path)
    if fmt == "onnx":
        from rnnshape.checkpoint.onnxfile import read_onnx

        return read_onnx(path)
    if fmt in ("safetensors", "npy", "npz"):
        from rnnshape.checkpoint import headers

        return headers.read(path, fmt)
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
        from rnnshape.checkpoint import onnxfile

        reader = getattr(onnxfile, "read_onnx_tensors", None)
        if reader is None:
            raise UsageError(f"{path}: this build reads the shapes of ONNX files, not their values")
        out = reader(path)
    elif fmt in ("safetensors", "npy", "npz"):
        from rnnshape.checkpoint import headers

        out = headers.tensors(path, fmt)
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
    from rnnshape.checkpoint import headers

    if headers.looks_like_safetensors(head):
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


# --- Hugging Face-style folders and sharded weights -------------------------------------------------------
# ``config.json`` beside ``model.safetensors``, ``pytorch_model.bin`` or shards listed by a ``*.index.json``
# (``{"weight_map": {name: shard file}}``). Each weight file is read as a single file would be; the index is
# checked against what the shards really hold. config.json gives context: the model type and recurrent settings.

_KNOWN = ("model.safetensors.index.json", "model.safetensors", "pytorch_model.bin.index.json", "pytorch_model.bin")
_WEIGHTS = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".keras", ".h5", ".npz", ".jit")
_SETTINGS = re.compile(r"rnn|lstm|gru|recurren|hidden|layers|bidirectional|proj|batch_first|dropout|input_size|"
                       r"cell|nonlinearity|^model_type$|^architectures$")


def _read_folder(path: str) -> Checkpoint:
    """A folder (its known weight file, or its only one) or an index file: one Checkpoint for all shards."""
    folder = (os.path.dirname(path) or ".") if path.endswith(".index.json") else path
    config = _config(folder)
    if path.endswith(".index.json"):
        ckpt = _sharded(path)
    else:
        target = _weights_file(folder)
        ckpt = _sharded(target) if target.endswith(".index.json") else read_checkpoint(target)
        ckpt = dataclasses.replace(ckpt, files=ckpt.files or (target,))
    return dataclasses.replace(ckpt, file=path, config=config)


def _weights_file(folder: str) -> str:
    try:
        names = sorted(os.listdir(folder))
    except OSError as err:
        raise UsageError(f"{folder} cannot be read: {err.strerror or err}") from None
    for known in _KNOWN:
        if known in names:
            return os.path.join(folder, known)
    indexes = [n for n in names if n.endswith(".index.json")]
    weights = [n for n in names if n.endswith(_WEIGHTS) and os.path.isfile(os.path.join(folder, n))]
    if len(indexes) == 1:
        return os.path.join(folder, indexes[0])
    if len(weights) == 1 and not indexes:
        return os.path.join(folder, weights[0])
    if not weights and not indexes:
        raise UsageError(f"{folder} is a folder with no weight file (no model.safetensors, pytorch_model.bin, "
                         f"*.index.json or other {', '.join(_WEIGHTS)} file)",
                         hint="give the checkpoint file itself: rnnshape inspect FOLDER/FILE")
    shown = ", ".join((indexes + weights)[:4]) + (", ..." if len(indexes + weights) > 4 else "")
    raise UsageError(f"{folder} holds several weight files ({shown}): name the one to inspect",
                     hint=f"rnnshape inspect {os.path.join(folder, (indexes + weights)[0])}")


def _sharded(index_path: str) -> Checkpoint:
    weight_map = _weight_map(index_path)
    folder = os.path.dirname(index_path)
    shards = list(dict.fromkeys(weight_map.values()))
    entries, foreign, readers, formats, files = [], set(), set(), set(), []
    for shard in shards:
        shard_path = os.path.join(folder, shard)
        if os.path.basename(shard) != shard or not os.path.isfile(shard_path):
            raise UsageError(f"{index_path} lists the shard {shard!r}, which is not a file in {folder}",
                             hint="download or copy every shard the index names")
        ckpt = read_checkpoint(shard_path)
        held = {e.name for e in ckpt.entries}
        missing = [n for n, s in weight_map.items() if s == shard and n not in held]
        if missing:
            raise UsageError(f"{index_path} says {shard} holds {missing[0]!r}, but it does not"
                             + (f" (nor {len(missing) - 1} more)" if len(missing) > 1 else ""),
                             hint="the index and its shards come from different saves")
        entries += ckpt.entries
        foreign.update(ckpt.foreign)
        readers.add(ckpt.reader)
        formats.add(ckpt.format)
        files.append(shard_path)
    reader = "inert" if "inert" in readers else readers.pop() if len(readers) == 1 else "mixed"
    fmt = f"{' + '.join(sorted(formats))}, {len(shards)} shard{'s' if len(shards) != 1 else ''}"
    return Checkpoint(index_path, fmt, (), tuple(entries), reader=reader, foreign=tuple(sorted(foreign)),
                      files=tuple(files))


def _weight_map(index_path: str) -> dict[str, str]:
    try:
        with open(index_path, encoding="utf-8") as f:
            index = json.load(f)
    except FileNotFoundError:
        raise UsageError(f"{index_path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"{index_path} is not a readable index file: {err}") from None
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not weight_map or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in weight_map.items()):
        raise UsageError(f"{index_path} has no weight_map of tensor names to shard files",
                         hint='a sharded checkpoint index is {"weight_map": {"name": "shard file", ...}}')
    return weight_map


def _config(folder: str) -> tuple[tuple[str, object], ...]:
    """config.json's model type and recurrent settings (scalars only), when the folder has one."""
    path = os.path.join(folder, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return ()
    if not isinstance(config, dict):
        return ()
    scalar = (str, int, float, bool, type(None))
    return tuple((k, v) for k, v in config.items() if _SETTINGS.search(k) and (
        isinstance(v, scalar) or (isinstance(v, list) and all(isinstance(x, scalar) for x in v))))
