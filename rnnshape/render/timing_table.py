"""The Rich Timing table: each timed statement with its spread and rates, the kernel path, the memory.

Reads only the Report; every time is shown with its IQR, range, run count and threads.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from rnnshape.model.memory import MARGIN, MARGIN_BYTES
from rnnshape.model.report import Kernel, Memory, Report
from rnnshape.model.stats import SLOW_FACTOR, Rates, ThreadChoice, timed
from rnnshape.render import fmt

LABELS = {"forward": "forward", "backward": "fwd+bwd", "loop": "loop", "padded": "padded"}
PATHS = {
    "onednn": "oneDNN fused kernel",
    "cudnn": "cuDNN fused kernel",
    "miopen": "MIOpen fused kernel",
    "aten": "plain aten ops: matmuls step by step",
}
TEXT_WIDTH = 71  # 80 columns less the label column
MATMULS = ("aten.addmm", "aten.mm", "aten.bmm", "aten.baddbmm", "aten.linear", "aten.matmul")


def timing_table(report: Report) -> Table:
    timing = report.timing
    # No box: "forward  1.84 ms ± 0.06 (IQR) · … · 120 runs × 10 calls · 2 threads" is 80 columns already.
    table = Table(title="Timing", title_justify="left", box=None, show_header=False, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(ratio=1)
    for row in timed(report):
        key, s, r, relative = row.key, row.stats, row.rates, row.relative
        table.add_row(LABELS[key], Text(fmt.stats_line(s), style="yellow" if s.noisy or s.stalled else ""))
        caveat = fmt.caveat(s)
        if caveat:
            table.add_row("", Text(caveat, style="yellow"))
        table.add_row("", f"{fmt.seconds(r.per_step_s)}/step · {fmt.count(round(r.steps_per_s))} steps/s · "
                          f"{r.gflops:.3g} GFLOP/s")
        if relative is not None:
            table.add_row("", _comparison(report, key, r, relative))
    c = timing.threads
    if c and (c.probes or c.skipped or c.fallback):  # not for a plain --threads 1: the line above says it
        table.add_row("threads", threads_text(c))
    if timing.kernel:
        table.add_row("kernel", _kernel_text(timing.kernel, report.prediction.totals.flops))
    if timing.memory:
        table.add_row("memory", _memory_text(timing.memory, report.spec.device))
    return table


def threads_text(c: ThreadChoice) -> str:
    """`1: fastest in a probe of 1 and 2 threads (2.10 ms, 6.31 ms; torch's default 2 is 3.0 × slower)`."""
    text = f"{c.threads}: {c.reason}"
    probed = [p for p in c.probes if p.samples]
    if probed:
        text += f" ({', '.join(fmt.seconds(p.median) for p in probed)} per call"
        slow = c.asked_slowdown if c.asked else c.default_slowdown
        if slow is not None and slow >= SLOW_FACTOR:
            text += f"; {c.asked or c.default} threads {_times(slow)} slower than 1"
        text += ")"
    return text


def _comparison(report: Report, key: str, r: Rates, relative: float) -> str:
    if key == "backward":
        return f"{_times(relative)} the forward; GFLOP/s taken on 3 × the forward's FLOPs"
    if key == "loop":
        kernel = report.timing.kernel
        fused = kernel is not None and kernel.path != "aten"
        module = "the fused module" if fused else f"nn.{report.prediction.spec.kind.torch_name} (no fused kernel)"
        return f"{module} is {_faster(relative)} than this per-step cell loop"
    real = report.prediction.totals.steps
    return (f"{fmt.count(r.steps)} tokens, {fmt.count(real)} real ({real / r.steps:.0%}): "
            f"packed is {_faster(relative)} than padded").replace("%)", " %)")


def _times(x: float) -> str:
    return f"{x:.1f} ×" if x < 10 else f"{x:,.0f} ×"


def _faster(relative: float) -> str:
    return f"{_times(relative)} faster" if relative >= 1 else f"{_times(1 / relative)} slower"


def _kernel_text(k: Kernel, flops: int) -> str:
    ops = dict(k.ops)
    if k.path == "aten":
        shown = [(n, c) for n, c in k.ops if n in MATMULS]
    else:
        shown = [(n, c) for n, c in k.ops if n.split(".")[-1] in ("mkldnn_rnn_layer", "_cudnn_rnn", "miopen_rnn")]
    calls = ", ".join(f"{n} × {c}" for n, c in shown) or f"{sum(ops.values())} ops"
    line = f"{PATHS.get(k.path, k.path)} ({calls})\n"
    counted = k.flop_counter_flops
    if counted == 0 and flops:
        return line + f"FlopCounterMode counts 0 of {fmt.count(flops)} FLOPs (the fused op hides them)"
    if counted < flops:
        return line + f"FlopCounterMode counts {fmt.count(counted)} of {fmt.count(flops)} FLOPs"
    if counted == flops:
        return line + f"FlopCounterMode counts all {fmt.count(flops)} FLOPs: it sees every matmul"
    return line + f"FlopCounterMode counts {fmt.count(counted)} FLOPs (rnnshape counts {fmt.count(flops)})"


def _memory_text(m: Memory, device: str) -> str:
    parts = "\n".join(_joined([f"{name} {fmt.nbytes(b)}" for name, b in m.parts], width=TEXT_WIDTH))
    margin = f"{MARGIN:.0%}".replace("%", " %")
    line = (f"estimate {fmt.nbytes(m.estimate_bytes)} for {m.peak_of} "
            f"(peak model + {margin} + {fmt.nbytes(MARGIN_BYTES)})\n{parts}")
    if m.peak_bytes is not None:
        how = "torch.cuda.max_memory_allocated" if device.startswith("cuda") else "profiler allocation events"
        line += f"\nmeasured {fmt.nbytes(m.peak_bytes)} ({how}): estimate {m.estimate_bytes / m.peak_bytes:.2f} ×"
    return line


def _joined(items: list[str], width: int) -> list[str]:
    """Items joined by ' · ', broken into lines between items (never inside one) to fit ``width``."""
    lines = [items[0]]
    for item in items[1:]:
        if len(lines[-1]) + 3 + len(item) <= width:
            lines[-1] += " · " + item
        else:
            lines.append(item)
    return lines
