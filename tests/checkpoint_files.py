"""Test helpers for `inspect`: real torch modules, saved the ways people save them.

torch is imported inside functions (the lint rule bans it at module level everywhere).
"""

from __future__ import annotations

import json
import struct

_ST_DTYPES = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16", "int64": "I64"}


def build(cfg: dict):
    """An independent torch module from a plain configuration dict (keyword arguments only)."""
    from torch import nn

    kind, cell = cfg["kind"], cfg.get("cell", False)
    name = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[kind] + ("Cell" if cell else "")
    kw = {"input_size": cfg["input_size"], "hidden_size": cfg["hidden_size"], "bias": cfg.get("bias", True)}
    if kind == "rnn" and cfg.get("nonlinearity"):
        kw["nonlinearity"] = cfg["nonlinearity"]
    if not cell:
        kw["num_layers"] = cfg.get("num_layers", 1)
        kw["bidirectional"] = cfg.get("bidirectional", False)
        if cfg.get("proj_size"):
            kw["proj_size"] = cfg["proj_size"]
    return getattr(nn, name)(**kw)


def save_safetensors(path, state: dict) -> None:
    """A minimal safetensors writer (the package is not installed): header JSON, then raw bytes."""
    import torch

    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        data = t.detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": _ST_DTYPES[str(t.dtype).removeprefix("torch.")], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def save(path, state: dict, how: str) -> None:
    """Save ``state`` as people do: a plain state_dict, wrapped in a training checkpoint, or safetensors."""
    import torch

    if how == "safetensors":
        save_safetensors(path, state)
    elif how == "plain":
        torch.save(state, path)
    elif how == "legacy":
        torch.save(state, path, _use_new_zipfile_serialization=False)
    elif how in ("state_dict", "model", "model_state_dict"):
        torch.save({"epoch": 7, how: state, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}}, path)
    elif how == "nested":
        torch.save({"model": {"state_dict": state, "config": {"lr": 1e-3}}, "step": 100}, path)
    else:
        raise ValueError(how)


def sub_state(state: dict, prefix: str) -> dict:
    cut = len(prefix) + 1 if prefix else 0
    return {k[cut:]: v for k, v in state.items() if not prefix or k.startswith(prefix + ".")}
