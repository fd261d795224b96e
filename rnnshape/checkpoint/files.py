"""Read the tensor names and shapes of a checkpoint file, safely, without keeping its data.

.pt/.pth files go through ``torch.load(weights_only=True)``: its unpickler refuses every global that is
not a tensor or a plain container, so a pickle that tries to run code is stopped before anything runs.
Zip checkpoints are memory-mapped, so only the pages torch touches are read. .safetensors files are
read from their JSON header only. The kind of file is told by its first bytes, not by its extension.

>>> import tempfile, os, json, struct
>>> header = json.dumps({"rnn.weight_ih_l0": {"dtype": "F16", "shape": [8, 4], "data_offsets": [0, 64]}})
>>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
>>> _ = open(path, "wb").write(struct.pack("<Q", len(header)) + header.encode() + bytes(64))
>>> read_checkpoint(path).entries
(Entry(name='rnn.weight_ih_l0', shape=(8, 4), dtype='float16'),)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from rnnshape.checkpoint import safetensors as safetensors_header
from rnnshape.errors import UsageError

# Keys under which training scripts commonly keep the state_dict, most specific first.
COMMON_KEYS = ("state_dict", "model_state_dict", "model_state", "model", "net", "network", "module",
               "weights", "params", "ema", "model_ema", "state")

_ZIP = b"PK\x03\x04"
_PICKLE = b"\x80"


@dataclass(frozen=True)
class Entry:
    name: str
    shape: tuple[int, ...]
    dtype: str  # torch's name: "float32", "bfloat16", ...


@dataclass(frozen=True)
class Checkpoint:
    """The tensors of one file: where in the file they sat, and what a reader should know about them."""

    file: str
    format: str  # "pytorch zip", "pytorch legacy", "safetensors"
    location: tuple[str, ...]  # keys leading to the state_dict, () for the top level
    entries: tuple[Entry, ...]
    whole_file: bool = False  # no state_dict under a common key: every tensor of the file, by its path


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Every tensor's name, shape and dtype; any file that is not a readable checkpoint is a UsageError."""
    path = os.fspath(path)
    head = _head(path)
    size = os.path.getsize(path)
    if safetensors_header.looks_like(head, size):
        entries = tuple(Entry(*e) for e in safetensors_header.read_header(path))
        return Checkpoint(path, "safetensors", (), entries)
    if head.startswith(_ZIP):
        _check_zip(path)
        return _from_object(path, "pytorch zip", _torch_load(path, mmap=True))
    if head.startswith(_PICKLE):
        return _from_object(path, "pytorch legacy", _torch_load(path, mmap=False))
    raise UsageError(
        f"{path} is not a PyTorch checkpoint or a safetensors file (it starts with {head[:8]!r})",
        hint="rnnshape inspect reads files written by torch.save (.pt, .pth) and .safetensors files",
    )


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
                         hint="rnnshape inspect reads files written by torch.save (.pt, .pth) and .safetensors files")


def _torch_load(path: str, mmap: bool):
    import pickle
    import warnings

    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        raise _refusal(path, str(err)) from None
    except (RuntimeError, EOFError, ValueError, KeyError, IndexError, TypeError, AttributeError,
            OSError, UnicodeDecodeError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        reason = re.sub(r"^\[enforce fail at [^\]]*\]\s*\.?\s*", "", reason).split(". ")[0]
        raise UsageError(f"{path} is not a readable PyTorch checkpoint (truncated or corrupt?): {reason}",
                         hint="check that the file was completely written and copied") from None


def _refusal(path: str, message: str) -> UsageError:
    found = re.search(r"GLOBAL ([\w.]+)", message)
    if found:
        what = found.group(1)
        if what.startswith("torch.nn."):
            return UsageError(
                f"{path} holds a pickled module ({what}), not only tensors: refused, nothing was run",
                hint="if you trust the file, save its state_dict and inspect that: "
                     "torch.save(torch.load(FILE, weights_only=False).state_dict(), 'state.pt')",
            )
        return UsageError(
            f"{path} asks the unpickler to call {what}: refused (rnnshape loads with weights_only=True), "
            f"nothing was run",
            hint="a plain checkpoint never needs that; do not load this file with weights_only=False "
                 "unless you trust its source",
        )
    reason = message.split("WeightsUnpickler error:", 1)[-1].strip().splitlines()
    detail = next((line.strip() for line in reason if line.strip()), "unsupported pickle content")
    return UsageError(
        f"{path} is a pickle that torch.load(weights_only=True) cannot read ({detail}): corrupt, or objects "
        f"other than tensors; nothing was run",
        hint="rnnshape reads only what torch.load(weights_only=True) allows: tensors in plain containers",
    )


def _from_object(path: str, fmt: str, obj) -> Checkpoint:
    found = _locate(obj, ())
    if found is not None:
        location, state = found
        entries = tuple(_entry(k, v) for k, v in state.items() if _is_tensor(v))
        return Checkpoint(path, fmt, location, entries)
    entries = tuple(_flatten(obj, ""))
    if not entries:
        raise UsageError(f"{path} holds no tensors ({_describe(obj)}): not a model checkpoint")
    return Checkpoint(path, fmt, (), entries, whole_file=True)


def _is_tensor(value) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _entry(name: str, t) -> Entry:
    return Entry(name, tuple(int(d) for d in t.shape), str(t.dtype).removeprefix("torch."))


def _is_state_dict(obj) -> bool:
    if not isinstance(obj, Mapping) or not obj:
        return False
    if not all(isinstance(k, str) and not isinstance(v, (Mapping, list, tuple)) for k, v in obj.items()):
        return False
    return any(_is_tensor(v) for v in obj.values())


def _locate(obj, location: tuple[str, ...]):
    if _is_state_dict(obj):
        return location, obj
    if isinstance(obj, Mapping):
        for key in COMMON_KEYS:
            if key in obj:
                found = _locate(obj[key], location + (key,))
                if found is not None:
                    return found
    return None


def _flatten(obj, prefix: str, depth: int = 0):
    if _is_tensor(obj):
        yield _entry(prefix or "(tensor)", obj)
    elif depth < 8 and isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k), depth + 1)
    elif depth < 8 and isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _flatten(v, f"{prefix}.{i}" if prefix else str(i), depth + 1)


def _describe(obj) -> str:
    if isinstance(obj, Mapping):
        keys = ", ".join(str(k) for k in list(obj)[:5]) + (", ..." if len(obj) > 5 else "")
        return f"a dict with keys {keys}" if obj else "an empty dict"
    return f"a {type(obj).__name__}"
