"""Number formatting for people. Data stays raw everywhere else; only renderers call these."""

from __future__ import annotations

from rnnshape.model.stats import MIN_RUNS, STALL_FACTOR, Stats, nbytes

__all__ = ["nbytes"]  # re-exported: renderers format bytes through fmt


def count(n: int) -> str:
    return f"{n:,}"


def counted(n: int, noun: str) -> str:
    """``1 tensor``, ``2 tensors``: a count with its noun, plural for every n but 1."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def shape(s: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def dims(d: tuple[str, ...], sep: str = ", ") -> str:
    return "(" + sep.join(d) + ")"


def time_unit(seconds: float) -> tuple[str, float]:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return unit, scale
    return "ns", 1e-9


def seconds(value: float, unit: tuple[str, float] | None = None) -> str:
    name, scale = unit or time_unit(value)
    v = value / scale
    digits = 0 if v >= 100 else (1 if v >= 10 else 2)
    return f"{v:.{digits}f} {name}"


def stats_line(s: Stats) -> str:
    """`1.84 ms ± 0.06 (IQR) · 1.79 … 2.10 ms · 120 runs × 10 calls · 2 threads`: never a time alone.

    The spread is in the median's unit, however large (`161 µs ± 20,040 (IQR)`): a spread in another
    unit reads as a small one (:func:`caveat` says when it exceeds the median).
    """
    unit = time_unit(s.median)
    bare = lambda v: number(v, unit)  # noqa: E731
    calls = f" × {s.calls_per_run} calls" if s.calls_per_run > 1 else ""
    threads = f"{s.threads} thread" + ("s" if s.threads != 1 else "")
    # a max that needs a larger unit (a stall) gets its own: "241 µs … 36.8 ms", not "241 … 36770 µs"
    span = (f"{bare(s.min)} … {seconds(s.max, unit)}" if time_unit(s.max) == unit
            else f"{seconds(s.min, unit)} … {seconds(s.max)}")
    runs = f"{s.runs:,} run" + ("s" if s.runs != 1 else "")
    if s.runs < MIN_RUNS:
        spread = "(spread unknown)"  # an IQR of one or two samples says nothing
    else:
        spread = f"± {bare(s.iqr)} (IQR)"
    return f"{seconds(s.median, unit)} {spread} · {span} · {runs}{calls} · {threads}"


def number(v: float, unit: tuple[str, float]) -> str:
    """A time in a stated unit, without the unit: `1.84`, `18.4`, `1,840`."""
    x = v / unit[1]
    digits = 0 if x >= 100 else (1 if x >= 10 else 2)
    return f"{x:,.{digits}f}"


def caveat(s: Stats) -> str | None:
    """Under a median that is not a fact: why (None when it is one)."""
    if s.stalled and s.floor_s is not None:
        return (f"not trustworthy: {s.stall_factor:,.0f} × the quickest call just before "
                f"({seconds(s.floor_s)}): every run stalled alike")
    if s.runs >= MIN_RUNS and s.iqr > s.median:
        return "spread over the median: the runs disagree too much for one figure"
    return None


# Times in a table (compare, sweep): one unit per column, each median with its spread


def ratio(x: float | None) -> str:
    """``×4.00``, ``×123``; ``–`` where there is no number.

    >>> ratio(4.0), ratio(123.4), ratio(None)
    ('×4.00', '×123', '–')
    """
    if x is None:
        return "–"
    digits = 2 if x < 10 else (1 if x < 100 else 0)
    return f"×{x:,.{digits}f}"


def time_ratio(value: float | None, iqr: float | None) -> str:
    """`×4.48 ± 0.12` when the ratio was taken round by round, else `×4.48`."""
    if value is None or iqr is None:
        return ratio(value)
    digits = 2 if value < 10 else (1 if value < 100 else 0)
    return f"{ratio(value)} ± {iqr:,.{digits}f}"


def table_unit(stats: list[Stats | None]) -> tuple[str, float]:
    """One time unit for a whole column: the one that suits its middle median (so few numbers run long)."""
    medians = sorted(s.median for s in stats if s is not None)
    return time_unit(medians[(len(medians) - 1) // 2]) if medians else ("s", 1.0)


def time_cell(s: Stats | None, unit: tuple[str, float] | None = None) -> str:
    """`1.84 ± 0.06 ms (120 runs)` with a unit; `1.84 ± 0.06` without (the header states it).

    A stalled median is marked `stalled`, a spread larger than the median `±>` (see :func:`time_marks`).
    """
    if s is None:
        return "–"
    u = unit or time_unit(s.median)
    text = f"{number(s.median, u)} ± {number(s.iqr, u)}" + ("!" if s.iqr > s.median else "")
    if s.stalled:
        text += " stalled"
    return text if unit else f"{text} {u[0]} ({counted(s.runs, 'run')})"


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
