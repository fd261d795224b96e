"""`--diagram`: the unrolled network as data (levels × directions × time steps, as nodes and edges).

Pure Python, from the predictor's view of a configuration: every time step (``--json`` lists them all), or
``columns`` of them, t = 0, 1, …, L-1, where one edge per direction stands for the steps left out. Renderers draw
it at the width they have; each final-state edge names the sequences whose final state it carries.

>>> from rnnshape.model.predict import predict
>>> from rnnshape.model.spec import make_spec
>>> dg = diagram(predict(make_spec("lstm", num_layers=2, bidirectional=True)), columns=3)
>>> dg.steps, tuple(lv.short for lv in dg.levels), dg.levels[1].finals
((0, 1, 9), ('l0', 'l1'), ('h_n[2]', 'h_n[3]'))
>>> [(e.tensor, e.shape, e.elided) for e in dg.edges if e.source == "l1.d1.t9"]
[('h_t', (3, 20), (2, 8)), ('c_t', (3, 20), (2, 8)), ('h_t', (3, 20), None)]
>>> packed = diagram(predict(make_spec("gru", lengths=(3, 1, 3))))
>>> packed.steps, [(e.source, e.sequences) for e in packed.edges if e.tensor == "h_n"]
((0, 1, 2), [('l0.d0.t2', (0, 2)), ('l0.d0.t0', (1,))])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rnnshape.model.naming import module_repr, state_name
from rnnshape.model.report import Key, Prediction, keys
from rnnshape.model.spec import Module, Spec
from rnnshape.views.explain import group_label


@dataclass(frozen=True)
class Level:
    """One row of boxes: a layer of a layer module (both directions), or a cell of a stack."""

    module: int | None
    layer: int | None  # None for a cell
    short: str  # the box label: "l3", "0.l0", "cell 1", "cell"
    label: str  # "layer 3", "module 1", "cell 1"
    directions: int
    input_tensor: str  # what enters each box from below: "x_t", "cat", "h_t"
    input_shape: tuple[int, ...]
    h_shape: tuple[int, ...]
    c_shape: tuple[int, ...] | None  # LSTM only
    out_tensor: str  # what leaves each box upwards: "cat" (both directions) or "h_t"
    out_shape: tuple[int, ...]
    finals: tuple[str, ...]  # per direction: "h_n[6]", "h_n.1[0]", "h_n.1" (c_n alike)
    initials: tuple[str, ...]  # per direction: "0" (torch's zeros) or "h_0[6]"

    JSON: ClassVar = keys("module", "layer", "label", "short", "directions",
                          Key("input", lambda lv: {"tensor": lv.input_tensor, "shape": lv.input_shape}),
                          "h_shape", "c_shape",
                          Key("output", lambda lv: {"tensor": lv.out_tensor, "shape": lv.out_shape}),
                          "finals", "initials")


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # input, cell, concat, output, initial, final
    label: str
    t: int | None = None
    level: int | None = None  # index into Diagram.levels
    direction: int | None = None
    shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    tensor: str  # x_t, h_t, c_t, cat, h_0, c_0, h_n, c_n, output
    shape: tuple[int, ...]
    elided: tuple[int, int] | None = None  # first and last step this edge stands for, when it skips some
    # on a final-state edge (h_n, c_n): the sequences b whose final state it carries (with packed input, those
    # whose last step is the edge's step); None on every other edge, and without a batch (--unbatched)
    sequences: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Diagram:
    title: str
    seq_len: int
    steps: tuple[int, ...]  # the steps drawn; a gap between two of them is elided
    levels: tuple[Level, ...]  # bottom (first) to top
    input_name: str  # "input[t]" or "input[:, t]"
    input_shape: tuple[int, ...]
    output_name: str  # "output[t]", "output[:, t]", or "h_t" for a cell loop (it has no output tensor)
    output_shape: tuple[int, ...]
    states: tuple[tuple[str, tuple[int, ...]], ...]  # the final-state tensors whole: ("h_n", (8, 3, 20)), ...
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    # packed input: the sequences' lengths, and the rows each step runs (torch's batch_sizes). Step t carries
    # only the sequences longer than t; sequence b leaves the forward direction (its h_n slice) after
    # t = lengths[b] - 1 and enters the reverse direction there with its initial state.
    lengths: tuple[int, ...] | None = None
    batch_sizes: tuple[int, ...] | None = None

    JSON: ClassVar = keys("title", "seq_len", "steps", "levels", "nodes", "edges")

    def rows(self, t: int) -> int | None:
        """Rows step t runs with packed input (None: every step runs the whole batch)."""
        return None if self.batch_sizes is None else self.batch_sizes[t]


def batch_sizes(lengths: tuple[int, ...], seq_len: int) -> tuple[int, ...]:
    """torch's PackedSequence.batch_sizes, padded with zeros to seq_len: the sequences longer than t.

    >>> batch_sizes((5, 2, 3), 6)
    (3, 3, 2, 1, 1, 0)
    """
    return tuple(sum(n > t for n in lengths) for t in range(seq_len))


def shown_steps(seq_len: int, columns: int) -> tuple[int, ...]:
    """The steps to draw in `columns` columns: all of them, or t = 0, 1, …, L-1 with the middle elided.

    >>> shown_steps(10, 3), shown_steps(10, 5), shown_steps(4, 5), shown_steps(10, 1)
    ((0, 1, 9), (0, 1, 2, 3, 9), (0, 1, 2, 3), (0, 9))
    """
    columns = max(columns, 2)
    if seq_len <= columns:
        return tuple(range(seq_len))
    return (*range(columns - 1), seq_len - 1)


def diagram(prediction: Prediction, columns: int | None = None) -> Diagram:
    """Every step (``--json`` keeps them all), or ``columns`` of them with the middle elided."""
    spec = prediction.spec
    mods = spec.modules()
    levels = tuple(_levels(spec, mods))
    steps = shown_steps(spec.seq_len, spec.seq_len if columns is None else columns)
    bf = spec.batch_major
    title = prediction.module_repr if len(mods) == 1 else " → ".join(module_repr((m,)) for m in mods)
    out_name = "h_t" if spec.cell else ("output[:, t]" if bf else "output[t]")
    nodes, edges = _graph(levels, steps, spec.seq_len, spec, out_name)
    sizes = batch_sizes(spec.lengths, spec.seq_len) if spec.packed and not spec.cell else None
    if sizes:
        edges = tuple(_at_step(e, nodes, sizes) for e in edges) + _sequence_ends(levels, steps, spec.lengths)
    if spec.batch is not None:
        edges = tuple(_name_sequences(e, nodes, spec) for e in edges)
    return Diagram(
        title=title,
        seq_len=spec.seq_len,
        steps=steps,
        levels=levels,
        input_name="input[:, t]" if bf else "input[t]",
        input_shape=_rows(spec, spec.input_size),
        output_name=out_name,
        output_shape=levels[-1].out_shape,
        states=tuple((t.name, t.shape) for t in prediction.outputs if t.name.startswith(("h_n", "c_n"))),
        nodes=nodes,
        edges=edges,
        lengths=spec.lengths if sizes else None,
        batch_sizes=sizes,
    )


def sequence_ends(lengths: tuple[int, ...]) -> dict[int, tuple[int, ...]]:
    """The sequences b whose last step is t, by t.

    >>> sequence_ends((5, 2, 3, 2))
    {4: (0,), 1: (1, 3), 2: (2,)}
    """
    ends: dict[int, tuple[int, ...]] = {}
    for b, n in enumerate(lengths):
        ends[n - 1] = (*ends.get(n - 1, ()), b)
    return ends


def _sequence_ends(levels, steps, lengths) -> tuple[Edge, ...]:
    """With packed input, each sequence leaves the forward direction after its own last step, and enters the
    reverse direction there: the h_n (c_n) slice of the sequences ending at a shown step t other than L-1 is
    an edge out of that step's cell, and their initial state an edge into the reverse cell of that step."""
    out = []
    last = steps[-1]
    for n, lv in enumerate(levels):
        states = [("h", lv.h_shape)] + ([("c", lv.c_shape)] if lv.c_shape else [])
        short = lv.short.replace(" ", "")
        for t, bs in sorted(sequence_ends(lengths).items()):
            if t not in steps or t == last:
                continue  # the edges of t = L-1 exist already; elided steps are in the legend
            for s, shape in states:
                rows = (len(bs), *shape[1:])
                out.append(Edge(f"{short}.d0.t{t}", f"{s}_n.{n}.d0", f"{s}_n", rows))
                if lv.directions > 1:
                    out.append(Edge(f"{s}_0.{n}.d1", f"{short}.d1.t{t}", f"{s}_0", rows))
    return tuple(out)


def _name_sequences(e: Edge, nodes: tuple[Node, ...], spec: Spec) -> Edge:
    """A final-state edge names the sequences whose final state it carries: all of them, except that with packed
    input the forward direction lets each sequence go after its own last step (the edge's step)."""
    from dataclasses import replace

    if e.tensor not in ("h_n", "c_n"):
        return e
    cell = next(n for n in nodes if n.id == e.source)
    if spec.packed and not spec.cell and cell.direction == 0:
        return replace(e, sequences=sequence_ends(spec.lengths).get(cell.t, ()))
    return replace(e, sequences=tuple(range(spec.batch)))


def _at_step(e: Edge, nodes: tuple[Node, ...], sizes: tuple[int, ...]) -> Edge:
    """An edge into or out of a cell with packed input carries only the rows of that step: the h_n edge out
    of the forward direction's last step carries the sequences of length L (the others left earlier), the
    initial state into the reverse direction's first step those that start there."""
    from dataclasses import replace

    step = {n.id: n.t for n in nodes if n.kind == "cell"}
    t = None if e.tensor == "output" else step.get(e.target, step.get(e.source))
    if t is None:
        return e  # output[t] is padded: all N rows, zeros past each length
    if e.tensor in ("h_t", "c_t") and e.source in step and e.target in step:
        t = max(step[e.source], step[e.target])  # the state carried between steps: the later step's rows
    return replace(e, shape=(sizes[t], *e.shape[1:]))


def _rows(spec: Spec, width: int) -> tuple[int, ...]:
    return (width,) if spec.unbatched else (spec.batch, width)


def _levels(spec: Spec, mods: tuple[Module, ...]):
    stacked = len(mods) > 1
    explicit = spec.explicit_state
    in_tensor, in_width = "x_t", spec.input_size
    for i, mod in enumerate(mods):
        index = i if stacked else None
        for k in range(1 if mod.cell else mod.num_layers):
            layer = None if mod.cell else k
            label = group_label(index, layer, 0, False)
            if mod.cell:
                short = label
            else:
                short = f"l{k}" if index is None else f"{index}.l{k}"
            idx = [] if mod.cell else [f"[{k * mod.directions + d}]" for d in range(mod.directions)]
            h_n, h_0 = (state_name("h", initial=initial, index=index) for initial in (False, True))
            finals = tuple(f"{h_n}{j}" for j in idx) if idx else (h_n,)
            initials = tuple(f"{h_0}{j}" for j in idx) if idx else (h_0,)
            h_width = mod.hidden_size if mod.cell else mod.h_out
            out_width = mod.hidden_size if mod.cell else mod.output_size
            yield Level(
                module=index,
                layer=layer,
                short=short,
                label=label,
                directions=mod.directions,
                input_tensor=in_tensor,
                input_shape=_rows(spec, in_width),
                h_shape=_rows(spec, h_width),
                c_shape=_rows(spec, mod.hidden_size) if mod.kind.has_cell_state else None,
                out_tensor="cat" if mod.bidirectional else "h_t",
                out_shape=_rows(spec, out_width),
                finals=finals,
                initials=initials if explicit else ("0",) * mod.directions,
            )
            in_tensor, in_width = ("cat" if mod.bidirectional else "h_t"), out_width


def _graph(levels, steps, seq_len, spec, out_name):
    nodes: list[Node] = []
    edges: list[Edge] = []
    bf = spec.batch_major
    for t in steps:
        name = f"input[:, {t}]" if bf else f"input[{t}]"
        nodes.append(Node(f"x.t{t}", "input", name, t=t, shape=_rows(spec, spec.input_size)))
    below = {t: f"x.t{t}" for t in steps}
    for n, lv in enumerate(levels):
        here = {}
        for d in range(lv.directions):
            cells = [f"{lv.short.replace(' ', '')}.d{d}.t{t}" for t in steps]
            for t, cid in zip(steps, cells):
                nodes.append(Node(cid, "cell", lv.short, t=t, level=n, direction=d))
                edges.append(Edge(below[t], cid, lv.input_tensor, lv.input_shape))
            order = list(zip(steps, cells))
            if d:
                order.reverse()
            _recurrence(n, lv, d, order, nodes, edges)
        for t in steps:
            ids = [f"{lv.short.replace(' ', '')}.d{d}.t{t}" for d in range(lv.directions)]
            if lv.directions > 1:
                cat = f"cat.{lv.short.replace(' ', '')}.t{t}"
                nodes.append(Node(cat, "concat", "cat", t=t, level=n, shape=lv.out_shape))
                edges.extend(Edge(i, cat, "h_t", lv.h_shape) for i in ids)
                here[t] = cat
            else:
                here[t] = ids[0]
        below = here
    top = levels[-1]
    for t in steps:
        cell_loop = out_name == "h_t"
        name = f"h of the last cell at t={t}" if cell_loop else out_name.replace("t]", f"{t}]")
        nodes.append(Node(f"out.t{t}", "output", name, t=t, shape=top.out_shape))
        edges.append(Edge(below[t], f"out.t{t}", "h_t" if cell_loop else "output", top.out_shape))
    return tuple(nodes), tuple(edges)


def _recurrence(n: int, lv: Level, d: int, order: list, nodes: list, edges: list) -> None:
    """Initial state into the first step of this direction, state between steps, final state out of the last."""
    states = [("h", lv.h_shape)] + ([("c", lv.c_shape)] if lv.c_shape else [])
    for s, shape in states:
        label = lv.initials[d] if lv.initials[d] == "0" else s + lv.initials[d][1:]
        init = f"{s}_0.{n}.d{d}"
        nodes.append(Node(init, "initial", label, level=n, direction=d, shape=shape))
        edges.append(Edge(init, order[0][1], f"{s}_0", shape))
    for (t0, a), (t1, b) in zip(order, order[1:]):
        gap = abs(t1 - t0) > 1
        elided = (min(t0, t1) + 1, max(t0, t1) - 1) if gap else None
        for s, shape in states:
            edges.append(Edge(a, b, f"{s}_t", shape, elided))
    for s, shape in states:
        final = f"{s}_n.{n}.d{d}"
        nodes.append(Node(final, "final", s + lv.finals[d][1:], level=n, direction=d, shape=shape))
        edges.append(Edge(order[-1][1], final, f"{s}_n", shape))
