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

import os
from dataclasses import dataclass

from rnnshape.checkpoint.files import Checkpoint, read_checkpoint
from rnnshape.checkpoint.recover import Recovered, find_modules
from rnnshape.errors import UsageError

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
    modules = find_modules(ckpt.entries)
    if prefix is not None:
        modules = (select(modules, prefix, ckpt.file),)
    notes = _notes(ckpt)
    if any(m.spec is not None and not m.cell for m in modules):
        notes += ("batch_first and dropout are not stored in a state_dict: the constructors show torch's "
                  "defaults, and a module saved with either loads all the same",)
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


def _notes(ckpt: Checkpoint) -> tuple[str, ...]:
    notes = []
    if ckpt.location:
        notes.append(f"the state_dict is {location_text(ckpt.location)}; load that, not the whole file")
    if ckpt.whole_file:
        notes.append("no state_dict under a common key (state_dict, model, ...): tensors are named by "
                     "their path in the file")
    names = [e.name for e in ckpt.entries]
    for wrapper, why in _WRAPPERS:
        if names and all(n.startswith(wrapper) for n in names):
            notes.append(f"every name starts with {wrapper!r} ({why}): strip it to load into the plain model")
    return tuple(notes)
