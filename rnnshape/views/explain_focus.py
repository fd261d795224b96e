"""`--explain --layer 1 --reverse --gate f`: one block of an Explanation, the rows a question is about.

"Where do the forget-gate weights of layer 1, reverse, live?" is answered by the group of that layer and
direction, cut to the gate's equation and its terms, and the final-state slice the group writes.

>>> from rnnshape.model.predict import predict
>>> from rnnshape.model.spec import make_spec
>>> from rnnshape.views.explain import explain
>>> ex = focus(explain(predict(make_spec("lstm", num_layers=2, bidirectional=True))), Focus(1, True, "f"))
>>> [(g.label, [e.lhs for e in g.equations]) for g in ex.groups]
[('layer 1 ←', ['f_t'])]
>>> for t in ex.groups[0].equations[0].terms:
...     if t.source:
...         print(t.source.parameter, t.source.rows)
weight_ih_l1_reverse (20, 40)
bias_ih_l1_reverse (20, 40)
weight_hh_l1_reverse (20, 40)
bias_hh_l1_reverse (20, 40)
>>> [f"{s.tensor}[{s.index}]" for s in ex.states]
['h_n[3]', 'c_n[3]']
>>> [g.label for g in focus(explain(predict(make_spec("gru", num_layers=2, bidirectional=True))), Focus(1)).groups]
['layer 1 →', 'layer 1 ←']
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rnnshape.errors import UsageError
from rnnshape.views.explain import Explanation, Group


@dataclass(frozen=True)
class Focus:
    """Which block: a layer (or module, or cell, of a stack), a direction, a gate (or state) equation."""

    layer: int | None = None
    reverse: bool = False
    gate: str | None = None

    @property
    def active(self) -> bool:
        return self.layer is not None or self.reverse or self.gate is not None

    def describe(self) -> str:
        parts = [] if self.layer is None else [f"layer {self.layer}"]
        if self.reverse:
            parts.append("reverse")
        if self.gate is not None:
            parts.append(f"gate {self.gate}")
        return " · ".join(parts)


def level(g: Group) -> int:
    """The group's place in the stack: its layer, or its module or cell index in a --hidden-size list."""
    if g.module is not None:
        return g.module
    return g.layer or 0


def focus(ex: Explanation, f: Focus) -> Explanation:
    """``ex`` cut to the focused groups, equations and state slices; a usage error names what exists."""
    if not f.active:
        return ex
    groups = list(ex.groups)
    if f.layer is not None:
        levels = sorted({level(g) for g in groups})
        if f.layer not in levels:
            raise UsageError(f"--layer must be one of {', '.join(map(str, levels))} for this model "
                             f"(got {f.layer})", hint="layers count from 0, as in weight_ih_l0")
        groups = [g for g in groups if level(g) == f.layer]
    if f.reverse:
        if not any(g.direction for g in groups):
            raise UsageError("--reverse needs a reverse direction: add --bidirectional (got --reverse)")
        groups = [g for g in groups if g.direction == 1]
    if f.gate is not None:
        names = [e.lhs.removesuffix("_t") for e in groups[0].equations]
        gate = f.gate.lower()
        if gate not in names:
            raise UsageError(f"--gate must be one of {', '.join(names)} for {ex.kind.value} "
                             f"(got {f.gate})",
                             hint=f"the gates are named as in torch's docs: {names[0]}_t is --gate {names[0]}")
        groups = [replace(g, equations=tuple(e for e in g.equations if e.lhs.removesuffix("_t") == gate))
                  for g in groups]
    keys = {(g.module, g.layer, g.direction) for g in groups}
    states = tuple(s for s in ex.states if (s.module, s.layer, s.direction) in keys)
    return replace(ex, groups=tuple(groups), states=states, notes=(), traps=())
