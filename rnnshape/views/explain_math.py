"""The equations of one recurrence step as torch computes them, term by term (pure Python).

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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rnnshape.model.spec import Kind


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
