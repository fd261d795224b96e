"""Several configurations: side by side, each relative to the first (``compare``), or one configuration over a
grid of values with the power laws its cost follows (``sweep``). Raw numbers only; no torch, no Rich.

>>> from rnnshape.api import analyze
>>> c = comparison(("rnn", "lstm"), [analyze("rnn", dry_run=True), analyze("lstm", dry_run=True)])
>>> c.entries[1].relative.parameters
4.0
>>> v = parse_vary("seq-len=16,64,256")
>>> v.field, v.values
('seq_len', (16, 64, 256))
>>> f = power_fit([(16,), (64,), (256,)], [2.0, 8.0, 32.0], ("seq_len",))
>>> round(f.exponent("seq_len"), 6), round(f.r2, 6), f.points
(1.0, 1.0, 3)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rnnshape.errors import UsageError
from rnnshape.model.options import OPTIONS
from rnnshape.model.report import SCHEMA_VERSION, Key, Report, Shows, keys, with_keys
from rnnshape.model.stats import Stats


def memory_bytes(report: Report) -> int:
    """Parameters plus the input, output and state tensors of one forward."""
    t = report.prediction.totals
    return t.parameter_bytes + t.input_bytes + t.output_bytes


def forward(report: Report) -> Stats | None:
    return report.timing.forward if report.timing else None


def backward(report: Report) -> Stats | None:
    """The backward measurement, once the timing engine provides one (None before, and with --dry-run)."""
    return getattr(report.timing, "backward", None)


@dataclass(frozen=True)
class Ratios:
    """Each number divided by the first entry's; None where either side has no number."""

    parameters: float | None
    macs: float | None
    memory_bytes: float | None
    forward: float | None
    backward: float | None
    # the ratio's spread (an IQR) when the entries were measured in alternating rounds (None otherwise);
    # see time_ratio
    forward_iqr: float | None = None
    backward_iqr: float | None = None


@dataclass(frozen=True)
class Entry:
    label: str  # the configuration as the user typed it ("lstm", or "gru --hidden-size 320")
    report: Report
    relative: Ratios

    JSON: ClassVar = keys(Key("report", spread=True), "label",
                          Key("memory_bytes", lambda e: memory_bytes(e.report), unit="B"), "relative")


@dataclass(frozen=True, repr=False)
class Comparison(Shows):
    """Several configurations side by side (``rnnshape compare``)."""

    entries: tuple[Entry, ...]
    shared: str  # the options given once for all entries, as typed ("" for none)
    planned: int  # how many entries were asked for
    interrupted: bool = False  # Ctrl-C: entries holds what was measured before it

    JSON: ClassVar = keys(Key("schema_version", lambda c: SCHEMA_VERSION), Key("shared_options", "shared"),
                          "entries", "planned", "interrupted")


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def time_ratio(s: Stats | None, base: Stats | None) -> tuple[float | None, float | None]:
    """(ratio, its spread as an IQR). Measured in the same rounds, each round's ratio is taken: a load
    change that slows a round slows both sides of it and cancels out. Their median is the ratio, their IQR
    its spread, unless the rounds did not move together (noise within each call, not across rounds): then
    the per-round ratios are wider than the two measurements' own spreads combined, and the ratio of the
    medians, with those spreads combined, is the steadier figure. Unpaired: the ratio of the medians.

    >>> a = Stats((2.0, 4.0, 2.0, 2.0), 1, 1, interleaved=True)
    >>> b = Stats((1.0, 2.0, 1.0, 1.0), 1, 1, interleaved=True)
    >>> time_ratio(a, b)
    (2.0, 0.0)
    """
    if s is None or base is None:
        return None, None
    if not (s.interleaved and base.interleaved and s.runs == base.runs and s.runs > 1):
        return _ratio(s.median, base.median), None
    per_round = Stats(tuple(x / y for x, y in zip(s.samples, base.samples)), 1, 1)
    combined = math.hypot(s.iqr_ratio, base.iqr_ratio)  # relative spreads of independent measurements add so
    if per_round.iqr_ratio <= combined:
        return per_round.median, per_round.iqr
    ratio = _ratio(s.median, base.median)
    return ratio, None if ratio is None else ratio * combined


def ratios(report: Report, base: Report) -> Ratios:
    t, b = report.prediction.totals, base.prediction.totals
    fwd, fwd_iqr = time_ratio(forward(report), forward(base))
    bwd, bwd_iqr = time_ratio(backward(report), backward(base))
    return Ratios(
        parameters=_ratio(t.parameters, b.parameters),
        macs=_ratio(t.macs, b.macs),
        memory_bytes=_ratio(memory_bytes(report), memory_bytes(base)),
        forward=fwd,
        backward=bwd,
        forward_iqr=fwd_iqr,
        backward_iqr=bwd_iqr,
    )


def comparison(labels: Sequence[str], reports: Sequence[Report], *, shared: str = "", planned: int | None = None,
               interrupted: bool = False) -> Comparison:
    """Pair labels with reports (there may be fewer reports than labels after Ctrl-C)."""
    entries = tuple(Entry(label, r, ratios(r, reports[0])) for label, r in zip(labels, reports))
    return Comparison(entries, shared, len(labels) if planned is None else planned, interrupted)


# Sweep: power-law fits, y = c · x1^k1 · x2^k2 ..., by least squares on the logarithms


@dataclass(frozen=True)
class PowerFit:
    """The exponent of each variable, the scale c, and R² of the fit in log space."""

    exponents: tuple[tuple[str, float], ...]
    scale: float
    r2: float
    points: int

    JSON: ClassVar = keys(Key("exponents", lambda f: dict(f.exponents)), "scale", "r2", "points")

    def exponent(self, name: str) -> float:
        return dict(self.exponents)[name]


def power_fit(xs: Sequence[Sequence[float]], ys: Sequence[float], names: Sequence[str]) -> PowerFit | None:
    """Fit ``ys ≈ c · Π xs[i]^k_i``; None when there are too few points or a value is not positive.

    Each row of ``xs`` holds one point's values, in the order of ``names``.
    """
    n, m = len(ys), len(names)
    if m == 0 or n < m + 1 or len(xs) != n:
        return None
    if any(v <= 0 for row in xs for v in row) or any(y <= 0 for y in ys):
        return None
    rows = [[1.0] + [math.log(v) for v in row] for row in xs]
    logy = [math.log(y) for y in ys]
    normal = [[sum(r[i] * r[j] for r in rows) for j in range(m + 1)] for i in range(m + 1)]
    rhs = [sum(r[i] * t for r, t in zip(rows, logy)) for i in range(m + 1)]
    coef = _solve(normal, rhs)
    if coef is None:
        return None
    predicted = [sum(c * v for c, v in zip(coef, r)) for r in rows]
    mean = sum(logy) / n
    ss_tot = sum((t - mean) ** 2 for t in logy)
    ss_res = sum((t - p) ** 2 for t, p in zip(logy, predicted))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 1e-12 else (1.0 if ss_res < 1e-12 else 0.0)
    return PowerFit(exponents=tuple(zip(names, coef[1:])), scale=math.exp(coef[0]), r2=r2, points=n)


def _solve(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; None for a singular system (a variable never varies)."""
    size = len(b)
    a = [row[:] + [v] for row, v in zip(a, b)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(size):
            if r != col:
                f = a[r][col] / a[col][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col])]
    return [a[i][size] / a[i][i] for i in range(size)]


# Sweep: the grid and its points

# --vary name -> (the kind command's parameter (the option table's name), the Spec field / JSON key)
# (the two are one name since the option table): the names and flags are the table's (rnnshape.model.options)
_VARIED = ("seq_len", "batch", "hidden_size", "input_size", "num_layers", "proj_size")
VARIABLES = {OPTIONS[n].flag.removeprefix("--"): (n, n) for n in _VARIED}  # seq-len, batch, ..., layers, proj-size
ALIASES = {f.removeprefix("--"): OPTIONS[n].flag.removeprefix("--") for n in _VARIED  # num-layers -> layers
           for f in OPTIONS[n].flags if f.startswith("--") and f != OPTIONS[n].flag}
MAX_POINTS = 1000
EXAMPLE = "for example --vary seq-len=16,64,256,1024"


@dataclass(frozen=True)
class Vary:
    option: str  # as typed after --vary, kebab-case: "seq-len"
    param: str  # the kind command's parameter name: "seq_len", "layers"
    field: str  # the Spec field and JSON key: "seq_len", "num_layers"
    values: tuple[int, ...]

    @property
    def flag(self) -> str:
        return "--" + self.option


def parse_vary(text: str) -> Vary:
    """``OPTION=V1,V2,...`` -> Vary. Value rules (>= 1 ...) are the spec's, checked per point."""
    name, eq, values = text.partition("=")
    name = name.strip().lstrip("-").replace("_", "-")
    name = ALIASES.get(name, name)
    if not eq:
        raise UsageError(f"--vary must be OPTION=V1,V2,... (got {text!r})", hint=EXAMPLE)
    if name not in VARIABLES:
        raise UsageError(f"--vary can vary {', '.join(VARIABLES)} (got {name or text!r})",
                         hint="only integer options can be swept; compare other choices with `rnnshape compare`")
    parts = [p.strip() for p in values.split(",")]
    if not any(parts):
        raise UsageError(f"--vary {name} needs at least one value after '=' (got {text!r})", hint=EXAMPLE)
    try:
        ints = tuple(int(p) for p in parts)
    except ValueError:
        bad = next(p for p in parts if not p.lstrip("-").isdigit())
        raise UsageError(f"--vary {name} values must be integers (got {bad!r} in {text!r})", hint=EXAMPLE) from None
    dupes = sorted({v for v in ints if ints.count(v) > 1})
    if dupes:
        raise UsageError(f"--vary {name} lists a value twice (got {dupes[0]} in {text!r})")
    param, field = VARIABLES[name]
    return Vary(name, param, field, ints)


def check_varies(varies: Sequence[Vary], given: dict[str, str]) -> None:
    """No option varied twice, none both varied and set, and a grid of sane size."""
    seen: set[str] = set()
    for v in varies:
        if v.param in seen:
            raise UsageError(f"--vary {v.option} is given twice",
                             hint=f"list every value once: --vary {v.option}=A,B,C")
        seen.add(v.param)
        if v.param in given:
            raise UsageError(f"{given[v.param]} cannot be set while --vary {v.option} varies it",
                             hint=f"drop {given[v.param]}")
    check_grid(varies, "--vary")


def check_grid(varies: Sequence[Vary], what: str) -> None:
    """A grid of sane size, named as the caller's edge names it (``--vary`` on the command line, ``vary``
    in Python)."""
    points = 1
    for v in varies:
        points *= len(v.values)
    if points > MAX_POINTS:
        raise UsageError(f"{what} makes a grid of {points:,} points, more than {MAX_POINTS:,}",
                         hint="sweep fewer values, or one option at a time")


def grid(varies: Sequence[Vary]) -> list[tuple[int, ...]]:
    """Every combination, the first --vary slowest (it is the chart's x axis; the others make its series)."""
    return list(itertools.product(*(v.values for v in varies)))


@dataclass(frozen=True)
class Point:
    values: tuple[int, ...]  # one per Vary, in order
    report: Report

    @property
    def steps_per_s(self) -> float | None:
        """(sample, time step) pairs per second of forward; None without a time."""
        s = forward(self.report)
        return self.report.prediction.totals.steps / s.median if s is not None and s.median > 0 else None


@dataclass(frozen=True)
class Growth:
    """time ∝ Π x^k measured, MACs ∝ Π x^k from the predictor, over the variables that can be fitted."""

    variables: tuple[str, ...]  # Spec fields fitted (those with >= 2 distinct, positive values)
    time: PowerFit | None
    macs: PowerFit | None
    # --backward untimed: the predicted training-step memory's growth (issue 24); None otherwise
    training_memory: PowerFit | None = None

    JSON: ClassVar = keys("variables", "time", "macs",
                          Key("training_memory", present=lambda g: g.training_memory is not None))


@dataclass(frozen=True, repr=False)
class Sweep(Shows):
    """One configuration over a grid of values (``rnnshape sweep``)."""

    varies: tuple[Vary, ...]
    points: tuple[Point, ...]
    planned: int  # points asked for
    growth: Growth
    interrupted: bool = False

    JSON: ClassVar = keys(
        Key("schema_version", lambda s: SCHEMA_VERSION),
        Key("vary", lambda s: {v.field: v.values for v in s.varies}),
        Key("points", lambda s: [with_keys(p.report, values={v.field: x for v, x in zip(s.varies, p.values)},
                                           memory_bytes=memory_bytes(p.report), steps_per_s=p.steps_per_s)
                                 for p in s.points]),
        Key("fit", "growth"),
        "planned",
        "interrupted",
    )


def growth(varies: Sequence[Vary], points: Sequence[Point]) -> Growth:
    idx = [i for i, v in enumerate(varies)
           if len({p.values[i] for p in points}) >= 2 and all(p.values[i] > 0 for p in points)]
    names = tuple(varies[i].field for i in idx)
    xs = [[p.values[i] for i in idx] for p in points]
    macs = power_fit(xs, [p.report.prediction.totals.macs for p in points], names)
    timed = [(x, forward(p.report).median) for x, p in zip(xs, points) if forward(p.report) is not None]
    time = power_fit([x for x, _ in timed], [t for _, t in timed], names) if timed else None
    memory = None
    if points and all(p.report.memory is not None for p in points):
        memory = power_fit(xs, [p.report.memory.estimate_bytes for p in points], names)
    return Growth(names, time, macs, memory)


def sweep_result(varies: Sequence[Vary], points: Sequence[Point], *, planned: int | None = None,
                 interrupted: bool = False) -> Sweep:
    total = len(grid(varies)) if planned is None else planned
    return Sweep(tuple(varies), tuple(points), total, growth(varies, points), interrupted)
