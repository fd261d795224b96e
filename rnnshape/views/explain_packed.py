"""What `--explain` says about packed input (--lengths), as claims a test evaluates in torch for every sequence b.

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

from dataclasses import dataclass

from rnnshape.model.naming import state_name
from rnnshape.model.spec import Module, Spec


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
