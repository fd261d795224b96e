"""`--explain` and `--diagram` drawn with Rich, next to the tables (or as JSON documents).

The Explanation: the equations with shapes, where each weight lives, the layers, the traps. The Diagram: boxes
per (level, step), recurrence arrows per direction, shapes on edges, adapted to the console's width: as many
time steps as fit with every edge labelled with its shape; names only (a legend gives the shapes) when three
do not fit; the network rolled up, one box per level for every step, when even two do not (issue 24: it fits
from 40 columns). Reads only the views (rnnshape.views); no torch.

>>> from rnnshape.model.predict import predict
>>> from rnnshape.model.spec import make_spec
>>> sorted(json_extras(predict(make_spec("rnn")), explain=True, diagram=True))
['diagram', 'explain']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from rnnshape.model.report import Prediction, document
from rnnshape.render import fmt
from rnnshape.render.fit import Fit
from rnnshape.render.words import Words, prose
from rnnshape.views.diagram import Diagram, Level, sequence_ends, shown_steps
from rnnshape.views.diagram import diagram as build_diagram
from rnnshape.views.explain import Equation, Explanation, Focus, focus
from rnnshape.views.explain import Group as ExGroup
from rnnshape.views.explain import explain as build_explanation

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
            if any(t.source is not None for eq in g.equations for t in eq.terms):  # h_t alone reads no weight
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
    # h_t = o_t ⊙ tanh(c_t) alone (--gate h) uses only terms the other equations compute: nothing is given
    given = Words([Text("  given " + parts[0], style="dim"), *(Text(p, style="dim") for p in parts[1:])],
                  sep=" · ", indent=8) if parts else Text("")
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    table.add_column(no_wrap=True)  # an indent: a blank cell (not a width, which Rich 13 and 15 pad differently)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    if wide:
        table.add_column(style="dim")
    for eq in g.equations:
        row = [Text(eq.lhs, style="bold"), _rhs(eq), Text(fmt.shape(eq.shape), style=SHAPE_STYLE)]
        if wide:
            row.append(eq.meaning)
        table.add_row(" ", *row)
    return Group(title, given, Fit(table)) if parts else Group(title, Fit(table))


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


# Next to the tables, or as JSON


def with_views(tables: RenderableType, prediction: Prediction, *, explain: bool, diagram: bool,
               explain_focus: Focus = Focus()) -> RenderableType:
    parts = [tables]
    if explain:
        ex = focus(build_explanation(prediction), explain_focus)
        parts += [Text(), ExplanationView(ex, explain_focus.describe() if explain_focus.active else None)]
    if diagram:
        parts += [Text(), DiagramView(build_diagram(prediction))]
    return Group(*parts)


def json_extras(prediction: Prediction, *, explain: bool, diagram: bool, explain_focus: Focus = Focus()) -> dict:
    out = {}
    if explain:
        out["explain"] = document(focus(build_explanation(prediction), explain_focus))
    if diagram:
        out["diagram"] = document(build_diagram(prediction))
    return out


# The Diagram

FORWARD_STYLE, FRAME_STYLE = "cyan", "bright_black"  # REVERSE_STYLE, SHAPE_STYLE as for the equations
MAX_COLUMNS = 12


@dataclass(frozen=True)
class _Layout:
    steps: tuple[int, ...]
    verbose: bool  # shapes on the edges (else names only, shapes in the legend)
    box: int  # box width
    gap: int  # edge length between boxes
    left: int  # width of the zone left of the first box
    rolled: bool = False  # one box per level and direction that stands for every step (the narrowest layout)

    @property
    def pitch(self) -> int:
        return self.box + self.gap

    def x(self, j: int) -> int:
        return self.left + j * self.pitch

    def center(self, j: int) -> int:
        return self.x(j) + self.box // 2


class DiagramView:
    """A Rich renderable: ``Console().print(DiagramView(diagram(prediction)))``."""

    def __init__(self, dg: Diagram) -> None:
        self.dg = dg

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        layout = choose_layout(self.dg, options.max_width)
        modules = self.dg.title.split(" → ")
        if max(len(m) for m in modules) + 2 <= options.max_width:
            yield Words(self.dg.title, style="bold")  # breaks between the modules of a stack, if at all
        else:
            for i, m in enumerate(modules):
                yield _title(m + (" →" if i < len(modules) - 1 else ""))
        yield prose(_subtitle(self.dg, layout))
        yield Text()
        for line in _draw(self.dg, layout):
            line.no_wrap = True
            line.overflow = "ignore"  # never cut a label: wider than the narrowest layout, it runs past
            yield line
        yield Text()
        yield from _legend(self.dg, layout)


def _title(title: str) -> Words:
    """A constructor too wide for the console, broken after an argument's comma (still valid Python: the line
    breaks inside the parentheses), so that the whole diagram fits from 40 columns."""
    parts = title.split(", ")
    return Words([p + "," for p in parts[:-1]] + parts[-1:], indent=title.find("(") + 1, style="bold")


def _rows(shape: tuple[int, ...], rows: int | None) -> tuple[int, ...]:
    return shape if rows is None or len(shape) < 2 else (rows, *shape[1:])


def _rec_label(lv: Level, verbose: bool, rows: int | None = None) -> str:
    if lv.c_shape is None:
        return f"h {fmt.shape(_rows(lv.h_shape, rows))}" if verbose else "h"
    if not verbose:
        return "h,c"
    if lv.c_shape == lv.h_shape:
        return f"h,c {fmt.shape(_rows(lv.h_shape, rows))}"
    return f"h {fmt.shape(_rows(lv.h_shape, rows))} c {fmt.shape(_rows(lv.c_shape, rows))}"


def _up_labels(dg: Diagram, verbose: bool, t: int = 0) -> list[str]:
    """The labels of the vertical edges in every column, top (output) first, then each level's input.

    The column's header names t, so the labels do not repeat it: x_t is input[t], output is output[t].
    """
    labels = ["h_t" if dg.output_name == "h_t" else "output"]
    labels += [lv.input_tensor for lv in reversed(dg.levels)]
    if not verbose:
        return labels
    shapes = [dg.output_shape] + [_rows(lv.input_shape, dg.rows(t)) for lv in reversed(dg.levels)]
    return [f"{a} {fmt.shape(s)}" for a, s in zip(labels, shapes)]


def _box_text(lv: Level, d: int) -> str:
    arrow = (" ←" if d else " →") if lv.directions > 1 else ""
    return f" {lv.short}{arrow} "


def _side_labels(dg: Diagram) -> tuple[int, int]:
    left = right = 0
    for lv in dg.levels:
        for d in range(lv.directions):
            lab_left, lab_right = (lv.finals[d], lv.initials[d]) if d else (lv.initials[d], lv.finals[d])
            left, right = max(left, len(lab_left)), max(right, len(lab_right))
    return left + 4, right + 4


def choose_layout(dg: Diagram, width: int) -> _Layout:
    """The most time steps that fit `width` with shapes on the edges; names only when three do not fit."""
    box = max(len(_box_text(lv, d)) for lv in dg.levels for d in range(lv.directions)) + 2
    box += 1 - box % 2  # odd, so that ┴ and ┬ sit in the middle
    left, right = _side_labels(dg)
    least = min(dg.seq_len, 3)
    for verbose in (True, False):
        for columns in range(min(dg.seq_len, MAX_COLUMNS), least - 1, -1):
            steps = shown_steps(dg.seq_len, columns)
            up = max(len(s) for s in _up_labels(dg, verbose))
            rec = max(len(_rec_label(lv, verbose)) for lv in dg.levels)
            gap = max(rec + 4, up + 4 - box, 7)
            layout = _Layout(steps, verbose, box, gap, left)
            if _width(layout, right, up) <= width:
                return layout
    two = _Layout(shown_steps(dg.seq_len, 2), False, box, 5, left)  # narrower: t = 0 and t = L-1 only
    if len(two.steps) < 2 or _width(two, right, max(len(s) for s in _up_labels(dg, False))) <= width:
        return two
    # narrower still: the network rolled up, one box per level for every step (its recurrence in words), rather
    # than a drawing past the edge
    return _Layout((0,), False, box, 0, left, rolled=True)


def _width(layout: _Layout, right: int, up: int) -> int:
    last = len(layout.steps) - 1
    return max(layout.x(last) + layout.box + right, layout.center(last) + 2 + up)


class _Canvas:
    def __init__(self) -> None:
        self.rows: list[dict[int, tuple[str, str | None]]] = []

    def put(self, y: int, x: int, text: str, style: str | None = None) -> None:
        while len(self.rows) <= y:
            self.rows.append({})
        for i, ch in enumerate(text):
            self.rows[y][x + i] = (ch, style)

    def lines(self) -> list[Text]:
        out = []
        for row in self.rows:
            line = Text()
            for x in range(max(row) + 1 if row else 0):
                ch, style = row.get(x, (" ", None))
                line.append(ch, style=style)
            line.rstrip()
            out.append(line)
        return out


def _draw(dg: Diagram, layout: _Layout) -> list[Text]:
    c = _Canvas()
    steps = layout.steps
    ends = sequence_ends(dg.lengths) if dg.lengths and not layout.rolled else {}
    top = 2 if ends else 1  # packed: a row naming the sequences whose last step each column is
    for j, t in enumerate(steps):
        head = f"t=0 … {dg.seq_len - 1}" if layout.rolled and dg.seq_len > 1 else f"t={t}"
        c.put(0, layout.center(j) - 1 - (len(head) - 3) // 2 if layout.rolled else layout.center(j) - 1, head, "bold")
        if t in ends and not layout.rolled:
            c.put(1, layout.center(j) - 1, ("last of b=" + ",".join(map(str, ends[t])))[:layout.pitch - 2], "dim")
        c.put(top, layout.center(j), "▲ ", FRAME_STYLE)
        c.put(top, layout.center(j) + 2, _up_labels(dg, layout.verbose)[0], SHAPE_STYLE)
    y = top + 1
    for n in range(len(dg.levels) - 1, -1, -1):
        y = _draw_level(c, dg, layout, n, y)
        for j, t in enumerate(steps):
            c.put(y, layout.center(j), "▲ ", FRAME_STYLE)
            c.put(y, layout.center(j) + 2, _up_labels(dg, layout.verbose, t)[len(dg.levels) - n], SHAPE_STYLE)
        y += 1
    return c.lines()


def _draw_level(c: _Canvas, dg: Diagram, layout: _Layout, n: int, y: int) -> int:
    lv = dg.levels[n]
    rows = list(range(lv.directions - 1, -1, -1))  # reverse on top, forward below
    bottom = y + len(rows) + 1
    for j in range(len(layout.steps)):
        x = layout.x(j)
        inner = layout.box - 2
        top_border = "┌" + "─" * inner + "┐"
        low_border = "└" + "─" * inner + "┘"
        mid = layout.box // 2
        c.put(y, x, top_border[:mid] + "┴" + top_border[mid + 1:], FRAME_STYLE)
        c.put(bottom, x, low_border[:mid] + "┬" + low_border[mid + 1:], FRAME_STYLE)
        for i, d in enumerate(rows):
            style = REVERSE_STYLE if d else FORWARD_STYLE
            c.put(y + 1 + i, x, "│", FRAME_STYLE)
            c.put(y + 1 + i, x + 1, _box_text(lv, d).center(inner), style)
            c.put(y + 1 + i, x + layout.box - 1, "│", FRAME_STYLE)
    for i, d in enumerate(rows):
        _draw_direction(c, dg, lv, layout, d, y + 1 + i, label_row=(y if d or lv.directions == 1 else bottom))
    return bottom + 1


def _draw_direction(c: _Canvas, dg: Diagram, lv: Level, layout: _Layout, d: int, row: int, label_row: int) -> None:
    style = REVERSE_STYLE if d else FORWARD_STYLE
    steps = layout.steps
    for j in range(len(steps) - 1):
        start = layout.x(j) + layout.box
        elided = steps[j + 1] - steps[j] > 1
        line = ["─"] * layout.gap
        line[0 if d else -1] = "◀" if d else "▶"
        if elided:
            line[layout.gap // 2 - 1: layout.gap // 2 + 2] = [" ", "⋯", " "]
        c.put(row, start, "".join(line), style)
        if not elided:
            label = _rec_label(lv, layout.verbose, dg.rows(steps[j + 1]))  # the later step's rows carry on
            c.put(label_row, start + (layout.gap - len(label)) // 2, label, SHAPE_STYLE)
    first, last = layout.x(0), layout.x(len(steps) - 1) + layout.box
    left, right = (lv.finals[d], lv.initials[d]) if d else (lv.initials[d], lv.finals[d])
    # initial states dim, final states bold: distinct styles also keep SVG viewers from eating leading spaces
    c.put(row, first - len(left) - 4, left, "bold" if d else "dim")
    c.put(row, first - 3, "◀──" if d else "──▶", style)
    c.put(row, last, "◀──" if d else "──▶", style)
    c.put(row, last + 4, right, "dim" if d else "bold")


def _subtitle(dg: Diagram, layout: _Layout) -> str:
    skipped = [t for t in range(dg.seq_len) if t not in layout.steps]
    last = dg.seq_len - 1
    text = f"unrolled over L = {dg.seq_len} step" + ("s" if dg.seq_len != 1 else "")
    if layout.rolled and dg.seq_len > 1:
        text = (f"rolled up for a narrow terminal: each box runs all L = {dg.seq_len} steps, its state carried "
                "from one step to the next")
    elif skipped:
        text += f" ({skipped[0]} … {skipped[-1]} elided as ⋯)"
    end = "lengths[b]-1" if dg.lengths else str(last)
    text += f" · → t = 0 … {end}"
    if max(lv.directions for lv in dg.levels) > 1:
        text += f" · ← t = {end} … 0"
    return text


def _legend(dg: Diagram, layout: _Layout):
    zero = any("0" == i for lv in dg.levels for i in lv.initials)
    lines = [f"x_t is {dg.input_name}" + ("" if dg.output_name == "h_t" else f", output is {dg.output_name}")
             + ("; every box runs each step t in turn" if layout.rolled else "; t is the column")]
    if zero:
        lines.append("0: the initial state torch uses when none is passed (zeros)")
    if not layout.verbose:
        by_label: dict[str, list[str]] = {}
        for lv in dg.levels:
            by_label.setdefault(_rec_label(lv, True), []).append(lv.short)
        shapes = [f"{', '.join(names)}: {label}" for label, names in by_label.items()]
        lines.append("states between steps: " + " · ".join(shapes))
        ups = _up_labels(dg, True)
        lines.append("up the columns: " + " · ".join(reversed(ups)))
    if dg.lengths:
        lines.append(f"packed input (lengths {', '.join(map(str, dg.lengths))}): step t runs batch_sizes[t] = "
                     f"{', '.join(map(str, dg.batch_sizes))} rows; sequence b's h_n slice is its state after "
                     f"t = lengths[b] - 1 (its last step{'' if layout.rolled else ', marked in its column'}), "
                     "where the reverse direction "
                     "also starts it from its initial state; output[t] is zeros past it")
    if dg.states:
        parts = [f"{name} {fmt.shape(shape)}" for name, shape in dg.states]
        lines.append("final states: " + " · ".join(parts))
    if any(lv.c_shape for lv in dg.levels):
        lines.append("each h_n slice leaves with the c_n slice of the same index")
    for line in lines:
        yield prose(Text(line, style="dim"))
