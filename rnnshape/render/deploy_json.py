"""The JSON view of --deploy: ``deploy`` (a row per variant) and ``onnx`` (the exported nodes). No Rich here."""

from __future__ import annotations

from rnnshape.model.deploy import Deployment, OnnxView
from rnnshape.model.report import document


def deploy_list(d: Deployment) -> list[dict]:
    """``[{"variant", "ok", "error", "max_abs_diff", "bytes", "forward", "ratio", ...}]``, eager first."""
    return [
        {
            "variant": r.variant,
            "ok": r.ok,
            "error": r.error,
            "max_abs_diff": r.max_abs_diff,
            "diffs": dict(r.diffs) if r.ok else None,
            "tolerance": r.tolerance,
            "within_tolerance": r.within_tolerance,
            "bytes": r.bytes,
            "bytes_ratio": d.bytes_ratio(r),
            "forward": document(r.forward),
            "ratio": d.ratio(r),  # forward median / eager's, both from the same alternating rounds
            "eager_median_s": r.baseline.median if r.baseline is not None else None,  # eager in those rounds
            "note": r.note,
        }
        for r in d.rows
    ]


def onnx_dict(view: OnnxView | None) -> dict | None:
    if view is None:
        return None
    return {
        "opset": view.opset,
        "ops": dict(view.ops),
        "nodes": [
            {
                "op_type": n.op_type,
                "layer": n.layer,
                "hidden_size": n.hidden_size,
                "attributes": dict(n.attributes),
                "inputs": [{"role": i.role, "name": i.name, "shape": list(i.shape),
                            "sources": [list(s) for s in i.sources]} for i in n.inputs],
                "gates": [{"onnx_gate": b.onnx_gate, "onnx_rows": list(b.onnx_rows), "torch_gate": b.torch_gate,
                           "torch_rows": list(b.torch_rows)} for b in n.blocks],
                "matches_torch": n.matches,
            }
            for n in view.nodes
        ],
    }


def deploy_keys(d: Deployment | None) -> dict:
    """The keys a report document gains with --deploy (none without it)."""
    if d is None:
        return {}
    return {"deploy": deploy_list(d), "onnx": onnx_dict(d.onnx)}
