"""The JSON view of a Report: schema_version 1, raw numbers, times in seconds. No Rich here."""

from __future__ import annotations

import json

from rnnshape import __version__
from rnnshape.model.options import spec_json
from rnnshape.model.report import Report, TensorInfo
from rnnshape.model.spec import Spec
from rnnshape.render.deploy import deploy_keys
from rnnshape.render.timing_json import memory_dict, timing_dict

SCHEMA_VERSION = 1


def spec_dict(spec: Spec) -> dict:
    """The spec's JSON object, as the option table declares it (rnnshape.model.options)."""
    return spec_json(spec)


def _tensor(t: TensorInfo) -> dict:
    return {"name": t.name, "shape": list(t.shape), "dims": list(t.dims), "note": t.note}


def report_dict(report: Report) -> dict:
    p = report.prediction
    t = p.totals
    return {
        "schema_version": SCHEMA_VERSION,
        "rnnshape_version": __version__,
        "torch_version": report.torch_version,
        "verified": report.verified,
        "spec": spec_dict(p.spec),
        "module": p.module_repr,
        "parameters": [
            {
                "name": q.name,
                "shape": list(q.shape),
                "numel": q.numel,
                "dims": list(q.dims),
                "module": q.module,
                "layer": q.layer,
                "direction": q.direction,
                "gates": list(q.gates),
            }
            for q in p.parameters
        ],
        "inputs": [_tensor(x) for x in p.inputs],
        "outputs": [_tensor(x) for x in p.outputs],
        "totals": {
            "parameters": t.parameters,
            "parameter_bytes": t.parameter_bytes,
            "macs": t.macs,
            "flops": t.flops,
            "steps": t.steps,
            "input_bytes": t.input_bytes,
            "output_bytes": t.output_bytes,
            "keras_parameters": t.keras_parameters,
            "flops_counted": report.flops_counted,
        },
        "symbols": dict(p.symbols),
        "input_shape": None if p.spec.input_shape is None else {
            "shape": list(p.spec.input_shape), "reading": list(p.reading)},
        "timing": timing_dict(report),
        # --backward untimed: the training step's memory, predicted (a timed run measures it in timing.memory)
        **({"memory": memory_dict(report.memory)} if report.memory is not None else {}),
        **deploy_keys(report.deploy),  # "deploy" and "onnx", only with --deploy
        "warnings": list(report.warnings),
    }


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False)
