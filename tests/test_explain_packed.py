"""Every `output[...]` / `h_n[...]` expression `--explain` prints for packed input holds in torch, for every sequence.

The modules are built here (not by rnnshape), run on a PackedSequence and padded back to L as a user does.
Claims with `b` are evaluated for each sequence b with `lengths` bound; the zeros claim only where
lengths[b] < L; the reverse direction's first step is recomputed by running the top layer alone on the one
input row it names.
"""

from __future__ import annotations

import re

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

from rnnshape.model.predict import predict  # noqa: E402
from rnnshape.model.spec import make_spec  # noqa: E402
from rnnshape.views.explain import explain  # noqa: E402
from rnnshape.views.explain_math import claims  # noqa: E402

H_IN, L = 3, 6
EXPR = re.compile(r"(?:output|h_n(?:\.\d+)?)\[(?:[^\[\]]|\[[^\]]*\])*\]")
# Printed expressions that are index layouts, not values: tests/test_explain_torch.py checks them.
LAYOUT = {"h_n[-1]", "h_n[-2:]", "h_n.1[-1]", "h_n.1[-2:]", "h_n[k·D + d]", "h_n[k]", "h_n[0]", "h_n.i[d]",
          "h_n.i[0]", "output[t]", "output[:, t]"}

CONFIGS = [
    # kind, hidden sizes, layers, bidirectional, batch_first, lengths
    ("gru", [4], 1, True, True, (5, 2, 3)),  # the example
    ("gru", [4], 1, True, False, (5, 2, 3)),
    ("lstm", [4], 1, False, False, (6, 1, 4, 6)),
    ("lstm", [4], 1, False, True, (3, 6, 2)),
    ("lstm", [4], 2, True, False, (2, 6, 5, 1)),
    ("rnn", [5], 3, True, True, (4, 6, 1)),
    ("lstm", [5, 3], 1, True, True, (6, 2, 4)),
    ("gru", [5, 3], 1, False, False, (1, 6, 3)),
]


def _module(cls, width, h, layers, bidir, bf):
    return cls(width, h, num_layers=layers, bidirectional=bidir, batch_first=bf).double()


def _run(mods, x, lengths, bf):
    out = pack_padded_sequence(x, list(lengths), batch_first=bf, enforce_sorted=False)
    finals = []
    for m in mods:
        out, h = m(out)
        finals.append(h[0] if isinstance(h, tuple) else h)
    padded, _ = pad_packed_sequence(out, batch_first=bf, total_length=L)
    return padded, finals


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(str(v) for v in c))
def test_packed_claims_hold_for_every_sequence(config):
    kind, sizes, layers, bidir, bf, lengths = config
    spec = make_spec(kind, input_size=H_IN, hidden_size=sizes, num_layers=None if len(sizes) > 1 else layers,
                     bidirectional=bidir, batch_first=bf, seq_len=L, lengths=lengths)
    ex = explain(predict(spec))
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    torch.manual_seed(0)
    mods, width = [], H_IN
    for h in sizes:
        mods.append(_module(cls, width, h, layers, bidir, bf))
        width = (2 if bidir else 1) * h
    N = len(lengths)
    x = torch.randn((N, L, H_IN) if bf else (L, N, H_IN), dtype=torch.float64)
    with torch.no_grad():
        output, finals = _run(mods, x, lengths, bf)
    env = {"output": output, "lengths": list(lengths)}
    env.update({"h_n" if len(mods) == 1 else f"h_n.{i}": h for i, h in enumerate(finals)})
    env["h_n"] = finals[0] if len(mods) == 1 else None

    def ev(expr: str, b: int):
        name = re.match(r"h_n\.(\d+)", expr)
        local = {**env, "b": b}
        if name:
            local["h_n_"] = finals[int(name.group(1))]
            expr = expr.replace(name.group(0), "h_n_", 1)
        return eval(expr, local)  # noqa: S307 - the printed expression, as printed

    made = claims(spec, spec.modules())
    checked = {c.expr for c in made} | {c.equals for c in made if c.equals}
    printed = set()
    for text in (*ex.notes, *ex.traps):
        printed |= set(EXPR.findall(text))
    assert printed - checked - LAYOUT == set(), "an expression the test does not evaluate"
    for c in made:
        for b in range(N):
            if c.kind == "zeros":
                if lengths[b] < L:
                    assert torch.count_nonzero(ev(c.expr, b)) == 0, (c, b)
            elif c.kind == "differs":  # output[-1]'s reverse half is not the reverse final state
                assert not torch.equal(ev(c.expr, b)[..., -mods[-1].hidden_size:], ev(c.equals, b)), c
            elif c.kind == "equal":
                assert torch.equal(ev(c.expr, b), ev(c.equals, b)), (c, b)
            else:
                assert torch.allclose(ev(c.expr, b), _first_reverse_step(kind, mods, x, lengths, bf, b),
                                      atol=1e-12, rtol=0), (c, b)
    for s in ex.states:  # the same_as of each final state: true for packed input too
        if s.same_as:
            got = env[s.tensor] if s.tensor in env and env[s.tensor] is not None else finals[-1]
            assert torch.equal(eval(s.same_as, {"output": output}), got[s.index]), s  # noqa: S307


def _first_reverse_step(kind, mods, x, lengths, bf, b):
    """The top layer's reverse direction after one step: run it alone on its input at t = lengths[b] - 1."""
    top = mods[-1]
    lower = list(mods[:-1])
    K = top.num_layers
    if K > 1:  # split the top layer off the module: the layers below become a module of their own
        below = type(top)(top.input_size, top.hidden_size, num_layers=K - 1, bidirectional=True,
                          batch_first=bf).double()
        below.load_state_dict({k: v for k, v in top.state_dict().items() if not k.split("_l")[-1].startswith(
            str(K - 1))})
        last = type(top)(2 * top.hidden_size, top.hidden_size, bidirectional=True, batch_first=bf).double()
        last.load_state_dict({k.replace(f"_l{K - 1}", "_l0"): v for k, v in top.state_dict().items()
                              if k.split("_l")[-1].startswith(str(K - 1))})
        lower.append(below)
        top = last
    inp = x
    with torch.no_grad():
        if lower:
            inp, _ = _run(lower, x, lengths, bf)
        t = lengths[b] - 1
        row = inp[b, t] if bf else inp[t, b]
        out, _ = top(row.reshape(1, 1, -1))
    return out[0, 0, top.hidden_size:]


@pytest.mark.parametrize("unbatched", [True, False])
def test_the_view_expression_of_h_n_evaluates(unbatched):
    """`h_n.view(K, D, [N,] H_out)[k, d]` as printed (unbatched h_n has no N) is h_n[k·D + d]."""
    spec = make_spec("gru", input_size=H_IN, hidden_size=4, num_layers=3, bidirectional=True, seq_len=L,
                     unbatched=unbatched, batch=None if unbatched else 2)
    note = next(n for n in explain(predict(spec)).notes if ".view(" in n)
    view = re.search(r"h_n\.view\([^)]*\)\[k, d\]", note).group(0)
    gru = nn.GRU(H_IN, 4, num_layers=3, bidirectional=True).double()
    x = torch.randn((L, H_IN) if unbatched else (L, 2, H_IN), dtype=torch.float64)
    with torch.no_grad():
        _, h_n = gru(x)
    for k in range(3):
        for d in range(2):
            assert torch.equal(eval(view, {"h_n": h_n, "N": 2, "H_out": 4, "k": k, "d": d}), h_n[k * 2 + d])  # noqa: S307
