"""The ONNX part of `rnnshape inspect`: each recurrent node group's W, R, B, its gate order, and where each
torch parameter comes from. ``onnx_dict`` is the JSON view, ``onnx_tables`` the Rich one."""

from __future__ import annotations

from rnnshape.checkpoint.onnxfile import GATES, OnnxRecurrent


def onnx_dict(g: OnnxRecurrent) -> dict:
    onnx_order, torch_order, _ = GATES[g.op]
    return {
        "prefix": g.prefix,
        "op": g.op,
        "nodes": [layer.node for layer in g.layers],
        "input_size": g.input_size,
        "hidden_size": g.hidden_size,
        "direction": g.direction,
        "num_layers": len(g.layers),
        "activations": list(g.activations),
        "linear_before_reset": g.linear_before_reset,
        "layout": g.layout,
        "layers": [{"node": layer.node, "W": list(layer.W), "R": list(layer.R),
                    "B": list(layer.B) if layer.B is not None else None} for layer in g.layers],
        "gate_order": {"onnx": list(onnx_order), "torch": list(torch_order)},
        "mapping": [{"torch": m.torch, "onnx": m.text(), "tensor": m.tensor, "node": m.node,
                     "direction": m.direction, "rows": [list(r) for r in m.rows]} for m in g.mapping()],
        "notes": list(g.notes),
    }


def onnx_tables(g: OnnxRecurrent) -> list:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from rnnshape.render import fmt

    onnx_order, torch_order, _ = GATES[g.op]
    title = (f"ONNX {g.op} · {g.direction} · hidden_size {g.hidden_size} · {len(g.layers)} "
             f"node{'s' if len(g.layers) != 1 else ''} · activations {', '.join(g.activations)}"
             + (f" · linear_before_reset {g.linear_before_reset}" if g.linear_before_reset is not None else ""))
    shapes = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("layer", "node", "W", "R", "B"):
        shapes.add_column(column, no_wrap=True)
    for k, layer in enumerate(g.layers):
        shapes.add_row(str(k), layer.node, fmt.shape(layer.W), fmt.shape(layer.R),
                       fmt.shape(layer.B) if layer.B is not None else "-")
    order = Text(f"gate order: ONNX {', '.join(onnx_order)} · torch {', '.join(torch_order)} "
                 f"(blocks of H={g.hidden_size} rows)")
    mapping = Table(title="torch parameter ← ONNX rows (in torch's gate order)", title_justify="left",
                    box=box.SIMPLE_HEAD, pad_edge=False)
    mapping.add_column("torch", no_wrap=True)
    mapping.add_column("from")
    for m in g.mapping():
        mapping.add_row(m.torch, m.text())
    notes = [Text.assemble(("note: ", "cyan"), n) for n in g.notes]
    return [shapes, order, *notes, Text(), mapping]
