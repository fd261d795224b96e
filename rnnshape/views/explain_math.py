"""What `--explain` says, in three parts (pure Python): the equations of one step, the sentences, packed input.

The equations of one recurrence step as torch computes them, term by term.

Gate order and the GRU's reset placement follow torch, not the papers: LSTM rows are (i, f, g, o), GRU rows
(r, z, n), and the GRU's r multiplies (W_hn h + b_hn), where Cho et al. multiply h before W_hn.

>>> eqs = equations(kind=Kind.GRU, nonlinearity=None, bias=True,
...                 source=lambda base, gate: Source(base + "_l0", (gate * 8, gate * 8 + 8), (24, 5)),
...                 proj=None, x_shape=(3, 5), x_dims=("N", "H_in"), h_shape=(3, 8), h_dims=("N", "H_out"),
...                 c_shape=(3, 8), c_dims=("N", "H"), in_dim="H_in", h_dim="H_out", prev="t-1")
>>> eqs[2].rhs
'tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))'
>>> [(t.symbol, t.source.rows) for t in eqs[2].terms if t.source]
[('W_in', (16, 24)), ('b_in', (16, 24)), ('W_hn', (16, 24)), ('b_hn', (16, 24))]

The sentences: how data flows between steps, directions, layers and modules, and the traps.

Each sentence carries this configuration's concrete sizes; the rules behind them are in
/work/shared/reference/pytorch-rnn-semantics.md §3-4 and are checked against torch in tests/test_explain_torch.py.

>>> from rnnshape.model.spec import make_spec
>>> spec = make_spec("lstm", num_layers=2, bidirectional=True)
>>> print(traps(spec, spec.modules())[0].split(": ")[0])
output[-1] is not the reverse direction's final state
>>> print(traps(spec, spec.modules())[0].split("; ")[1])
its final state h_n[-1] is output[0, :, 20:]

Packed input (--lengths), as claims a test evaluates in torch for every sequence b.

With packed input each sequence b runs its own lengths[b] steps: the padded `output` holds zeros after them,
the forward direction ends at t = lengths[b] - 1 and the reverse direction starts there. Each sentence is built
from :class:`Claim` values, so tests/test_explain_packed.py checks exactly the expressions printed, with
``b`` and ``lengths`` bound.

>>> from rnnshape.model.spec import make_spec
>>> spec = make_spec("gru", hidden_size=4, bidirectional=True, batch_first=True, lengths=(5, 2, 3))
>>> [(c.kind, c.expr, c.equals) for c in claims(spec, spec.modules())][:2]
[('zeros', 'output[b, -1]', None), ('equal', 'h_n[-2, b]', 'output[b, lengths[b] - 1, :4]')]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rnnshape.model.naming import state_name
from rnnshape.model.spec import Kind, Module, Spec


@dataclass(frozen=True)
class Source:
    """Where a weight term's numbers live: rows ``rows[0]:rows[1]`` of the named parameter."""

    parameter: str  # torch's name, e.g. "weight_ih_l0_reverse" or "1.weight_hh"
    rows: tuple[int, int]
    parameter_shape: tuple[int, ...]

    @property
    def whole(self) -> bool:
        return self.rows == (0, self.parameter_shape[0])


@dataclass(frozen=True)
class Term:
    """One symbol of an equation: a weight or bias slice (with its source) or a per-step tensor."""

    symbol: str  # "W_if", "b_hn", "x_t", "h_{t-1}"
    shape: tuple[int, ...]
    dims: tuple[str, ...]
    source: Source | None  # None for x_t and the states
    meaning: str


@dataclass(frozen=True)
class Equation:
    lhs: str  # "i_t"
    rhs: str  # "σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)"
    shape: tuple[int, ...]  # the result's shape for one step
    dims: tuple[str, ...]
    terms: tuple[Term, ...]  # the symbols of rhs that are not an earlier lhs, in order of appearance
    meaning: str


GATE_MEANING = {
    "i": "input gate", "f": "forget gate", "g": "cell candidate", "o": "output gate",
    "r": "reset gate", "z": "update gate", "n": "new state candidate",
}


def equations(
    *,
    kind: Kind,
    nonlinearity: str | None,
    bias: bool,
    source: Callable[[str, int], Source],  # (base parameter name, gate index) -> rows of that gate
    proj: Source | None,
    x_shape: tuple[int, ...],
    x_dims: tuple[str, ...],
    h_shape: tuple[int, ...],
    h_dims: tuple[str, ...],
    c_shape: tuple[int, ...],
    c_dims: tuple[str, ...],
    in_dim: str,
    h_dim: str,
    prev: str,  # "t-1" forward, "t+1" reverse
) -> tuple[Equation, ...]:
    H = c_shape[-1]
    x = Term("x_t", x_shape, x_dims, None, "this step's input")
    h = Term(f"h_{{{prev}}}", h_shape, h_dims, None, "the previous step's hidden state (zeros, or h_0, at the start)")
    c = Term(f"c_{{{prev}}}", c_shape, c_dims, None, "the previous step's cell state (zeros, or c_0, at the start)")

    def weight(side: str, letter: str, gate: int) -> Term:
        base = "weight_ih" if side == "i" else "weight_hh"
        dims = ("H", in_dim if side == "i" else h_dim)
        shape = (H, x_shape[-1] if side == "i" else h_shape[-1])
        return Term(f"W_{side}{letter}", shape, dims, source(base, gate), _meaning(kind, base, letter))

    def bias_term(side: str, letter: str, gate: int) -> Term:
        base = "bias_ih" if side == "i" else "bias_hh"
        return Term(f"b_{side}{letter}", (H,), ("H",), source(base, gate), _meaning(kind, base, letter))

    def affine(side: str, letter: str, gate: int, operand: Term) -> list[Term]:
        return [weight(side, letter, gate), operand] + ([bias_term(side, letter, gate)] if bias else [])

    def gate_sum(letter: str, gate: int) -> list[Term]:
        return affine("i", letter, gate, x) + affine("h", letter, gate, h)

    def eq(lhs, rhs, terms, shape=c_shape, dims=c_dims, meaning="") -> Equation:
        return Equation(lhs, rhs, shape, dims, tuple(terms), meaning)

    if kind is Kind.RNN:
        act = nonlinearity or "tanh"
        terms = affine("i", "h", 0, x) + affine("h", "h", 0, h)  # the docs' W_ih, b_ih, W_hh, b_hh
        return (eq("h_t", f"{act}({_sum(terms)})", terms, h_shape, h_dims, f"the new hidden state ({act})"),)

    if kind is Kind.GRU:
        r, z = gate_sum("r", 0), gate_sum("z", 1)
        n_x, n_h = affine("i", "n", 2, x), affine("h", "n", 2, h)
        return (
            eq("r_t", f"σ({_sum(r)})", r, meaning=GATE_MEANING["r"]),
            eq("z_t", f"σ({_sum(z)})", z, meaning=GATE_MEANING["z"]),
            eq("n_t", f"tanh({_sum(n_x)} + r_t ⊙ ({_sum(n_h)}))", n_x + n_h,
               meaning="new state candidate: r_t scales W_hn h + b_hn (torch), not h (the paper)"),
            eq("h_t", f"(1 − z_t) ⊙ n_t + z_t ⊙ {h.symbol}", [h], h_shape, h_dims, "the new hidden state"),
        )

    gates = []
    for gate, letter in enumerate("ifgo"):
        terms = gate_sum(letter, gate)
        act = "tanh" if letter == "g" else "σ"
        gates.append(eq(f"{letter}_t", f"{act}({_sum(terms)})", terms, meaning=GATE_MEANING[letter]))
    cell = eq("c_t", f"f_t ⊙ {c.symbol} + i_t ⊙ g_t", [c], meaning="the new cell state")
    if proj is None:
        out = eq("h_t", "o_t ⊙ tanh(c_t)", [], h_shape, h_dims, "the new hidden state")
    else:
        w_hr = Term("W_hr", proj.parameter_shape, ("P", "H"), proj, "the projection")
        out = eq("h_t", "W_hr (o_t ⊙ tanh(c_t))", [w_hr], h_shape, h_dims,
                 "the new hidden state, projected from H to P")
    return (*gates, cell, out)


def _meaning(kind: Kind, base: str, letter: str) -> str:
    if kind is Kind.RNN:
        return f"all of {base}"
    return f"the {GATE_MEANING[letter]}'s rows of {base}"


def _sum(terms: list[Term]) -> str:
    """'W_ii x_t + b_ii + W_hi h_{t-1} + b_hi' from [W_ii, x_t, b_ii, W_hi, h, b_hi]."""
    parts, i = [], 0
    while i < len(terms):
        if terms[i].symbol.startswith("W_"):
            parts.append(f"{terms[i].symbol} {terms[i + 1].symbol}")
            i += 2
        else:
            parts.append(terms[i].symbol)
            i += 1
    return " + ".join(parts)


def _shape(spec: Spec, width: int) -> str:
    return f"({width},)" if spec.unbatched else f"({spec.batch}, {width})"


def notes(spec: Spec, mods: tuple[Module, ...]) -> tuple[str, ...]:
    out = [_rows_note(spec)]
    first = mods[0]
    if spec.cell:
        out += _cell_notes(spec, mods)
    else:
        if first.bidirectional:
            steps = "t = lengths[b] - 1 … 0 for sequence b" if spec.packed else f"t = {spec.seq_len - 1} … 0"
            out.append("the reverse direction runs the same equations with its own *_reverse weights over "
                       f"{steps}, so its previous state is h_{{t+1}}")
        if first.num_layers > 1:
            out.append(f"layer k ≥ 1 reads as x_t the output of layer k-1 at step t: {_joined(first)}, "
                       f"{_shape(spec, first.output_size)}")
            if first.dropout:
                out.append(f"in train mode, dropout(p={first.dropout}) is applied to that input of layers 1 … "
                           f"{first.num_layers - 1}, never to the last layer's output")
        if first.proj_size:
            out.append(f"proj_size: h_t = W_hr (o_t ⊙ tanh(c_t)) is {first.proj_size} wide, c_t stays "
                       f"{first.hidden_size} wide, and the next layer reads D·P = {first.output_size} features")
        if len(mods) > 1:
            out.append("each module of the stack reads the previous module's whole output as its input "
                       "sequence, and keeps its own final states h_n.0, h_n.1, …")
        last = mods[-1]
        out.append(f"output[t] is the last layer's {_joined(last)}, {_shape(spec, last.output_size)}")
        out.append(_state_note(mods, spec.unbatched))
    if spec.batch_major:
        states = "h_n and c_n stay" if spec.kind.has_cell_state else "h_n stays"
        out.append(f"batch_first=True: x_t is input[:, t] and output[:, t]; {states} (D·num_layers, N, ·)")
    if spec.packed:
        out.append("packed input: step t runs only the sequences longer than t (batch_sizes[t] rows), and "
                   "each sequence's h_n is its state at its own last step")
    return tuple(out)


def _rows_note(spec: Spec) -> str:
    rows = "" if spec.unbatched else f" for all N = {spec.batch} rows at once"
    if spec.kind is Kind.RNN:
        return f"torch computes W x_t as x_t @ W.T{rows}"
    gates = spec.kind.info.gate_summary
    return (f"torch computes W x_t as x_t @ W.T{rows}; weight_ih and weight_hh stack the {gates} on their "
            f"rows, so one matrix product serves every gate")


def _joined(mod: Module) -> str:
    if mod.bidirectional:
        return "cat(h_t →, h_t ←) on the last dimension (forward first)"
    return "h_t"


def _state_note(mods: tuple[Module, ...], unbatched: bool) -> str:
    first = mods[0]
    D, K = first.directions, first.num_layers
    c = " (c_n likewise)" if first.kind.has_cell_state else ""
    if len(mods) > 1:
        where = "h_n.i[d] is module i's final state in direction d (d = 0 →, 1 ←)" if D > 1 else (
            "h_n.i[0] is module i's final state")
        return where + c
    if D * K == 1:
        return f"h_n[0] is the final state{c}: there is one layer and one direction"
    where = "h_n[k·D + d] is layer k's final state in direction d (d = 0 →, 1 ←)" if D > 1 else (
        "h_n[k] is layer k's final state")
    view = f"h_n.view({K}, {D}, {'' if unbatched else 'N, '}H_out)[k, d]" if D > 1 else ""
    return where + c + (f"; the same as {view}" if view else "")


def _cell_notes(spec: Spec, mods: tuple[Module, ...]) -> list[str]:
    lstm = spec.kind.has_cell_state
    call = "(h, c) = cell(x[t], (h, c))" if lstm else "h = cell(x[t], h)"
    x_t = "input[:, t]" if spec.batch_major else "input[t]"
    out = [f"the loop calls the cell once per step: for t in range({spec.seq_len}): {call}, with x[t] = {x_t}"]
    if len(mods) > 1:
        out.append("at each step, cell i+1 reads cell i's new h_t as its x_t: "
                   + ", ".join(f"cell {i} → {_shape(spec, m.hidden_size)}" for i, m in enumerate(mods[:-1])))
        out.append("h_n.i is cell i's h after the last step" + (" (c_n.i likewise)" if lstm else ""))
    else:
        out.append("h_n is the cell's h after the last step" + (" (c_n likewise)" if lstm else ""))
    out.append("a cell has no output tensor: stack the h_t of the last cell yourself if you need one")
    return out


def traps(spec: Spec, mods: tuple[Module, ...]) -> tuple[str, ...]:
    out = []
    last = mods[-1]
    packed = spec.packed and not spec.cell
    if not spec.cell and last.bidirectional and spec.seq_len > 1 and not packed:  # one step: output[-1] is [0]
        rev = output_slice(spec, last, 1)
        wrong = rev.replace("[0", "[-1") if not spec.batch_major else rev.replace(
            ":, 0", ":, -1")
        first_step = f"x_{spec.seq_len - 1}"
        name = "h_n" + (f".{len(mods) - 1}" if len(mods) > 1 else "")
        last_step = "output[:, -1]" if spec.batch_major else "output[-1]"
        out.append(f"{last_step} is not the reverse direction's final state: {wrong} is the reverse direction "
                   f"after its first step (it has seen only {first_step}); its final state {name}[-1] is {rev}")
    if not spec.cell and last.bidirectional and spec.seq_len > 1:
        name = "h_n" + (f".{len(mods) - 1}" if len(mods) > 1 else "")
        out.append(f"{name}[-1] is only the last layer's reverse direction; both directions of the last layer "
                   f"are {name}[-2:]")
    if spec.kind is Kind.GRU:
        out.append("torch's GRU multiplies r_t into (W_hn h + b_hn), not into h before W_hn as in Cho et al. "
                   "(2014): weights from Keras's reset_after=False GRU do not carry over")
    if spec.kind.has_cell_state:
        out.append("the gate rows are in torch's order i, f, g, o (ONNX stores i, o, f, c): reorder when porting")
    if mods[0].proj_size:
        c, h = ("c_n", "h_n") if len(mods) == 1 else ("each c_n.k", "h_n.k")
        widths = ", ".join(str(m.hidden_size) for m in mods)
        out.append(f"{c} keeps hidden_size ({widths}) while {h} and output use proj_size ({mods[0].proj_size})")
    if spec.batch_major and not spec.cell:
        states = "h_n and c_n are" if spec.kind.has_cell_state else "h_n is"
        out.append(f"{states} never batch-first, even with batch_first=True")
    if packed:
        out += packed_traps(spec, mods)
    return tuple(out)


def output_slice(spec: Spec, mod: Module, d: int) -> str | None:
    """The slice of `output` equal to the top layer's final state in direction d (None when none is)."""
    if d == 0 and spec.packed:
        return None  # each sequence ends at its own length, not at t = L-1
    t = "0" if d else "-1"
    H = mod.h_out
    feat = "" if mod.directions == 1 else (f"{H}:" if d else f":{H}")
    if spec.unbatched:
        idx = [t] + ([feat] if feat else [])
    elif spec.batch_first:
        idx = [":", t] + ([feat] if feat else [])
    else:
        idx = [t] + ([":", feat] if feat else [])
    return "output[" + ", ".join(idx) + "]"


@dataclass(frozen=True)
class Claim:
    """``expr`` (a Python expression on output, h_n…, b and lengths) is zeros where lengths[b] < L, equals
    ``equals``, or is the top layer's reverse direction after one step of its own input (``first step``)."""

    kind: str  # "zeros", "equal", "first step", or "differs" (its reverse half is not ``equals``)
    expr: str
    equals: str | None = None


def at(spec: Spec, t: str, b: str, feat: str = "") -> str:
    """`output` indexed at step ``t`` of sequence ``b`` (batch-first or not), with an optional feature slice."""
    idx = [b, t] if spec.batch_first else [t, b]
    return "output[" + ", ".join(idx + ([feat] if feat else [])) + "]"


def claims(spec: Spec, mods: tuple[Module, ...]) -> tuple[Claim, ...]:
    """The claims of the packed-input sentences, in the order they are printed."""
    last = mods[-1]
    name = _name(mods)
    H = last.h_out
    bidir = last.bidirectional
    out = [Claim("zeros", at(spec, "-1", "b"))]
    out.append(Claim("equal", f"{name}[{-2 if bidir else -1}, b]",
                     at(spec, "lengths[b] - 1", "b", f":{H}" if bidir else "")))
    if bidir:
        out.append(Claim("first step", at(spec, "lengths[b] - 1", "b", f"{H}:")))
        out.append(Claim("equal", f"{name}[-1, b]", at(spec, "0", "b", f"{H}:")))
        out.append(Claim("differs", "output[:, -1]" if spec.batch_first else "output[-1]", f"{name}[-1]"))
    return tuple(out)


def _name(mods: tuple[Module, ...]) -> str:
    return state_name("h", initial=False, index=len(mods) - 1 if len(mods) > 1 else None)


def packed_traps(spec: Spec, mods: tuple[Module, ...]) -> tuple[str, ...]:
    """The sentences: the padded zeros and where each sequence's forward final state is; with two directions,
    where the reverse direction starts and ends for each sequence."""
    c = claims(spec, mods)
    L = spec.seq_len
    fwd = "the forward direction's final state" if mods[-1].bidirectional else "its final state"
    out = [f"with packed input, {c[0].expr} is zeros for every sequence b shorter than L (lengths[b] < {L}): "
           f"sequence b ends at t = lengths[b] - 1, so {fwd} {c[1].expr} is {c[1].equals}"]
    if mods[-1].bidirectional:
        out.append(f"{c[4].expr} is not the reverse direction's "
                   f"final state: for sequence b the reverse direction starts at t = lengths[b] - 1, so "
                   f"{c[2].expr} is the reverse direction after its first step, and its final state "
                   f"{c[3].expr} is {c[3].equals}")
    return tuple(out)
