"""Files whose headers say every array's name, shape and dtype: .safetensors, NumPy .npy and .npz.

Shapes are read from the headers alone, never the data. Values (``tensors``) are read only when asked.

safetensors: 8 bytes little-endian header length N, then N bytes of JSON mapping each tensor name to
``{"dtype", "shape", "data_offsets": [begin, end]}`` (plus an optional ``"__metadata__"``), then the data.

NumPy: ``np.save`` writes a magic string, a version and a Python-literal header ``{'descr': '<f4',
'fortran_order': False, 'shape': (768, 256)}``; ``np.savez`` zips one such ``NAME.npy`` per array. The names
are whatever the writer chose, so recurrent weights are recognised in two ways: torch-style names
(``rnn.weight_ih_l0``, or short ones such as ``enc_w_ih``/``enc_b_hh``, given torch's names here), or,
failing names, shapes: a matrix ``(G·H, H)`` with G = 3 (GRU) or 4 (LSTM) beside another ``(G·H, in)`` and
``G·H`` vectors is taken for a cell, and said to be a guess. Arrays holding pickled objects are never loaded.

>>> import json, struct, tempfile, os
>>> header = json.dumps({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}).encode()
>>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
>>> _ = open(path, "wb").write(struct.pack("<Q", len(header)) + header + bytes(24))
>>> read_header(path)
(('w', (2, 3), 'float32'),)
"""

from __future__ import annotations

import json
import os
import re
import struct
from math import prod

from rnnshape.errors import UsageError

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


def read(path: str, fmt: str):
    """The Checkpoint of a .safetensors, .npy or .npz file (``fmt`` from files.detect)."""
    from rnnshape.checkpoint.files import Checkpoint, Entry

    if fmt == "safetensors":
        return Checkpoint(path, "safetensors", (), tuple(Entry(*e) for e in read_header(path)))
    arrays = _numpy_headers(path, fmt)
    names, sources = _torch_names([(name, shape) for name, shape, _ in arrays])
    entries = tuple(Entry(names.get(name, name), shape, dtype) for name, shape, dtype in arrays)
    fmt_name = "numpy .npz" if fmt == "npz" else "numpy .npy"
    notes = ("NumPy arrays: the file names no module, so recurrent weights were recognised by their names or "
             "shapes and given torch's names (each module says which arrays)",) if sources else ()
    return Checkpoint(path, fmt_name, (), entries, reader="header", notes=notes, sources=sources)


def tensors(path: str, fmt: str) -> dict:
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
    from rnnshape.checkpoint.files import SourceModule

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
    from rnnshape.checkpoint.files import SourceModule

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
