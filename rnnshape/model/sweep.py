"""One configuration measured over a grid of values, and how its cost grows. No torch, no Rich.

>>> v = parse_vary("seq-len=16,64,256")
>>> v.field, v.values
('seq_len', (16, 64, 256))
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from rnnshape.errors import UsageError
from rnnshape.model.comparison import forward
from rnnshape.model.fit import PowerFit, power_fit
from rnnshape.model.report import Report

# --vary name -> (the kind command's parameter (the option table's name), the Spec field / JSON key)
VARIABLES = {
    "seq-len": ("seq_len", "seq_len"),
    "batch": ("batch", "batch"),
    "hidden-size": ("hidden_size", "hidden_size"),
    "input-size": ("input_size", "input_size"),
    "layers": ("num_layers", "num_layers"),
    "proj-size": ("proj_size", "proj_size"),
}
ALIASES = {"num-layers": "layers"}
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
    points = 1
    for v in varies:
        points *= len(v.values)
    if points > MAX_POINTS:
        raise UsageError(f"--vary makes a grid of {points:,} points, more than {MAX_POINTS:,}",
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


@dataclass(frozen=True)
class Sweep:
    varies: tuple[Vary, ...]
    points: tuple[Point, ...]
    planned: int  # points asked for
    growth: Growth
    interrupted: bool = False


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

