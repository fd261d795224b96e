"""The JSON view of a Report's timing: each statement's statistics plus its rates, times in seconds."""

from __future__ import annotations

from rnnshape.model.report import Kernel, Memory, Report
from rnnshape.model.stats import Stats, ThreadChoice, timed


def stats_dict(s: Stats) -> dict:
    return {
        "median_s": s.median,
        "iqr_s": s.iqr,
        "min_s": s.min,
        "max_s": s.max,
        "runs": s.runs,
        "calls_per_run": s.calls_per_run,
        "threads": s.threads,
        "noisy": s.noisy,
    }


def timing_dict(report: Report) -> dict | None:
    """``timing`` in the document: forward, backward, loop, padded (null when not timed), kernel, memory."""
    timing = report.timing
    if timing is None:
        return None
    doc: dict = {"forward": None, "backward": None, "loop": None, "padded": None}
    for row in timed(report):
        key, s, r, relative = row.key, row.stats, row.rates, row.relative
        entry = {**stats_dict(s), "steps": r.steps, "flops": r.flops, "per_step_s": r.per_step_s,
                 "steps_per_s": r.steps_per_s, "gflops": r.gflops, "floor_s": s.floor_s, "stalled": s.stalled,
                 "interleaved": s.interleaved, "samples_s": list(s.samples)}
        if relative is not None:
            entry["relative"] = relative  # this median / the forward's
        doc[key] = entry
    doc["kernel"] = kernel_dict(timing.kernel, report.prediction.totals.flops) if timing.kernel else None
    doc["memory"] = memory_dict(timing.memory) if timing.memory else None
    doc["threads"] = threads_dict(timing.threads) if timing.threads else None
    return doc


def threads_dict(c: ThreadChoice) -> dict:
    """The count timed on, why, and every count probed with its per-call samples and median (seconds)."""
    return {
        "used": c.threads,
        "reason": c.reason,
        "torch_default": c.default,
        "asked": c.asked,
        "fallback": c.fallback,
        "default_slowdown": c.default_slowdown,
        "probes": [{"threads": p.threads, "median_s": p.median, "samples_s": list(p.samples)}
                   for p in c.probes if p.samples],
    }


def kernel_dict(k: Kernel, flops: int) -> dict:
    return {
        "path": k.path,
        "ops": [{"name": name, "calls": n} for name, n in k.ops],
        "flop_counter_flops": k.flop_counter_flops,
        "flop_counter_hides_matmuls": k.flop_counter_flops < flops,
    }


def memory_dict(m: Memory) -> dict:
    return {"estimate_bytes": m.estimate_bytes, "parts": dict(m.parts), "peak_bytes": m.peak_bytes,
            "covers": m.peak_of}
