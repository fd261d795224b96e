"""Formatting shared by the compare and sweep views (terminal and Markdown). Reads only result objects.

>>> ratio(4.0), ratio(123.4), ratio(None)
('×4.00', '×123', '–')
"""

from __future__ import annotations

from rnnshape.model.fit import PowerFit
from rnnshape.model.report import Report, TensorInfo
from rnnshape.model.stats import Stats
from rnnshape.model.sweep import Sweep
from rnnshape.render import fmt

TIME_GAP = 0.15  # exponent difference beyond which time and work are said to part ways
GOOD_FIT = 0.9  # R² below this: the times do not follow one power law (noise, or a regime change)


def ratio(x: float | None) -> str:
    if x is None:
        return "–"
    digits = 2 if x < 10 else (1 if x < 100 else 0)
    return f"×{x:,.{digits}f}"


def number(v: float, unit: tuple[str, float]) -> str:
    """A time in a stated unit, without the unit: `1.84`, `18.4`, `1,840`."""
    x = v / unit[1]
    digits = 0 if x >= 100 else (1 if x >= 10 else 2)
    return f"{x:,.{digits}f}"


def table_unit(stats: list[Stats | None]) -> tuple[str, float]:
    """One time unit for a whole column: the one that suits its middle median (so few numbers run long)."""
    medians = sorted(s.median for s in stats if s is not None)
    return fmt.time_unit(medians[(len(medians) - 1) // 2]) if medians else ("s", 1.0)


def time_cell(s: Stats | None, unit: tuple[str, float] | None = None) -> str:
    """`1.84 ± 0.06 ms (120 runs)` with a unit; `1.84 ± 0.06` without (the header states it)."""
    if s is None:
        return "–"
    u = unit or fmt.time_unit(s.median)
    text = f"{number(s.median, u)} ± {number(s.iqr, u)}"
    return text if unit else f"{text} {u[0]} ({s.runs} runs)"


def runs_range(stats: list[Stats | None]) -> str:
    """`120 runs` or `40–120 runs`, and the threads: what every time shown stands on."""
    present = [s for s in stats if s is not None]
    if not present:
        return ""
    lo, hi = min(s.runs for s in present), max(s.runs for s in present)
    threads = sorted({s.threads for s in present})
    t = "/".join(str(n) for n in threads)
    return (f"{lo}" if lo == hi else f"{lo}–{hi}") + f" runs · {t} thread" + ("s" if threads != [1] else "")


def output_tensor(report: Report) -> TensorInfo | None:
    return next((t for t in report.prediction.outputs if t.name == "output"), None)


def state_tensors(report: Report) -> list[TensorInfo]:
    return [t for t in report.prediction.outputs if not t.name.startswith("output")]


def states_text(report: Report, sep: str = "  ") -> str:
    return sep.join(f"{t.name} {fmt.shape(t.shape)}" for t in state_tensors(report))


def power_law(what: str, f: PowerFit | None) -> str | None:
    """`time ∝ seq_len^0.93 (R² 0.998, 4 points)`."""
    if f is None:
        return None
    terms = " · ".join(f"{name}^{k:.2f}" for name, k in f.exponents)
    return f"{what} ∝ {terms} (R² {f.r2:.3f}, {f.points} points)"


def growth_verdicts(s: Sweep) -> list[str]:
    """Where measured time and work (MACs) part ways, per variable."""
    g = s.growth
    if not (g.time and g.macs):
        return []
    if g.time.r2 < GOOD_FIT:
        return [f"the time fit is loose (R² {g.time.r2:.2f}): the times are noisy or change regime within the "
                f"range; read the chart, or raise --min-time"]
    out = []
    for name in g.variables:
        gap = g.time.exponent(name) - g.macs.exponent(name)
        if gap < -TIME_GAP:
            out.append(f"over {name}, time grows slower than the work: fixed per-call overheads dominate the "
                       f"small end")
        elif gap > TIME_GAP:
            out.append(f"over {name}, time grows faster than the work: memory traffic or caches dominate the "
                       f"large end")
        else:
            out.append(f"over {name}, time grows with the work")
    return out
