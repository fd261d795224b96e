"""Every view of ONNX recurrent nodes (one model: rnnshape.model.deploy.OnnxRecurrent) and of --deploy.

- ``rnnshape inspect model.onnx``: each recurrent module's W, R, B, its gate order, where each torch parameter
  comes from (``group_dict`` for JSON, ``group_tables`` for Rich);
- ``--deploy``: a row per deployed variant, then the exported ONNX nodes and their gate rows (``deploy_keys``
  for JSON, ``deploy_view`` and ``deploy_columns`` for Rich). Every time is shown with its spread and run count.

Rich is imported inside the functions that draw: the JSON views run without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnnshape.model.deploy import GATES, Deployment, GateBlock, OnnxRecurrent, OnnxView, VariantResult, gate_blocks
from rnnshape.model.report import document
from rnnshape.model.stats import MIN_RUNS
from rnnshape.render import fmt

if TYPE_CHECKING:
    from rich.console import RenderableType

ROLE_TEXT = {"W": "input weights", "R": "recurrence weights", "B": "biases"}


def deploy_view(d: Deployment) -> RenderableType:
    from rich.console import Group
    from rich.text import Text


    parts: list[RenderableType] = [variants_table(d)]
    reasons = [r for r in d.rows if not r.ok]
    if reasons:
        parts.append(Text("\n".join(f"{r.variant}: {r.error}" for r in reasons), style="yellow"))
    notes = [f"{r.variant}: {r.note}" for r in d.rows if r.ok and r.note]
    if any(r.baseline is not None for r in d.rows):
        notes.insert(0, "× eager: over eager's median in the same rounds; eager's row pools them all")
    if notes:
        parts.append(Text("\n".join(notes), style="dim"))
    if d.onnx is not None:
        parts += [Text(), onnx_view(d.onnx)]
    return Group(*parts)


def variants_table(d: Deployment) -> RenderableType:
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from rnnshape.render.fit import Fit

    threads = next((r.forward.threads for r in d.rows if r.forward is not None), None)
    timing = (f", rounds alternating with it · {threads} thread" + ("s" if threads != 1 else "")
              if threads else "")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("variant", no_wrap=True)
    table.add_column("max |Δ|", justify="right", no_wrap=True)
    table.add_column("weights", justify="right", no_wrap=True)
    table.add_column("×", justify="right", no_wrap=True)
    if threads:
        table.add_column("forward", no_wrap=True)
        table.add_column("× eager", justify="right", no_wrap=True)
    for r in d.rows:
        if not r.ok:
            table.add_row(r.variant, Text("not here", style="yellow"), *[""] * (4 if threads else 2))
            continue
        ratio = d.bytes_ratio(r)
        cells = [r.variant, _diff(r), fmt.nbytes(r.bytes) if r.bytes is not None else "—",
                 "" if ratio is None or r.variant == "eager" else f"{ratio:.2f}"]
        table.add_row(*cells, *([_forward(r), _ratio(d.ratio(r))] if threads else []))
    return Group(Text(f"Deploy · vs eager float32: same input{timing}", style="bold"), Fit(table))  # never cut


def _diff(r: VariantResult) -> RenderableType:
    from rich.text import Text


    diff = r.max_abs_diff
    if r.variant == "eager":
        return Text("ref", style="dim")
    text = "0" if diff == 0 else f"{diff:.1e}"
    return Text(text, style="" if r.within_tolerance else "red")


def _forward(r: VariantResult) -> RenderableType:
    from rich.text import Text


    s = r.forward
    if s is None:
        return Text("—")
    unit = fmt.time_unit(s.median)
    spread = "(spread unknown)" if s.runs < MIN_RUNS else f"± {fmt.seconds(s.iqr, unit).rsplit(' ', 1)[0]}"
    return Text(f"{fmt.seconds(s.median, unit)} {spread} · {fmt.counted(s.runs, 'run')}",
                style="yellow" if s.noisy else "")


def _ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def onnx_view(view: OnnxView) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    nodes = node_dicts(view)
    if not nodes and not view.ops:  # predicted: cells, or a projection
        return Text("ONNX: torch.onnx writes no LSTM, GRU or RNN node for cells (matrix products instead) nor for "
                    "a projection (ONNX's LSTM has none)")
    if not nodes:
        ops = ", ".join(f"{op} × {n}" for op, n in view.ops[:8]) + (" …" if len(view.ops) > 8 else "")
        return Text(f"ONNX (opset {view.opset}): torch.onnx emitted no LSTM, GRU or RNN node; the graph "
                    f"unrolls the steps into plain ops ({ops})")
    fed = "as torch.onnx writes them" if view.predicted else "as ONNX Runtime feeds them to each node"
    parts: list[RenderableType] = [Text(f"ONNX (opset {view.opset}): {len(nodes)} {nodes[0]['op_type']} "
                                        f"node{'s' if len(nodes) > 1 else ''}; W, R, B {fed}", style="bold")]
    if view.predicted and any(n["op_type"] == "RNN" for n in nodes):
        parts.append(Text("torch.onnx's TorchScript exporter (dynamo=False) writes these RNN nodes; the default "
                          "dynamo exporter unrolls nn.RNN into MatMul per step", style="dim"))
    for k, node in enumerate(nodes):
        parts.append(_node(k, node))
    shown = set()
    for node in nodes:
        if node["hidden_size"] not in shown:
            shown.add(node["hidden_size"])
            parts += [Text(),
                      Text(f"{node['op_type']} gate rows (H = {node['hidden_size']}), in W, R, both halves of B, "
                           f"every direction"),
                      gate_table(node["blocks"])]
    return Group(*parts)


def node_dicts(view: OnnxView) -> list[dict]:
    """One dict per exported recurrent node (a layer of a group), in the form the JSON and the text show."""
    out = []
    for g, matches in zip(view.groups, view.matches or (None,) * len(view.groups)):
        mapping = g.mapping()
        for k, layer in enumerate(g.layers):
            inputs = []
            for role, name, shape in zip("WRB", layer.inputs, (layer.W, layer.R, layer.B)):
                if not name:
                    continue
                sources = tuple(tuple(m.torch for m in mapping if m.node == layer.node and m.tensor == role
                                      and m.direction == d) for d in range(g.directions))
                inputs.append({"role": role, "name": name, "shape": tuple(shape or ()), "sources": sources})
            out.append({"op_type": g.op, "layer": f"{g.prefix}.l{k}" if g.prefix else f"l{k}",
                        "hidden_size": g.hidden_size, "attributes": layer.attributes, "inputs": inputs,
                        "blocks": gate_blocks(g.kind, g.hidden_size), "matches": matches})
    return out


def _node(k: int, node: dict) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    attrs = " ".join(f"{name}={_attr(value)}" for name, value in node["attributes"])
    lines = [Text(f"node {k}: {node['op_type']} from torch's layer {node['layer']}", style="bold"),
             Text(f"  {attrs}")]
    for i in node["inputs"]:
        role, shape, sources = i["role"], fmt.shape(i["shape"]), i["sources"]
        if not any(sources):
            lines.append(Text(f"  {role} {shape:<16} {ROLE_TEXT[role]}, source unknown"))
            continue
        joined = [" ‖ ".join(s) for s in sources]  # B: bias_ih then bias_hh, concatenated
        pad = " " * (5 + 16)
        if len(joined) == 1:
            lines.append(Text(f"  {role} {shape:<16} {joined[0]}"))
        else:
            lines += [Text(f"  {role} {shape:<16} [{d}] {j}" if d == 0 else f"{pad}[{d}] {j}")
                      for d, j in enumerate(joined)]
    by_direction = "; [d] is the direction" if any(len(i["sources"]) > 1 for i in node["inputs"]) else ""
    lines.append(Text(f"  gate rows moved as in the table below; ‖ concatenates{by_direction}", style="dim"))
    if dict(node["attributes"]).get("linear_before_reset") == 1:
        lines.append(Text("  linear_before_reset=1: r multiplies (R_h·h + Rb_h), as torch's n gate does",
                          style="dim"))
    if node["matches"] is None:
        lines.append(Text("  predicted without torch (the tests hold it to torch.onnx's export)", style="dim"))
    elif node["matches"]:
        lines.append(Text("  ✓ equal, exactly, to torch's weights moved by these rows", style="green"))
    else:
        lines.append(Text("  ✗ differs from torch's weights moved by these rows", style="red"))
    return Group(*lines)


def _attr(value) -> str:
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, (list, tuple)) else str(value)


def gate_table(blocks: tuple[GateBlock, ...]) -> RenderableType:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from rnnshape.render.fit import Fit

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("ONNX gate", "ONNX rows", "←", "torch gate", "torch rows"):
        table.add_column(name, no_wrap=True)
    for b in blocks:
        moved = b.onnx_rows != b.torch_rows
        table.add_row(b.onnx_gate, f"{b.onnx_rows[0]}:{b.onnx_rows[1]}", "←", b.torch_gate,
                      Text(f"{b.torch_rows[0]}:{b.torch_rows[1]}", style="bold" if moved else ""))
    return Fit(table)


SHORT = {"bfloat16": "bf16", "float16": "fp16", "int8-dynamic": "int8", "torch.compile": "compile",
         "onnxruntime": "ORT"}


def deploy_columns(entries: list[tuple[str, Deployment | None]]) -> RenderableType:
    """compare --deploy: a row per configuration, a column per variant: time and bytes × eager, max |Δ|."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from rnnshape.render.fit import Fit

    names = [r.variant for _, d in entries if d for r in d.rows]
    variants = list(dict.fromkeys(names))[1:]  # eager is each row's own reference
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("configuration", overflow="fold")
    for name in variants:
        table.add_column(SHORT.get(name, name), no_wrap=True)
    for label, d in entries:
        cells = []
        for name in variants:
            row = next((r for r in d.rows if r.variant == name), None) if d else None
            if row is None or not row.ok:
                cells.append(Text("not here", style="yellow"))
                continue
            t, b = d.ratio(row), d.bytes_ratio(row)
            lines = [f"t {t:.2f} ×" if t is not None else "t —", f"B {b:.2f} ×" if b is not None else "B —",
                     f"Δ {row.max_abs_diff:.1e}"]
            cells.append(Text("\n".join(lines), style="" if row.within_tolerance else "red"))
        table.add_row(label, *cells)
    legend = ", ".join(f"{SHORT.get(v, v)} = {v}" for v in variants)
    title = Text("Deploy · each against its own eager float32: t = forward median × eager's, B = weight bytes × "
                 f"eager's, Δ = largest |difference| · {legend}", style="bold")
    reasons = sorted({f"{r.variant}: {r.error}" for _, d in entries if d for r in d.rows if not r.ok})
    return Group(title, Fit(table, merge=False), *([Text("\n".join(reasons), style="yellow")] if reasons else []))


# --- JSON of --deploy -----------------------------------------------------------------------------------

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


def view_dict(view: OnnxView | None) -> dict | None:
    if view is None:
        return None
    return {
        "opset": view.opset,
        "ops": dict(view.ops),
        "nodes": [
            {
                "op_type": n["op_type"],
                "layer": n["layer"],
                "hidden_size": n["hidden_size"],
                "attributes": {k: list(v) if isinstance(v, tuple) else v for k, v in n["attributes"]},
                "inputs": [{"role": i["role"], "name": i["name"], "shape": list(i["shape"]),
                            "sources": [list(s) for s in i["sources"]]} for i in n["inputs"]],
                "gates": [{"onnx_gate": b.onnx_gate, "onnx_rows": list(b.onnx_rows), "torch_gate": b.torch_gate,
                           "torch_rows": list(b.torch_rows)} for b in n["blocks"]],
                "matches_torch": n["matches"],
            }
            for n in node_dicts(view)
        ],
    }


def deploy_keys(d: Deployment | None) -> dict:
    """The keys a report document gains with --deploy (none without it)."""
    if d is None:
        return {}
    return {"deploy": deploy_list(d), "onnx": view_dict(d.onnx)}


# --- rnnshape inspect model.onnx -------------------------------------------------------------------------

def group_dict(g: OnnxRecurrent) -> dict:
    """One recurrent module of an ONNX file: its nodes, W/R/B shapes, gate order and the torch mapping."""
    onnx_order, torch_order, _ = GATES.get(g.op, ("", "", ()))
    products = g.op not in GATES
    return {
        "prefix": g.prefix,
        "op": g.op,
        "kind": g.kind.value,
        "cell": g.cell,
        "nodes": list(g.nodes),
        "branch": g.branch or None,
        "calls": list(g.calls),
        "named_from": g.where_named,
        "error": g.error,
        "input_size": g.input_size if g.error is None else None,
        "hidden_size": g.hidden_size if g.error is None else None,
        "direction": g.direction,
        "num_layers": (1 if g.cell else len(g.layers) if not products else  # unrolled layers: their _lK names
                       len({n.split("_l")[1].split("_")[0] for n, _ in g.params if "_l" in n}) or 1)
        if g.error is None else None,
        "activations": list(g.activations),
        "linear_before_reset": g.linear_before_reset,
        "layout": g.layout,
        "layers": [] if products or g.error else [
            {"node": layer.node, "W": list(layer.W), "R": list(layer.R),
             "B": list(layer.B) if layer.B is not None else None} for layer in g.layers],
        "parameters": {name: list(shape) for name, shape in g.params} if products else None,
        "gate_order": {"onnx": list(onnx_order), "torch": list(torch_order)} if not products else None,
        "mapping": [{"torch": m.torch, "onnx": m.text(), "tensor": m.tensor, "node": m.node,
                     "direction": m.direction, "rows": [list(r) for r in m.rows]} for m in g.mapping()]
        if g.error is None else [],
        "notes": list(g.notes),
    }


def group_tables(g: OnnxRecurrent) -> list:
    """The Rich view of one module of an ONNX file (never cut: rnnshape.render.fit)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from rnnshape.render.fit import Fit
    from rnnshape.render.words import Words

    where = [Words(Text.assemble(("in ", "dim"), g.branch), indent=2)] if g.branch else []
    calls = [Words(Text.assemble(("also run by ", "dim"), ", ".join(g.calls)), indent=2)] if g.calls else []
    if g.error is not None:
        return [Words(Text.assemble(("✗ ", "red"), g.error), indent=2), *where]
    notes = [Words(Text.assemble(("note: ", "cyan"), n), indent=2) for n in g.notes]
    if g.op not in GATES:
        cls = f"nn.{g.kind.torch_name}" + ("Cell" if g.cell else "")
        line = (f"{cls} written as matrix products ({g.op} nodes {', '.join(g.nodes)}); its weights mapped to "
                f"torch's layout, named from the {g.where_named}")
        return [Words(line, indent=2), *where, *calls, *notes]
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
    order = Words([f"gate order: ONNX {', '.join(onnx_order)}",
                   f"torch {', '.join(torch_order)} (blocks of H={g.hidden_size} rows)",
                   f"named from the {g.where_named}"] + (["a cell: torch's names have no _l0"] if g.cell else []),
                  sep=" · ")
    mapping = Table(title="torch parameter ← ONNX rows (in torch's gate order)", title_justify="left",
                    box=box.SIMPLE_HEAD, pad_edge=False)
    mapping.add_column("torch", no_wrap=True)
    mapping.add_column("from")
    for m in g.mapping():
        mapping.add_row(m.torch, m.text())
    return [Fit(shapes), order, *where, *calls, *notes, Text(), Fit(mapping)]
