"""The Rich view of --deploy: a row per deployed variant, then the exported ONNX nodes and their gate rows.

Reads only the Deployment; every time is shown with its spread and run count.
"""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rnnshape.model.deploy import Deployment, GateBlock, OnnxNode, OnnxView, VariantResult
from rnnshape.model.stats import MIN_RUNS
from rnnshape.render import fmt
from rnnshape.render.fit import Fit

ROLE_TEXT = {"W": "input weights", "R": "recurrence weights", "B": "biases"}


def deploy_view(d: Deployment) -> RenderableType:
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


def _diff(r: VariantResult) -> Text:
    diff = r.max_abs_diff
    if r.variant == "eager":
        return Text("ref", style="dim")
    text = "0" if diff == 0 else f"{diff:.1e}"
    return Text(text, style="" if r.within_tolerance else "red")


def _forward(r: VariantResult) -> Text:
    s = r.forward
    if s is None:
        return Text("—")
    unit = fmt.time_unit(s.median)
    spread = "(spread unknown)" if s.runs < MIN_RUNS else f"± {fmt.seconds(s.iqr, unit).rsplit(' ', 1)[0]}"
    return Text(f"{fmt.seconds(s.median, unit)} {spread} · {s.runs} runs", style="yellow" if s.noisy else "")


def _ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def onnx_view(view: OnnxView) -> RenderableType:
    if not view.nodes:
        ops = ", ".join(f"{op} × {n}" for op, n in view.ops[:8]) + (" …" if len(view.ops) > 8 else "")
        return Text(f"ONNX (opset {view.opset}): torch.onnx emitted no LSTM, GRU or RNN node; the graph "
                    f"unrolls the steps into plain ops ({ops})")
    parts: list[RenderableType] = [Text(f"ONNX (opset {view.opset}): {len(view.nodes)} {view.nodes[0].op_type} "
                                        f"node{'s' if len(view.nodes) > 1 else ''}; W, R, B as ONNX Runtime "
                                        f"feeds them to each node", style="bold")]
    for k, node in enumerate(view.nodes):
        parts.append(_node(k, node))
    shown = set()
    for node in view.nodes:
        if node.hidden_size not in shown:
            shown.add(node.hidden_size)
            parts += [Text(),
                      Text(f"{node.op_type} gate rows (H = {node.hidden_size}), in W, R, both halves of B, "
                           f"every direction"),
                      gate_table(node.blocks)]
    return Group(*parts)


def _node(k: int, node: OnnxNode) -> RenderableType:
    attrs = " ".join(f"{name}={value}" for name, value in node.attributes)
    lines = [Text(f"node {k}: {node.op_type} from torch's layer {node.layer}", style="bold"), Text(f"  {attrs}")]
    for i in node.inputs:
        if not i.sources:
            lines.append(Text(f"  {i.role} {fmt.shape(i.shape):<16} {ROLE_TEXT[i.role]}, source unknown"))
            continue
        joined = [" ‖ ".join(s) for s in i.sources]  # B: bias_ih then bias_hh, concatenated
        pad = " " * (5 + 16)
        if len(joined) == 1:
            lines.append(Text(f"  {i.role} {fmt.shape(i.shape):<16} {joined[0]}"))
        else:
            lines += [Text(f"  {i.role} {fmt.shape(i.shape):<16} [{d}] {j}" if d == 0 else f"{pad}[{d}] {j}")
                      for d, j in enumerate(joined)]
    by_direction = "; [d] is the direction" if any(len(i.sources) > 1 for i in node.inputs) else ""
    lines.append(Text(f"  gate rows moved as in the table below; ‖ concatenates{by_direction}", style="dim"))
    if dict(node.attributes).get("linear_before_reset") == 1:
        lines.append(Text("  linear_before_reset=1: r multiplies (R_h·h + Rb_h), as torch's n gate does",
                          style="dim"))
    if node.matches:
        lines.append(Text("  ✓ equal, exactly, to torch's weights moved by these rows", style="green"))
    else:
        lines.append(Text("  ✗ differs from torch's weights moved by these rows", style="red"))
    return Group(*lines)


def gate_table(blocks: tuple[GateBlock, ...]) -> Fit:
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
