"""Draw an Explanation with Rich: the equations with shapes, where each weight lives, the layers, the traps.

Reads only the Explanation (rnnshape.views.explain); no torch.
"""

from __future__ import annotations

import re

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from rnnshape.render import fmt
from rnnshape.render.fit import Fit
from rnnshape.render.words import Words
from rnnshape.views.explain import Equation, Explanation
from rnnshape.views.explain import Group as ExGroup

SHAPE_STYLE, WEIGHT_STYLE, REVERSE_STYLE = "green", "cyan", "magenta"
# A weight symbol and the space after it: a styled span that starts with a space loses it in some SVG viewers.
_SYMBOL = re.compile(r"\b[Wb]_[a-z]{2}\b ?")


class ExplanationView:
    """A Rich renderable: ``Console().print(ExplanationView(explain(prediction)))``."""

    def __init__(self, ex: Explanation, focus: str | None = None) -> None:
        self.ex = ex
        self.focus = focus  # "layer 1 · reverse · gate f" when ``ex`` is cut to one block (views.explain.focus)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        ex = self.ex
        yield Words(f"How torch computes {ex.title}", style="bold")
        if self.focus:
            yield Words(f"focus: {self.focus}", style="bold")
        wide = options.max_width >= 110
        for g in ex.groups if self.focus else _shown(ex):
            yield Text()
            yield _equations(g, wide)
            yield Text()
            yield _terms(g)
        if len(ex.groups) > 1 and not self.focus:
            yield Text()
            yield Words("Every layer and direction: the same equations, its own weights", style="bold")
            yield _groups_table(ex)
        if len([s for s in ex.states if s.tensor.startswith("h_n")]) > (0 if self.focus else 1):
            yield Text()
            yield Words("Which slice of the final states is which", style="bold")
            yield _states_table(ex)
        if ex.notes or ex.traps:
            yield Text()
            yield Text("How it fits together", style="bold")
            yield _bullets(ex)


def _bullets(ex: Explanation) -> Table:
    """Notes, then traps, each wrapped under its own first word rather than under the bullet."""
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column()
    for note in ex.notes:
        table.add_row(Text("•", style="dim"), Words(note))
    for trap in ex.traps:
        table.add_row(Text("!", style="bold yellow"), Words(trap))
    return table


def _shown(ex: Explanation) -> list[ExGroup]:
    """The groups whose equations are printed in full: the first, and the first of each new hidden size."""
    shown, sizes = [], set()
    for g in ex.groups:
        h = g.equations[0].shape[-1]
        if g.direction == 0 and h not in sizes:
            shown.append(g)
            sizes.add(h)
    return shown


def _arrow(g: ExGroup) -> str:
    return "runs t = L-1 … 0" if g.direction else "runs t = 0 … L-1"


def _equations(g: ExGroup, wide: bool) -> Group:
    ins = [t for eq in g.equations for t in eq.terms if t.source is None]
    seen, parts = set(), []
    for t in ins:
        if t.symbol not in seen:
            seen.add(t.symbol)
            parts.append(f"{t.symbol} {fmt.shape(t.shape)}")
    title = Words([Text(f"One step of {g.label}", style="bold"), Text(f"({_arrow(g)})")])
    given = Words([Text("  given " + parts[0], style="dim"), *(Text(p, style="dim") for p in parts[1:])],
                  sep=" · ", indent=8)
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    table.add_column(no_wrap=True, width=1)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    if wide:
        table.add_column(style="dim")
    for eq in g.equations:
        row = [Text(eq.lhs, style="bold"), _rhs(eq), Text(fmt.shape(eq.shape), style=SHAPE_STYLE)]
        if wide:
            row.append(eq.meaning)
        table.add_row("", *row)
    return Group(title, given, Fit(table))


def _rhs(eq: Equation) -> Text:
    text = Text("= " + eq.rhs)
    text.highlight_regex(_SYMBOL, WEIGHT_STYLE)
    return text


def _terms(g: ExGroup) -> Fit:
    table = Table(title="where each term lives", title_justify="left", title_style="italic",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("term", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("dims", no_wrap=True)
    table.add_column("lives in", no_wrap=True)
    rows, seen = [], set()
    for eq in g.equations:
        for t in eq.terms:
            if t.source is not None and t.symbol not in seen:
                seen.add(t.symbol)
                rows.append(t)
    rows.sort(key=lambda t: (_param_order(t.source.parameter), t.source.rows))
    param = None
    gated = len(rows) > len({t.source.parameter for t in rows})  # sections only when a parameter has gates
    for t in rows:
        if gated and param is not None and t.source.parameter != param:
            table.add_section()
        param = t.source.parameter
        where = t.source.parameter if t.source.whole else f"{t.source.parameter}[{t.source.rows[0]}:{t.source.rows[1]}]"
        table.add_row(Text(t.symbol, style=WEIGHT_STYLE), Text(fmt.shape(t.shape)), Text(" × ".join(t.dims)),
                      Text(where))
    return Fit(table, drop=("dims",))


def _param_order(name: str) -> int:
    base = name.split(".")[-1]
    for i, prefix in enumerate(("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")):
        if base.startswith(prefix):
            return i
    return 9


def _groups_table(ex: Explanation) -> Fit:
    labels = {(g.module, g.layer, g.direction): g.label for g in ex.groups}
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("x_t is", no_wrap=True)
    table.add_column("x_t", no_wrap=True)
    table.add_column("weights", no_wrap=True)
    table.add_column("final state", no_wrap=True)
    for g in ex.groups:
        if g.input_from:
            names = [labels[k] for k in g.input_from]
            src = f"cat({names[0]}, ←)" if len(names) > 1 else f"h_t of {names[0]}"  # forward first
        else:
            src = "input[:, t]" if "input[:, t]" in " ".join(ex.notes) else "input[t]"
        weight = next(t.source.parameter for t in g.equations[0].terms if t.source is not None)
        table.add_row(Text(g.label), Text(src), Text(fmt.shape(g.input_shape), style=SHAPE_STYLE),
                      Text(weight.replace("weight_ih", "*")), Text(g.final),
                      style=REVERSE_STYLE if g.direction else None)
    return Fit(table, drop=("x_t is",))


def _states_table(ex: Explanation) -> Fit:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("slice", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("is", no_wrap=True)
    states = [s for s in ex.states if not s.tensor.startswith("c_n")]
    equals = any(s.same_as for s in states)
    if equals:
        table.add_column("equals", no_wrap=True)
    labels = {(g.module, g.layer, g.direction): g.label for g in ex.groups}
    for s in states:
        name = s.tensor if s.index is None else f"{s.tensor}[{s.index}]"
        row = [Text(name), Text(fmt.shape(s.shape), style=SHAPE_STYLE), Text(labels[(s.module, s.layer, s.direction)])]
        table.add_row(*row, *([Text(s.same_as or "")] if equals else []), style=REVERSE_STYLE if s.direction else None)
    return Fit(table)


