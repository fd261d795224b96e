"""Read the tensor names and shapes of a checkpoint file, safely, without keeping its data.

torch.save files (.pt, .pth, .bin, .ckpt) are read first with ``torch.load(weights_only=True)``; a file
that it refuses (an argparse.Namespace beside the weights, a whole pickled module, a class from a package
that is not installed) is read by the inert reader, which replaces every such object with a stand-in that
records its name and state and never calls anything (see ``rnnshape.checkpoint.inert``). Zip checkpoints
are memory-mapped, so only the pages torch touches are read. .safetensors files are read from their
JSON header only, Hugging Face folders and sharded weights through their index, .onnx files with the
``onnx`` package. The kind of file is told by its first bytes, not by its extension.

>>> import tempfile, os, json, struct
>>> header = json.dumps({"rnn.weight_ih_l0": {"dtype": "F16", "shape": [8, 4], "data_offsets": [0, 64]}})
>>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
>>> _ = open(path, "wb").write(struct.pack("<Q", len(header)) + header.encode() + bytes(64))
>>> read_checkpoint(path).entries
(Entry(name='rnn.weight_ih_l0', shape=(8, 4), dtype='float16'),)
"""

from __future__ import annotations

import os

from rnnshape.checkpoint import safetensors as safetensors_header
from rnnshape.checkpoint import walk
from rnnshape.checkpoint.entries import Checkpoint, Entry  # noqa: F401  (read_checkpoint's types, re-exported)
from rnnshape.checkpoint.walk import COMMON_KEYS  # noqa: F401  (part of this module's interface)
from rnnshape.errors import UsageError

_ZIP = b"PK\x03\x04"
_PICKLE = b"\x80"


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Every tensor's name, shape and dtype; any file that is not a readable checkpoint is a UsageError."""
    path = os.fspath(path)
    if os.path.isdir(path) or path.endswith(".index.json"):
        from rnnshape.checkpoint.folder import read_folder

        return read_folder(path, read_checkpoint)
    head = _head(path)
    if path.lower().endswith(".onnx") or _looks_like_onnx(head):
        from rnnshape.checkpoint.onnxfile import read_onnx

        return read_onnx(path)
    size = os.path.getsize(path)
    if safetensors_header.looks_like(head, size):
        entries = tuple(Entry(*e) for e in safetensors_header.read_header(path))
        return Checkpoint(path, "safetensors", (), entries)
    from rnnshape.checkpoint import torchfile

    if head.startswith(_ZIP):
        _check_zip(path)
        return _from_object(path, torchfile.load_zip(path))
    if head.startswith(_PICKLE) or path.lower().endswith((".pkl", ".pickle")):  # protocol 0/1 have no header
        return _from_object(path, torchfile.load_pickle(path))
    raise UsageError(
        f"{path} is not a PyTorch checkpoint or a safetensors file (it starts with {head[:8]!r})",
        hint=_READS,
    )


_READS = ("rnnshape inspect reads files written by torch.save (.pt, .pth, .bin, .ckpt), .safetensors and "
          ".onnx files, and Hugging Face model folders")


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


def _check_zip(path: str) -> None:
    """torch.save writes a zip with ``<name>/data.pkl``; say plainly when a zip is damaged or something else."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise UsageError(f"{path} is truncated or corrupt: it starts as a zip archive, as torch.save writes, "
                         f"but cannot be read as one ({err})",
                         hint="check that the file was completely written and copied") from None
    if not any(n.endswith("data.pkl") for n in names):
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise UsageError(f"{path} is a zip archive ({shown}) but not a PyTorch checkpoint: it has no data.pkl",
                         hint=_READS)


def _from_object(path: str, loaded) -> Checkpoint:
    obj = loaded.obj
    common = dict(reader=loaded.reader, foreign=loaded.foreign, origin=_origin(obj),
                  hyperparameters=walk.hyperparameters(obj))
    found = walk.locate(obj)
    if found is not None:
        entries = tuple(_entry(k, v) for k, v in found.state.items() if walk.is_tensor(v))
        return Checkpoint(path, loaded.format, found.location, entries, module_class=found.module_class,
                          attributes=found.attributes, **common)
    entries = tuple(_entry(k, v) for k, v in walk.flatten(obj))
    if not entries:
        met = f"; it names {', '.join(loaded.foreign)}, none of which was run" if loaded.foreign else ""
        raise UsageError(f"{path} holds no tensors ({walk.describe(obj)}{met}): not a model checkpoint")
    return Checkpoint(path, loaded.format, (), entries, whole_file=True, **common)


def _origin(obj) -> str | None:
    """Layouts that name their writer: a Lightning .ckpt, a fairseq or OpenNMT-py checkpoint."""
    top = walk.mapping(obj) or {}
    version = top.get("pytorch-lightning_version")
    if isinstance(version, str):
        return f"PyTorch Lightning {version}"
    if "model" in top and ("optimizer_history" in top or ("args" in top and "cfg" in top)):
        return "fairseq"
    if "model" in top and "opt" in top and ("vocab" in top or "generator" in top):
        return "OpenNMT-py"
    return None


def _entry(name: str, t) -> Entry:
    return Entry(name, tuple(int(d) for d in t.shape), str(t.dtype).removeprefix("torch."))
