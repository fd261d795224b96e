"""The JSON views of `rnnshape inspect` and `--check`: schema_version 1, shapes as lists. No Rich here."""

from __future__ import annotations

from enum import Enum

from rnnshape import __version__
from rnnshape.checkpoint.against import LoadCheck, command_line
from rnnshape.checkpoint.inspection import Inspection
from rnnshape.checkpoint.recover import Recovered
from rnnshape.render.deploy import group_dict
from rnnshape.render.jsonout import SCHEMA_VERSION
from rnnshape.views.code import constructor

_FIELDS = ("input_size", "hidden_size", "num_layers", "bidirectional", "proj_size", "bias")


def module_dict(r: Recovered) -> dict:
    m = r.module
    doc = {"prefix": r.prefix, "recognised": r.recognised, "kind": m.kind.value if m else None, "cell": r.cell}
    doc.update({f: getattr(m, f) if m else None for f in _FIELDS})
    doc.update({
        "dtype": r.spec.dtype.value if r.spec else None,
        "constructor": r.constructor,
        "command": command_line(r.spec) if r.spec else None,
        "parameters": [{"name": e.name, "shape": list(e.shape), "dtype": e.dtype} for e in r.entries],
        "candidates": [
            {"kind": c.kind.value, "cell": c.cell, "nonlinearity": c.nonlinearity, "constructor": c.constructor}
            for c in r.candidates
        ],
        "batch_first": m.batch_first if m else None,
        "dropout": m.dropout if m else None,
        "nonlinearity": m.nonlinearity if m else None,
        "reason": r.reason,
        "notes": list(r.notes),
    })
    return doc


def inspection_dict(ins: Inspection) -> dict:
    ckpt = ins.checkpoint
    return {
        "schema_version": SCHEMA_VERSION,
        "rnnshape_version": __version__,
        "file": ckpt.file,
        "format": ckpt.format,
        "location": list(ckpt.location),
        "reader": ckpt.reader,
        "foreign": list(ckpt.foreign),
        "module_class": ckpt.module_class,
        "origin": ckpt.origin,
        "files": list(ckpt.files),
        "config": dict(ckpt.config),
        "tensors": len(ckpt.entries),
        "modules": [module_dict(m) for m in ins.modules],
        "onnx": [group_dict(g) for g in ckpt.onnx],
        "notes": list(ins.notes),
    }


def _plain(value):
    return value.value if isinstance(value, Enum) else value


def load_check_dict(c: LoadCheck) -> dict:
    m = c.requested.modules()[0]
    return {
        "schema_version": SCHEMA_VERSION,
        "rnnshape_version": __version__,
        "file": c.file,
        "prefix": c.module.prefix,
        "considered": c.considered,
        "match": c.match,
        "requested": {"constructor": constructor(m), "command": command_line(c.requested)},
        "checkpoint": module_dict(c.module),
        "mismatches": [
            {"field": x.field, "requested": _plain(x.requested), "checkpoint": _plain(x.checkpoint),
             "message": x.message}
            for x in c.mismatches
        ],
        "missing": [{"name": n, "requested": list(want)} for n, want in c.missing],
        "unexpected": [{"name": n, "checkpoint": list(have)} for n, have in c.unexpected],
        "size_mismatch": [
            {"name": n, "checkpoint": list(saved), "requested": list(want)} for n, saved, want in c.size_mismatch
        ],
    }
