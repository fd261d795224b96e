"""`compare` and `sweep` as JSON (raw numbers, seconds), CSV (one row per entry or point) and Markdown.

Each reads only its result object. No Rich here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict

from rnnshape.model.comparison import Comparison, Entry, backward, forward, memory_bytes
from rnnshape.model.fit import PowerFit
from rnnshape.model.report import Report
from rnnshape.model.stats import Stats
from rnnshape.model.sweep import Sweep
from rnnshape.render import fmt
from rnnshape.render.jsonout import SCHEMA_VERSION, dumps, report_dict
from rnnshape.render.multi_fmt import (
    growth_verdicts,
    interrupted_text,
    output_tensor,
    power_law,
    ratio,
    state_tensors,
    states_text,
    time_cell,
    time_ratio,
)

# JSON


def compare_dict(c: Comparison) -> dict:
    entries = []
    for e in c.entries:
        doc = report_dict(e.report)
        doc["label"] = e.label
        doc["memory_bytes"] = memory_bytes(e.report)
        doc["relative"] = asdict(e.relative)
        entries.append(doc)
    return {"schema_version": SCHEMA_VERSION, "shared_options": c.shared, "entries": entries,
            "planned": c.planned, "interrupted": c.interrupted}


def _fit(f: PowerFit | None) -> dict | None:
    if f is None:
        return None
    return {"exponents": dict(f.exponents), "scale": f.scale, "r2": f.r2, "points": f.points}


def sweep_dict(s: Sweep) -> dict:
    points = []
    for p in s.points:
        doc = report_dict(p.report)
        doc["values"] = {v.field: x for v, x in zip(s.varies, p.values)}
        doc["memory_bytes"] = memory_bytes(p.report)
        doc["steps_per_s"] = p.steps_per_s
        points.append(doc)
    g = s.growth
    return {
        "schema_version": SCHEMA_VERSION,
        "vary": {v.field: list(v.values) for v in s.varies},
        "points": points,
        "fit": {"variables": list(g.variables), "time": _fit(g.time), "macs": _fit(g.macs),
                **({"training_memory": _fit(g.training_memory)} if g.training_memory is not None else {})},
        "planned": s.planned,
        "interrupted": s.interrupted,
    }


def compare_json(c: Comparison) -> str:
    return dumps(compare_dict(c)) + "\n"


def sweep_json(s: Sweep) -> str:
    return dumps(sweep_dict(s)) + "\n"


# CSV: raw numbers, one row per entry or point


def _stats_cells(s: Stats | None) -> list:
    return ["", "", ""] if s is None else [s.median, s.iqr, s.runs]


def _shape_cells(report: Report) -> list[str]:
    out = output_tensor(report)
    states = " ".join(f"{t.name}={fmt.shape(t.shape)}" for t in state_tensors(report))
    return [fmt.shape(out.shape) if out else "", states]


def _none(v):
    return "" if v is None else v


def compare_csv(c: Comparison) -> str:
    head = ["entry", "label", "parameters", "macs", "memory_bytes", "forward_median_s", "forward_iqr_s",
            "forward_runs", "backward_median_s", "backward_iqr_s", "backward_runs", "output_shape", "states",
            "relative_parameters", "relative_macs", "relative_memory_bytes", "relative_forward", "relative_backward"]
    rows = []
    for i, e in enumerate(c.entries, 1):
        t, r = e.report.prediction.totals, e.relative
        rows.append([i, e.label, t.parameters, t.macs, memory_bytes(e.report), *_stats_cells(forward(e.report)),
                     *_stats_cells(backward(e.report)), *_shape_cells(e.report),
                     *(_none(x) for x in (r.parameters, r.macs, r.memory_bytes, r.forward, r.backward))])
    return _csv(head, rows)


def sweep_csv(s: Sweep) -> str:
    head = [v.field for v in s.varies] + ["forward_median_s", "forward_iqr_s", "forward_runs", "steps_per_s",
                                          "parameters", "macs", "memory_bytes", "output_shape", "states"]
    rows = []
    for p in s.points:
        t = p.report.prediction.totals
        rows.append([*p.values, *_stats_cells(forward(p.report)), _none(p.steps_per_s), t.parameters, t.macs,
                     memory_bytes(p.report), *_shape_cells(p.report)])
    if any(p.report.memory is not None for p in s.points):  # --backward untimed: the training step, predicted
        head.append("training_memory_bytes")
        for row, p in zip(rows, s.points):
            row.append(_none(p.report.memory.estimate_bytes if p.report.memory else None))
    return _csv(head, rows)


def _csv(head: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(head)
    writer.writerows(rows)
    return buf.getvalue()


# Markdown: formatted like the terminal table


def _md(head: list[str], rows: list[list[str]], right: set[int]) -> str:
    align = ["---:" if i in right else ":---" for i in range(len(head))]
    lines = [head, align, *rows]
    return "\n".join("| " + " | ".join(str(c).replace("|", "\\|") for c in line) + " |" for line in lines) + "\n"


def _entry_md(i: int, e: Entry, timed: bool, timed_backward: bool) -> list[str]:
    t, r = e.report.prediction.totals, e.relative
    out = output_tensor(e.report)
    cells = [str(i), e.label, f"{fmt.count(t.parameters)} {ratio(r.parameters)}",
             f"{fmt.count(t.macs)} {ratio(r.macs)}", f"{fmt.nbytes(memory_bytes(e.report))} {ratio(r.memory_bytes)}"]
    for on, stats, rel, iqr in ((timed, forward(e.report), r.forward, r.forward_iqr),
                                (timed_backward, backward(e.report), r.backward, r.backward_iqr)):
        if on:
            cells.append(f"{time_cell(stats)} {time_ratio(rel, iqr if i > 1 else None)}")
    return cells + [fmt.shape(out.shape) if out else "–", states_text(e.report)]


def compare_markdown(c: Comparison) -> str:
    timed = any(forward(e.report) is not None for e in c.entries)
    timed_backward = any(backward(e.report) is not None for e in c.entries)
    head = ["#", "configuration", "parameters", "MACs", "memory"]
    head += (["forward"] if timed else []) + (["backward"] if timed_backward else []) + ["output", "states"]
    rows = [_entry_md(i, e, timed, timed_backward) for i, e in enumerate(c.entries, 1)]
    note = f"\nShared options: `{c.shared}`. " if c.shared else "\n"
    note += "Ratios (×) are relative to entry 1; memory is parameters plus input, output and state tensors.\n"
    if c.interrupted:
        note += interrupted_text(len(c.entries), c.planned, "configurations").capitalize() + ".\n"
    return _md(head, rows, set(range(len(head) - 2)) - {1}) + note


def sweep_markdown(s: Sweep) -> str:
    timed = any(forward(p.report) is not None for p in s.points)
    head = [v.option for v in s.varies] + (["forward", "steps/s"] if timed else []) + ["parameters", "MACs", "memory"]
    rows = []
    for p in s.points:
        t = p.report.prediction.totals
        cells = [str(x) for x in p.values]
        if timed:
            cells += [time_cell(forward(p.report)), fmt.count(round(p.steps_per_s)) if p.steps_per_s else "–"]
        rows.append(cells + [fmt.count(t.parameters), fmt.count(t.macs), fmt.nbytes(memory_bytes(p.report))])
    if any(p.report.memory is not None for p in s.points):  # --backward untimed: the training step, predicted
        head.append("training memory")
        for row, p in zip(rows, s.points):
            row.append(fmt.nbytes(p.report.memory.estimate_bytes) if p.report.memory else "–")
    text = _md(head, rows, set(range(len(head))))
    lines = [x for x in (power_law("time", s.growth.time), power_law("MACs", s.growth.macs),
                         power_law("training memory", s.growth.training_memory)) if x]
    lines += growth_verdicts(s)
    if s.interrupted:
        lines.append(interrupted_text(len(s.points), s.planned, "points").capitalize() + ".")
    return text + "".join(f"\n{line}\n" for line in lines)

