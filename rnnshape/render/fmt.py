"""Number formatting for people. Data stays raw everywhere else; only renderers call these."""

from __future__ import annotations

from rnnshape.model.stats import MIN_RUNS, Stats, nbytes

__all__ = ["nbytes"]  # re-exported: renderers format bytes through fmt


def count(n: int) -> str:
    return f"{n:,}"


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
