"""The equations `--explain` prints are the ones torch computes: evaluate the printed text against torch.

Each printed equation is translated to Python as written (σ → sigmoid, ⊙ → *, `W x` → x @ W.T) and evaluated
with the weight rows the explanation names (e.g. rows 20:40 of weight_ih_l0), step by step in each group's
direction, feeding each group the concatenation the explanation describes. The result must reproduce the
output / h_n / c_n of torch modules built here, independently of rnnshape, in float64. The h_n index mapping
and the `output[...]` expressions the explanation prints are evaluated on torch's own tensors.
"""

from __future__ import annotations

import re

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from rnnshape.model.predict import predict  # noqa: E402
from rnnshape.model.spec import make_spec  # noqa: E402
from rnnshape.views.explain import explain  # noqa: E402

H_IN, L, N = 4, 5, 2


class _W:
    """A weight slice: `W @ x` in the printed notation means x @ W.T for a batch of rows."""

    def __init__(self, w):
        self.w = w

    def __matmul__(self, x):
        return x @ self.w.T


def _python(rhs: str) -> str:
    s = rhs.replace("σ(", "sigmoid(").replace("⊙", "*").replace("−", "-")
    s = re.sub(r"([hc])_\{t[-+]1\}", r"\1_prev", s)
    return re.sub(r"\b(W_\w+) ", r"\1 @ ", s)


def _build(kind, cell, sizes, layers, bidir, proj, bias, nonlin, batch_first):
    torch.manual_seed(0)
    extra = {"nonlinearity": nonlin} if kind == "rnn" else {}
    if cell:
        cls = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind]
        mods, width = [], H_IN
        for h in sizes:
            mods.append(cls(width, h, bias=bias, **extra))
            width = h
    else:
        cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
        if kind == "lstm":
            extra["proj_size"] = proj
        mods, width = [], H_IN
        layers = 1 if len(sizes) > 1 else layers  # a --hidden-size list stacks one-layer modules
        for h in sizes:
            mods.append(cls(width, h, num_layers=layers, bias=bias, bidirectional=bidir, batch_first=batch_first,
                            **extra))
            width = (2 if bidir else 1) * (proj or h)
    mods = [m.double() for m in mods]
    return mods[0] if len(mods) == 1 else nn.ModuleList(mods), mods


def _torch_forward(kind, cell, mods, x, batch_first):
    """What torch returns, named as rnnshape names it: output, h_n[.i], c_n[.i]."""
    sfx = [f".{i}" if len(mods) > 1 else "" for i in range(len(mods))]
    out = {}
    if cell:
        states = [None] * len(mods)
        for t in range(L):
            inp = x[:, t] if batch_first else x[t]
            for i, c in enumerate(mods):
                states[i] = c(inp, states[i])
                inp = states[i][0] if kind == "lstm" else states[i]
        for s, st in zip(sfx, states):
            out["h_n" + s], out["c_n" + s] = st if kind == "lstm" else (st, None)
        return out
    y = x
    for s, m in zip(sfx, mods):
        y, hn = m(y)
        out["h_n" + s], out["c_n" + s] = hn if kind == "lstm" else (hn, None)
    out["output"] = y
    return out


def _evaluate(ex, params, x, batch_first):
    """Run the printed equations: {(module, layer, direction): ([h_t for t in 0..L-1], final h, final c)}."""
    done = {}
    for g in ex.groups:
        steps = range(L - 1, -1, -1) if g.direction else range(L)
        env = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}
        for eq in g.equations:
            for term in eq.terms:
                if term.source is not None:
                    p = params[term.source.parameter]
                    assert tuple(p.shape) == term.source.parameter_shape, term.source
                    a, b = term.source.rows
                    assert tuple(p[a:b].shape) == term.shape, (term.symbol, term.source)
                    env[term.symbol] = _W(p[a:b]) if term.symbol.startswith("W_") else p[a:b]
        h_shape = next(t.shape for e in g.equations for t in e.terms if t.symbol.startswith("h_{"))
        c_terms = [t.shape for e in g.equations for t in e.terms if t.symbol.startswith("c_{")]
        env["h_prev"] = torch.zeros(h_shape, dtype=torch.float64)
        env["c_prev"] = torch.zeros(c_terms[0], dtype=torch.float64) if c_terms else None
        hs = [None] * L
        for t in steps:
            if g.input_from:
                env["x_t"] = torch.cat([done[src][0][t] for src in g.input_from], dim=-1)
            else:
                env["x_t"] = x[:, t] if batch_first else x[t]
            assert tuple(env["x_t"].shape) == g.input_shape
            for eq in g.equations:
                env[eq.lhs] = eval(_python(eq.rhs), env)  # noqa: S307 - the printed equation, as printed
                assert tuple(env[eq.lhs].shape) == eq.shape, (eq.lhs, eq.rhs)
            env["h_prev"], env["c_prev"], hs[t] = env["h_t"], env.get("c_t"), env["h_t"]
        done[(g.module, g.layer, g.direction)] = (hs, env["h_prev"], env["c_prev"])
    return done


CONFIGS = [
    # kind, cell, sizes, layers, bidirectional, proj, bias, nonlinearity, batch_first
    ("lstm", False, [5], 1, False, 0, True, None, False),
    ("lstm", False, [5], 2, True, 0, True, None, False),
    ("lstm", False, [5], 3, True, 3, True, None, False),
    ("lstm", False, [5], 2, False, 2, False, None, True),
    ("gru", False, [5], 1, True, 0, True, None, False),
    ("gru", False, [5], 3, False, 0, True, None, False),
    ("gru", False, [5], 2, True, 0, False, None, True),
    ("rnn", False, [5], 1, False, 0, True, "tanh", False),
    ("rnn", False, [5], 2, True, 0, True, "relu", False),
    ("rnn", False, [5], 3, True, 0, True, "tanh", True),
    ("lstm", False, [6, 3], 1, True, 0, True, None, False),
    ("gru", False, [6, 3], 1, False, 0, True, None, False),
    ("lstm", True, [5], 1, False, 0, True, None, False),
    ("gru", True, [6, 3], 2, False, 0, True, None, False),
    ("rnn", True, [6, 3], 2, False, 0, False, "relu", True),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(str(v) for v in c))
def test_printed_equations_reproduce_torch(config):
    kind, cell, sizes, layers, bidir, proj, bias, nonlin, batch_first = config
    module, mods = _build(*config)
    spec = make_spec(kind, cell=cell, input_size=H_IN, hidden_size=sizes,
                     num_layers=None if len(sizes) > 1 else layers, bidirectional=bidir, proj_size=proj,
                     bias=bias, nonlinearity=nonlin, batch_first=batch_first, seq_len=L, batch=N)
    ex = explain(predict(spec))
    x = torch.randn((N, L, H_IN) if batch_first else (L, N, H_IN), dtype=torch.float64)
    with torch.no_grad():
        theirs = _torch_forward(kind, cell, mods, x, batch_first)
        mine = _evaluate(ex, dict(module.named_parameters()), x, batch_first)

    if not cell:
        top = [key for key in mine if key[:2] == (ex.groups[-1].module, ex.groups[-1].layer)]
        steps = [torch.cat([mine[k][0][t] for k in top], dim=-1) for t in range(L)]
        output = torch.stack(steps, dim=1 if batch_first else 0)
        assert torch.allclose(output, theirs["output"], atol=1e-12, rtol=0)

    for s in ex.states:
        real = theirs[s.tensor]
        got = real if s.index is None else real[s.index]
        _, h_final, c_final = mine[(s.module, s.layer, s.direction)]
        assert torch.allclose(got, c_final if s.tensor.startswith("c_n") else h_final, atol=1e-12, rtol=0), s
        assert tuple(got.shape) == s.shape
        if s.same_as:
            assert torch.equal(eval(s.same_as, {"output": theirs["output"]}), got), s  # noqa: S307


def test_reverse_final_state_is_output_at_t0_not_at_minus_1():
    """The trap the explanation names: output[-1]'s reverse half is not h_n[-1]; output[0, :, H:] is."""
    spec = make_spec("gru", input_size=H_IN, hidden_size=5, num_layers=2, bidirectional=True, seq_len=L, batch=N)
    ex = explain(predict(spec))
    trap = next(t for t in ex.traps if t.startswith("output[-1] is not"))
    wrong, right = re.findall(r"output\[[^\]]+\]", trap)[1], re.findall(r"output\[[^\]]+\]", trap)[-1]
    torch.manual_seed(1)
    gru = nn.GRU(H_IN, 5, num_layers=2, bidirectional=True).double()
    output, h_n = gru(torch.randn(L, N, H_IN, dtype=torch.float64))
    env = {"output": output}
    assert torch.equal(eval(right, env), h_n[-1])  # noqa: S307
    assert not torch.allclose(eval(wrong, env), h_n[-1])  # noqa: S307


def test_paper_gru_would_not_match():
    """The GRU check discriminates: the paper's n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn) differs from torch."""
    spec = make_spec("gru", input_size=H_IN, hidden_size=5, seq_len=L, batch=N)
    ex = explain(predict(spec))
    n_eq = ex.groups[0].equations[2]
    assert n_eq.rhs == "tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))"
    paper = ex.groups[0].equations[2].__class__(
        n_eq.lhs, "tanh(W_in x_t + b_in + W_hn (r_t ⊙ h_{t-1}) + b_hn)", n_eq.shape, n_eq.dims, n_eq.terms, "")
    group = ex.groups[0].__class__(**{**ex.groups[0].__dict__, "equations": (
        *ex.groups[0].equations[:2], paper, ex.groups[0].equations[3])})
    paper_ex = ex.__class__(**{**ex.__dict__, "groups": (group,)})
    module, mods = _build("gru", False, [5], 1, False, 0, True, None, False)
    x = torch.randn(L, N, H_IN, dtype=torch.float64)
    with torch.no_grad():
        _, h_n = mods[0](x)
        printed = _evaluate(ex, dict(module.named_parameters()), x, False)[(None, 0, 0)][1]
        other = _evaluate(paper_ex, dict(module.named_parameters()), x, False)[(None, 0, 0)][1]
    assert torch.allclose(printed, h_n[0], atol=1e-12, rtol=0)
    assert not torch.allclose(other, h_n[0], atol=1e-3)
