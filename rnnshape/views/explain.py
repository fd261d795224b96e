"""`--explain`: the equations torch computes, each term with its shape and the rows of the tensor it lives in.

Pure Python, derived from the predictor's view of a configuration (no torch). The equations are written in
the docs' notation (``W_ii x_t``: torch computes ``x_t @ W_ii.T`` for a batch of rows) so that a test can
evaluate the very text shown against torch's own module (tests/test_explain_torch.py).

>>> from rnnshape.model.predict import predict
>>> from rnnshape.model.spec import make_spec
>>> ex = explain(predict(make_spec("lstm", num_layers=2, bidirectional=True)))
>>> f = ex.groups[0].equations[1]
>>> f.lhs, f.rhs, f.shape
('f_t', 'σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)', (3, 20))
>>> [(t.symbol, t.source.parameter, t.source.rows) for t in f.terms[:1]]
[('W_if', 'weight_ih_l0', (20, 40))]
>>> [(s.tensor, s.index, s.layer, s.direction, s.same_as) for s in ex.states if s.tensor == "h_n"][-1]
('h_n', 3, 1, 1, 'output[0, :, 20:]')

Focus: `--explain --layer 1 --reverse --gate f` keeps one block of an Explanation, the rows a question is about.

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
from typing import ClassVar

from rnnshape.errors import UsageError
from rnnshape.model.naming import module_repr, param_name, state_name
from rnnshape.model.report import Key, Prediction, keys
from rnnshape.model.spec import Kind, Module, Spec
from rnnshape.views.explain_math import Equation, Source, Term, equations, notes, output_slice, traps

__all__ = ["Equation", "Explanation", "Group", "Source", "StateSlice", "Term", "explain", "output_slice"]



@dataclass(frozen=True)
class Group:
    """One recurrence: a (module, layer, direction), or a cell. Its own weights, its own loop."""

    module: int | None  # index in a stack, None for a single module
    layer: int | None  # None for a cell
    direction: int  # 0 forward (t = 0 … L-1), 1 reverse (t = L-1 … 0)
    label: str  # "layer 1 ←", "cell 0", "module 1 →"
    input_from: tuple[tuple[int | None, int | None, int], ...]  # groups whose h_t is concatenated; () = input
    input_text: str  # "input[t]", "cat(h_t of layer 0 →, h_t of layer 0 ←)"
    input_shape: tuple[int, ...]
    equations: tuple[Equation, ...]
    final: str  # the tensor slice holding its last state, e.g. "h_n[3]" or "h_n.1"

    JSON: ClassVar = keys("module", "layer", "direction", "label", Key("input", lambda g: {
        "from": [{"module": m, "layer": k, "direction": d} for m, k, d in g.input_from], "text": g.input_text,
        "shape": g.input_shape}), "equations", "final")


@dataclass(frozen=True)
class StateSlice:
    """Which slice of a final-state tensor belongs to which layer and direction, and what it equals."""

    tensor: str  # "h_n", "c_n", "h_n.1"
    index: int | None  # index on the first dimension; None for a cell's state (the whole tensor)
    module: int | None
    layer: int | None
    direction: int
    shape: tuple[int, ...]  # of the slice
    same_as: str | None  # a Python expression on `output` that is equal to it, where one exists


@dataclass(frozen=True)
class Explanation:
    title: str  # "LSTM(100, 20, num_layers=4, bidirectional=True)"
    kind: Kind
    cell: bool
    groups: tuple[Group, ...]
    states: tuple[StateSlice, ...]
    notes: tuple[str, ...]  # how data flows: layer inputs, loops, concatenation order
    traps: tuple[str, ...]  # what people most often get wrong for this configuration


def explain(prediction: Prediction) -> Explanation:
    """The equations, weight slices, data flow and final-state layout of a predicted configuration."""
    spec = prediction.spec
    mods = spec.modules()
    groups = tuple(_groups(spec, mods))
    title = prediction.module_repr
    if len(mods) > 1:
        title = f"a stack of {len(mods)}: " + " → ".join(module_repr((m,)) for m in mods)
    return Explanation(
        title=title,
        kind=spec.kind,
        cell=spec.cell,
        groups=groups,
        states=tuple(_states(spec, mods)),
        notes=notes(spec, mods),
        traps=traps(spec, mods),
    )


def _groups(spec: Spec, mods: tuple[Module, ...]):
    stacked = len(mods) > 1
    prev: tuple = ()
    prev_text = "input[t]"
    for i, mod in enumerate(mods):
        index = i if stacked else None
        for k in range(1 if mod.cell else mod.num_layers):
            layer = None if mod.cell else k
            here = tuple((index, layer, d) for d in range(mod.directions))
            width = mod.input_size if k == 0 else mod.output_size
            for d in range(mod.directions):
                yield Group(
                    module=index,
                    layer=layer,
                    direction=d,
                    label=group_label(index, layer, d, mod.bidirectional),
                    input_from=prev,
                    input_text=prev_text,
                    input_shape=_rows(spec, width),
                    equations=_equations(spec, mod, index, k, d, width),
                    final=_final_name(mod, index, k, d),
                )
            prev = here
            names = [group_label(index, layer, d, mod.bidirectional) for d in range(mod.directions)]
            joined = ", ".join(f"h_t of {n}" for n in names)
            prev_text = joined if len(names) == 1 else f"cat({joined})"


def group_label(module: int | None, layer: int | None, direction: int, bidirectional: bool) -> str:
    """'layer 1 ←', 'cell 0', 'module 1 →' (a --hidden-size stack of one-layer modules), 'cell'."""
    if layer is None:
        base = "cell" if module is None else f"cell {module}"
    elif module is None:
        base = f"layer {layer}"
    else:
        base = f"module {module}" + (f" layer {layer}" if layer else "")
    return base + ((" ←" if direction else " →") if bidirectional else "")


def _rows(spec: Spec, width: int) -> tuple[int, ...]:
    return (width,) if spec.unbatched else (spec.batch, width)


def _row_dims(spec: Spec, dim: str) -> tuple[str, ...]:
    return (dim,) if spec.unbatched else ("N", dim)


def _final_name(mod: Module, index: int | None, k: int, d: int) -> str:
    name = state_name("h", initial=False, index=index)
    return name if mod.cell else f"{name}[{k * mod.directions + d}]"


def _param(mod: Module, index: int | None, base: str, k: int, d: int) -> str:
    return param_name(base, index=index, layer=None if mod.cell else k, reverse=bool(d))


def _equations(spec: Spec, mod: Module, index, k: int, d: int, width: int) -> tuple[Equation, ...]:
    H, P = mod.hidden_size, mod.proj_size
    h_out = H if mod.cell else mod.h_out
    in_dim = "H_in" if k == 0 else "D·H_out"  # the predictor's symbols: a module's own input is its H_in
    G = mod.kind.gates

    def source(base: str, gate: int) -> Source:
        rows = (gate * H, (gate + 1) * H)
        shape = (G * H, width if base == "weight_ih" else h_out) if base.startswith("weight") else (G * H,)
        return Source(_param(mod, index, base, k, d), rows, shape)

    proj = None
    if P and not mod.cell:
        proj = Source(_param(mod, index, "weight_hr", k, d), (0, P), (P, H))
    step = "t+1" if d else "t-1"
    return equations(
        kind=mod.kind,
        nonlinearity=mod.nonlinearity,
        bias=mod.bias,
        source=source,
        proj=proj,
        x_shape=_rows(spec, width),
        x_dims=_row_dims(spec, in_dim),
        h_shape=_rows(spec, h_out),
        h_dims=_row_dims(spec, "H_out" if not mod.cell else "H"),
        c_shape=_rows(spec, H),
        c_dims=_row_dims(spec, "H" if not P else "H_cell"),
        in_dim=in_dim,
        h_dim="H_out" if not mod.cell else "H",
        prev=step,
    )


def _states(spec: Spec, mods: tuple[Module, ...]):
    stacked = len(mods) > 1
    for i, mod in enumerate(mods):
        index = i if stacked else None
        last_module = i == len(mods) - 1
        for state in mod.kind.info.states:
            name = state + "_n"
            width = mod.h_out if state == "h" and not mod.cell else mod.hidden_size
            for k in range(1 if mod.cell else mod.num_layers):
                for d in range(mod.directions):
                    top = last_module and not mod.cell and k == mod.num_layers - 1 and name == "h_n"
                    yield StateSlice(
                        tensor=state_name(state, initial=False, index=index),
                        index=None if mod.cell else k * mod.directions + d,
                        module=index,
                        layer=None if mod.cell else k,
                        direction=d,
                        shape=_rows(spec, width),
                        same_as=output_slice(spec, mod, d) if top else None,
                    )


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
