"""`rnnshape why` held to torch (issue 23): every case raises its error in a torch module built here, feeds
torch's exact text to `why`, and checks the explanation names the tensor and the dimension the test broke (worked
out from the perturbation, never from rnnshape), and that the command it suggests shows the shape torch wanted."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnnshape.model.why import decode

CLASSES = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
CELLS = {"rnn": nn.RNNCell, "gru": nn.GRUCell, "lstm": nn.LSTMCell}
H_IN, H, L, N = 6, 8, 5, 3


def _said(fn) -> str:
    try:
        fn()
    except Exception as err:  # torch's own error, as a user would paste it
        return f"{type(err).__name__}: {err}".splitlines()[0]
    raise AssertionError("torch accepted it")


def _bumped(shape, dim):
    s = list(shape)
    s[dim] += 1
    return tuple(s)


def layer_cases():
    """(id, text, tensor, dimension, expected shape or None) over kinds × layers × directions × batch_first ×
    proj_size × batched/unbatched, each state dimension broken in turn, and the input's size, rank and dtype."""
    for kind, layers, bidir, batch_first, proj, unbatched in itertools.product(
            CLASSES, (1, 2, 3), (False, True), (False, True), (0, 3), (False, True)):
        if proj and kind != "lstm":
            continue
        kw = {"proj_size": proj} if proj else {}
        m = CLASSES[kind](H_IN, H, num_layers=layers, bidirectional=bidir, batch_first=batch_first, **kw).eval()
        d = 2 if bidir else 1
        h_out = proj or H
        x = torch.randn(L, H_IN) if unbatched else (torch.randn(N, L, H_IN) if batch_first else torch.randn(L, N, H_IN))
        lead = () if unbatched else (N,)
        h0 = (d * layers, *lead, h_out)
        c0 = (d * layers, *lead, H)
        tag = (f"{kind}-L{layers}-{'bi' if bidir else 'uni'}-{'bf' if batch_first else 'tm'}-p{proj}-"
               f"{'u' if unbatched else 'b'}")

        def call(h_shape, c_shape=None, inp=x, dtype=torch.float32):
            if kind == "lstm":
                return lambda: m(inp, (torch.zeros(h_shape, dtype=dtype), torch.zeros(c_shape or c0)))
            return lambda: m(inp, torch.zeros(h_shape, dtype=dtype))

        states = [("h_0", h0)] + ([("c_0", c0)] if kind == "lstm" else [])
        for name, shape in states:
            for dim in range(len(shape)):
                bad = _bumped(shape, dim)
                text = _said(call(bad, None) if name == "h_0" else call(h0, bad))
                # unbatched: torch reports the state with the batch dimension 1 it inserted at index 1
                reported = dim if not unbatched or dim == 0 else dim + 1
                want = (shape[0], 1, shape[1]) if unbatched else shape
                yield f"{tag}-{name}-d{dim}", text, name, reported, want
        text = _said(lambda: m(x[..., :H_IN - 1]))
        yield f"{tag}-input-size", text, "input", -1, None
        yield f"{tag}-input-rank", _said(lambda: m(x.reshape(-1))), "input", None, None
        rank_bad = (d * layers, h_out) if not unbatched else (d * layers, 1, h_out)
        yield f"{tag}-state-rank", _said(call(rank_bad, rank_bad if kind == "lstm" else None)), \
            ("(h_0, c_0)" if kind == "lstm" else "hx"), None, None
        yield f"{tag}-input-dtype", _said(lambda: m(x.double())), "input", None, None
        if not unbatched:
            yield f"{tag}-state-dtype", _said(call(h0, None, dtype=torch.float64)), "h_0", None, None
        yield f"{tag}-device", _said(lambda: m(x.to("meta"))), "input", None, None


def cell_cases():
    for kind, batched in itertools.product(CELLS, (True, False)):
        m = CELLS[kind](H_IN, H).eval()
        x = torch.randn(N, H_IN) if batched else torch.randn(H_IN)
        lead = (N,) if batched else ()
        h = (*lead, H)
        tag = f"{kind}cell-{'b' if batched else 'u'}"

        def call(hs, cs=h, inp=x):
            if kind == "lstm":
                return lambda: m(inp, (torch.zeros(hs), torch.zeros(cs)))
            return lambda: m(inp, torch.zeros(hs))

        yield f"{tag}-h-hidden", _said(call(_bumped(h, -1))), "h_0", -1, None
        if kind == "lstm":
            yield f"{tag}-c-hidden", _said(call(h, _bumped(h, -1))), "c_0", -1, None
        if batched:
            yield f"{tag}-h-batch", _said(call(_bumped(h, 0))), "h_0", 0, None
        yield f"{tag}-input-size", _said(lambda: m(x[..., :H_IN - 1])), "input", -1, None
        yield f"{tag}-sequence", _said(lambda: m(torch.randn(L, N, H_IN))), "input", None, None
        yield f"{tag}-state-rank", _said(call((1, N, H), (1, N, H))), "h_0", None, None
        if kind == "lstm":
            yield f"{tag}-one-tensor", _said(lambda: m(x, torch.zeros(h))), "hx", None, None
        else:
            yield f"{tag}-tuple", _said(lambda: m(x, (torch.zeros(h), torch.zeros(h)))), "hx", None, None
        packed = pack_padded_sequence(torch.randn(L, N, H_IN), [5, 3, 2])
        yield f"{tag}-packed", _said(lambda: m(packed)), "input", None, None


def packed_cases():
    x = torch.randn(L, N, H_IN)
    for kind in CLASSES:
        m = CLASSES[kind](H_IN, H).eval()
        packed = pack_padded_sequence(x, [5, 3, 2])
        z = torch.zeros
        state = (lambda s: (z(s), z(s))) if kind == "lstm" else z
        yield f"{kind}-packed-layers", _said(lambda: m(packed, state((2, N, H)))), "h_0", 0, None
        yield f"{kind}-packed-batch", _said(lambda: m(packed, state((1, N - 1, H)))), "h_0", 1, None
        if kind != "lstm":  # an LSTM with packed input says only "incorrect number of RNN parameters"
            yield f"{kind}-packed-hidden", _said(lambda: m(packed, state((1, N, H + 1)))), "h_0", 2, None
        yield f"{kind}-packed-input", _said(lambda: m(pack_padded_sequence(torch.randn(L, N, H_IN + 1), [5, 3, 2]))), \
            "input", -1, None
        if kind == "lstm":  # one tensor for (h_0, c_0): torch indexes it and complains of the ranks
            yield "lstm-one-tensor", _said(lambda: m(x, z(2, N, H))), "(h_0, c_0)", None, None
            yield "lstm-one-tensor-1", _said(lambda: m(x, z(1, N, H))), "hx", None, None
        else:
            yield f"{kind}-tuple", _said(lambda: m(x, (z(1, N, H), z(1, N, H)))), "hx", None, None
        overrun = pack_padded_sequence(x, [6, 3, 2])
        yield f"{kind}-lengths-overrun", _said(lambda: m(overrun)), "lengths", None, None
    yield "unsorted", _said(lambda: pack_padded_sequence(x, [2, 5, 3])), "lengths", None, None
    yield "zero-length", _said(lambda: pack_padded_sequence(x, [5, 0, 2])), "lengths", None, None
    yield "count", _said(lambda: pack_padded_sequence(x, [5, 3])), "lengths", None, None
    yield "empty", _said(lambda: nn.GRU(H_IN, H)(torch.randn(0, N, H_IN))), "input", 0, None


CASES = list(itertools.chain(layer_cases(), cell_cases(), packed_cases()))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_why_names_the_tensor_and_dimension_torch_complained_of(case):
    _, text, tensor, dimension, _ = case
    w = decode(text)
    assert w is not None, f"not recognised: {text}"
    assert w.said == text
    if tensor in ("h_0", "c_0") and w.tensor in ("h_0", "c_0", "(h_0, c_0)"):
        # packed LSTM and dtype messages do not say which of the two states: either is the answer
        assert w.tensor == tensor or w.topic in ("packed sequence", "dtype"), (text, w)
    else:
        assert w.tensor == tensor, (text, w)
    if dimension is not None:
        assert w.dimension == dimension, (text, w)
        named = "the last dimension" if dimension == -1 else f"dimension {dimension}"
        assert f"dimension {dimension}" in w.message or named in w.message or w.dimension_name in w.message, w


def test_many_configurations_and_every_topic_are_covered():
    topics = {decode(c[1]).topic for c in CASES}
    assert len(CASES) >= 300
    assert {"hidden size", "input size", "batch", "packed sequence", "dtype", "device", "cell vs layer",
            "rank"} <= topics


STATE_CASES = [c for c in CASES if c[4] is not None and "-u-" not in c[0] and c[0].endswith(("-d0", "-d1", "-d2"))]


@pytest.mark.parametrize("case", STATE_CASES[::7], ids=[c[0] for c in STATE_CASES[::7]])
def test_the_suggested_command_shows_the_shape_torch_wanted(cli, case):
    _, text, tensor, _, want = case
    w = decode(text)
    commands = [w.command] + ([w.also] if w.also else [])
    for command in commands:
        r = cli(*command.split()[1:], "--json")
        assert r.code == 0, (command, r.stderr)
        outs = {o["name"]: tuple(o["shape"]) for o in json.loads(r.stdout)["outputs"]}
        final = "c_n" if tensor == "c_0" else "h_n"
        assert outs[final] == want, (command, outs, want)


@pytest.mark.parametrize("text", ["CUDA out of memory. Tried to allocate 2.00 GiB", "", "hello"])
def test_unknown_messages_are_not_guessed(cli, text):
    r = cli("why", text) if text else cli("why", "-")
    assert r.code == (1 if text else 2)
    assert r.stdout == ""
    assert r.stderr.startswith("rnnshape: error: ")
    if text:
        assert "rnnshape trace" in r.stderr and "not a recurrent-module message" in r.stderr


def test_cli_explains_and_exits_0(cli):
    r = cli("why", "RuntimeError: Expected hidden[0] size (2, 4, 20), got [1, 4, 20]", env={"COLUMNS": "80"})
    assert r.code == 0 and r.stderr == ""
    out = r.stdout
    assert " ".join(out.split()).startswith(
        "h_0 is (1, 4, 20), torch expects (2, 4, 20): dimension 0 is num_layers × directions = 2 (got 1)")
    for label in ("tensor ", "rule ", "cause ", "fix ", "shapes ", "torch said "):
        assert f"\n{label}" in out
    assert "rnnshape lstm --hidden-size 20 --layers 2 --batch 4 --dry-run" in out
    assert all(len(line) <= 80 or "rnnshape " in line or line.startswith("torch said") for line in out.splitlines())
    assert all(line == line.rstrip() for line in out.splitlines())


def test_reads_a_whole_traceback_from_stdin():
    tb = ("Traceback (most recent call last):\n  File \"train.py\", line 9, in <module>\n    out, h = gru(x, h)\n"
          "RuntimeError: Expected hidden size (1, 3, 8), got [1, 4, 8]\n")
    r = subprocess.run([sys.executable, "-m", "rnnshape", "why", "-", "--json"], input=tb, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["recognised"] and doc["tensor"] == "h_0" and doc["dimension"] == 1 and doc["dimension_name"] == "N"


def test_why_does_not_import_torch():
    code = ("import sys; from rnnshape.cli import main; "
            "main(['why', 'Expected hidden size (1, 3, 8), got [1, 4, 8]']); assert 'torch' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_help_examples_explain(cli):
    import shlex

    from tests.test_help import examples, piped_help

    for example in examples(piped_help("why")):
        words = shlex.split(example)[1:]
        if "-" not in words:  # the stdin example is test_reads_a_whole_traceback_from_stdin
            r = cli(*words)
            assert r.code == 0 and r.stdout, (example, r.stderr)


@pytest.mark.parametrize("build, arg", [
    (lambda: nn.LSTM(10, 20, proj_size=20), "proj_size"), (lambda: nn.LSTM(10, 20, proj_size=-1), "proj_size"),
    (lambda: nn.GRU(10, 20, proj_size=0), "proj_size"), (lambda: nn.RNN(0, 20), "input_size"),
    (lambda: nn.GRU(10, 0), "hidden_size"), (lambda: nn.LSTM(10, 20, num_layers=0), "num_layers"),
    (lambda: nn.LSTM(10, 20, dropout=1.5), "dropout"), (lambda: nn.RNN(10, 20, nonlinearity="sigmoid"), "nonlinearity"),
])
def test_constructor_errors_name_the_argument_and_the_command_works(cli, build, arg):
    w = decode(_said(build))
    assert w is not None and w.tensor == arg
    r = cli(*w.command.split()[1:])
    assert r.code == 0, r.stderr
