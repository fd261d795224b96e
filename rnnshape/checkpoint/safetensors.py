"""Read the names, shapes and dtypes of a .safetensors file from its header alone: no data, no package.

The format: 8 bytes little-endian header length N, then N bytes of JSON mapping each tensor name to
``{"dtype", "shape", "data_offsets": [begin, end]}`` (plus an optional ``"__metadata__"``), then the data.

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


def looks_like(head: bytes, size: int) -> bool:
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
