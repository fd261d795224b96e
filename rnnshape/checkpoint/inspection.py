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
from typing import TYPE_CHECKING

from rnnshape.errors import UsageError
from rnnshape.model.report import Shows
from rnnshape.model.spec import make_spec

if TYPE_CHECKING:  # types only: the readers are imported when a file is read, not on every start (issue 21)
    from rnnshape.checkpoint.files import Checkpoint
    from rnnshape.checkpoint.recover import Recovered

_WRAPPERS = (
    ("module.", "saved from DataParallel or DistributedDataParallel"),
    ("_orig_mod.", "saved from a torch.compile'd model"),
)


@dataclass(frozen=True, repr=False)
class Inspection(Shows):  # shows itself through rnnshape.api.results
    checkpoint: Checkpoint
    modules: tuple[Recovered, ...]
    notes: tuple[str, ...]


def inspect_checkpoint(path: str | os.PathLike, prefix: str | None = None) -> Inspection:
    """Read ``path`` and recover every recurrent module in it (only the one under ``prefix`` if given)."""
    from rnnshape.checkpoint.files import read_checkpoint
    from rnnshape.checkpoint.recover import find_modules

    ckpt = read_checkpoint(path)
    sources = {s.prefix: s for s in ckpt.sources}
    modules = tuple(_with_source(_with_attributes(m, dict(ckpt.attributes).get(m.prefix)), sources.get(m.prefix))
                    for m in find_modules(ckpt.entries))
    if prefix is not None:
        modules = (select(modules, prefix, ckpt.file),)
    notes = _notes(ckpt)
    known = {p for p, attrs in ckpt.attributes if any(a in ("batch_first", "mode") for a, _ in attrs)}
    if any(m.spec is not None and not m.cell and m.prefix not in known for m in modules):
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


def _with_attributes(m: Recovered, attributes) -> Recovered:
    """A pickled module keeps what a state_dict does not: batch_first, dropout, an RNN's nonlinearity."""
    if not attributes or m.spec is None:
        return m
    known = dict(attributes)
    mode = known.pop("mode", None)
    if mode in ("RNN_TANH", "RNN_RELU"):
        known["nonlinearity"] = mode[4:].lower()
    module = m.module
    changes = {k: v for k, v in known.items() if k in ("batch_first", "dropout", "nonlinearity")
               and (k != "nonlinearity" or module.kind.value == "rnn") and (k == "nonlinearity" or not m.cell)}
    try:
        spec = make_spec(module.kind, cell=m.cell, input_size=module.input_size, hidden_size=module.hidden_size,
                         num_layers=module.num_layers, bidirectional=module.bidirectional,
                         proj_size=module.proj_size, bias=module.bias, dtype=m.spec.dtype,
                         **{**{"nonlinearity": module.nonlinearity}, **changes})
    except (UsageError, TypeError, ValueError):
        return m
    said = ", ".join(f"{k}={v!r}" for k, v in changes.items())
    notes = tuple(n for n in m.notes if "nonlinearity" not in n or "nonlinearity" not in changes)
    return dataclasses.replace(m, spec=spec, candidates=() if "nonlinearity" in changes else m.candidates,
                               notes=notes + ((f"stored in the file: {said}",) if said else ()))


def _with_source(m: Recovered, source) -> Recovered:
    """A Keras, NumPy or other non-torch file's own word on the module: its settings, what torch does otherwise."""
    if source is None:
        return m
    said = tuple(source.notes) + tuple(f"torch computes this differently: {d}" for d in source.differs)
    return dataclasses.replace(m, notes=tuple(m.notes) + said)


def _notes(ckpt: Checkpoint) -> tuple[str, ...]:
    notes = list(ckpt.notes)
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
