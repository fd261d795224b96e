"""Formatting shared by the compare and sweep views (terminal and Markdown). Reads only result objects.

>>> ratio(4.0), ratio(123.4), ratio(None)
('×4.00', '×123', '–')
"""

from __future__ import annotations

from rnnshape.model.fit import PowerFit
from rnnshape.model.report import Report, TensorInfo
from rnnshape.model.stats import STALL_FACTOR, Stats
from rnnshape.model.sweep import Sweep
from rnnshape.render import fmt

TIME_GAP = 0.15  # exponent difference beyond which time and work are said to part ways
GOOD_FIT = 0.9  # R² below this: the times do not follow one power law (noise, or a regime change)


def ratio(x: float | None) -> str:
    if x is None:
        return "–"
    digits = 2 if x < 10 else (1 if x < 100 else 0)
    return f"×{x:,.{digits}f}"


number = fmt.number


def table_unit(stats: list[Stats | None]) -> tuple[str, float]:
    """One time unit for a whole column: the one that suits its middle median (so few numbers run long)."""
    medians = sorted(s.median for s in stats if s is not None)
    return fmt.time_unit(medians[(len(medians) - 1) // 2]) if medians else ("s", 1.0)


def time_cell(s: Stats | None, unit: tuple[str, float] | None = None) -> str:
    """`1.84 ± 0.06 ms (120 runs)` with a unit; `1.84 ± 0.06` without (the header states it).

    A stalled median is marked `stalled`, a spread larger than the median `±>` (see :func:`time_marks`).
    """
    if s is None:
        return "–"
    u = unit or fmt.time_unit(s.median)
    text = f"{number(s.median, u)} ± {number(s.iqr, u)}" + ("!" if s.iqr > s.median else "")
    if s.stalled:
        text += " stalled"
    return text if unit else f"{text} {u[0]} ({s.runs} runs)"


def time_marks(stats: list[Stats | None]) -> list[str]:
    """The notes a table of times needs for what :func:`time_cell` marks."""
    present = [s for s in stats if s is not None]
    out = []
    if any(s.noisy for s in present):
        out.append("yellow: noisy (IQR over 10 % of the median, or under 3 runs); raise --min-time")
    if any(s.iqr > s.median for s in present):
        out.append("!: the spread is larger than the median itself")
    if any(s.stalled for s in present):
        out.append(f"stalled: median over {STALL_FACTOR:g} × the quickest call just before: not trustworthy")
    return out


def time_ratio(value: float | None, iqr: float | None) -> str:
    """`×4.48 ± 0.12` when the ratio was taken round by round, else `×4.48`."""
    if value is None or iqr is None:
        return ratio(value)
    digits = 2 if value < 10 else (1 if value < 100 else 0)
    return f"{ratio(value)} ± {iqr:,.{digits}f}"


def runs_range(stats: list[Stats | None]) -> str:
    """`120 runs` or `40–120 runs`, and the threads: what every time shown stands on."""
    present = [s for s in stats if s is not None]
    if not present:
        return ""
    lo, hi = min(s.runs for s in present), max(s.runs for s in present)
    threads = sorted({s.threads for s in present})
    t = "/".join(str(n) for n in threads)
    rounds = " in alternating rounds" if all(s.interleaved for s in present) else ""
    return ((f"{lo}" if lo == hi else f"{lo}–{hi}") + f" runs{rounds} · {t} thread" + ("s" if threads != [1] else "")
            + (" (each configuration on its fastest)" if len(threads) > 1 else ""))


def interrupted_text(done: int, planned: int, what: str) -> str:
    """`interrupted: 2 of 4 points measured`; after a full round every entry is there, with fewer runs."""
    if done == planned:
        return f"interrupted: all {planned} {what} measured, for fewer rounds than asked"
    return f"interrupted: {done} of {planned} {what} measured"


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
