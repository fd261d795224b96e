"""`watch()` costs nothing it need not, and the smaller trace items of issue 23: a failing watched call explained,
a GRU given (h, c), --device keeping lengths on the CPU, one header per module, cost per call and per forward,
and what rnnshape cannot see said instead of "none was called". Witnesses are built here with torch."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import rnnshape

HERE = Path(__file__).resolve().parent


def test_watch_memory_over_800_steps_is_within_10_percent():
    """An 800-step evaluation loop without no_grad, each variant in a fresh process; peak RSS compared.
    Keeping each forward's graph (the old recorder) made this 12 × the plain loop's peak."""
    sys.path.insert(0, str(HERE / "benchmarks"))
    import bench_watch

    plain = bench_watch.one("plain", 800, 64)
    watched = bench_watch.one("watch", 800, 64)
    assert watched["calls"] == 800
    assert watched["peak_rss_kib"] <= 1.10 * plain["peak_rss_kib"], (plain, watched)


def test_watch_keeps_no_tensor():
    """After the block, the recorder holds no tensor: dropping the outputs frees their storage."""
    import gc
    import weakref

    rnn = nn.LSTM(4, 8)
    with rnnshape.watch(rnn) as t:
        out, (h, c) = rnn(torch.randn(6, 2, 4, requires_grad=True))
    ref = weakref.ref(out)
    del out, h, c
    gc.collect()
    assert ref() is None and t.calls[0].count == 1


def test_a_failing_watched_call_is_explained():
    gru = nn.GRU(4, 6)
    x = torch.randn(5, 3, 4)
    with pytest.raises(AttributeError) as caught, rnnshape.watch(gru) as t:
        gru(x, (torch.zeros(1, 3, 6), torch.zeros(1, 3, 6)))
    assert "the state is a tuple (h_0 (1, 3, 6), (1, 3, 6)), but GRU takes one tensor h_0" in t.error.message
    assert "only an LSTM has a cell state" in t.error.message
    if hasattr(caught.value, "__notes__"):
        assert any(n.startswith("rnnshape: ") for n in caught.value.__notes__)


def test_a_failing_watched_call_names_the_dimension_torch_names():
    lstm = nn.LSTM(4, 6, num_layers=2)
    with pytest.raises(RuntimeError) as caught, rnnshape.watch(lstm) as t:
        lstm(torch.randn(5, 3, 4), (torch.zeros(1, 3, 6), torch.zeros(1, 3, 6)))
    assert "Expected hidden[0] size (2, 3, 6)" in str(caught.value)
    assert "h_0 is (1, 3, 6), torch expects (2, 3, 6): dimension 0 is num_layers × directions" in t.error.message


def test_device_keeps_lengths_on_the_cpu_and_moves_a_state_tuple():
    from rnnshape.run.trace import to_device

    x, lengths, h, c = torch.randn(7, 3, 4), torch.tensor([7, 5, 2]), torch.zeros(1, 3, 6), torch.zeros(1, 3, 6)
    moved = to_device((x, lengths, (h, c)), "meta")
    assert moved[0].device.type == "meta" and moved[1].device.type == "cpu"
    assert isinstance(moved[2], tuple) and {t.device.type for t in moved[2]} == {"meta"}
    tokens = torch.zeros(3, dtype=torch.long)  # 1-D ids with no batched partner: moved
    assert to_device((tokens,), "meta")[0].device.type == "meta"


TWO_PLACES = '''
import torch
from torch import nn


class Pair(nn.Module):
    """One encoder called from two places with two sequence lengths."""

    def __init__(self):
        super().__init__()
        self.enc = nn.GRU(4, 6)

    def forward(self, a, b):
        return self.enc(a)[1] + self.enc(b)[1]


def pair():
    return Pair(), (torch.randn(5, 2, 4), torch.randn(3, 2, 4))


class Thrice(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(4, 6)

    def forward(self, x):
        h = None
        for _ in range(3):
            _, h = self.rnn(x, h)
        return h


def thrice():
    return Thrice(), (torch.randn(5, 2, 4),)


class Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(4, 6)

    def forward(self, x):
        return self.rnn(x)[0]


def scripted():
    model = nn.Sequential(torch.jit.script(Inner()), nn.Linear(6, 2))
    return model, (torch.randn(5, 2, 4),)


class BuildsInForward(nn.Module):
    def forward(self, x):
        return nn.LSTM(4, 6)(x)[0]


def builds_in_forward():
    return BuildsInForward(), (torch.randn(5, 2, 4),)
'''


@pytest.fixture
def user_file(tmp_path):
    path = tmp_path / "two_places.py"
    path.write_text(TWO_PLACES)
    return path


def test_one_header_for_one_module_called_from_two_places(cli, user_file):
    r = cli("trace", f"{user_file}:pair")
    assert r.code == 0, r.stderr
    assert r.stdout.count("enc · GRU · 2 calls with 2 input shapes") == 1
    assert "1 call with input (5, 2, 4)" in r.stdout and "1 call with input (3, 2, 4)" in r.stdout


def test_cost_per_call_and_per_forward(cli, user_file):
    """A module called 3 times per forward: MACs per forward = 3 × per call; per call = FlopCounterMode's count
    of one call of the same GRU, halved (it counts GRU correctly on the CPU)."""
    from torch.utils.flop_counter import FlopCounterMode

    doc = cli("trace", f"{user_file}:thrice", "--json").json()
    calls = [c for c in doc["calls"] if c["path"] == "rnn"]
    assert sum(c["count"] for c in calls) == 3 and all(c["calls_per_forward"] == 3 for c in calls)
    gru = nn.GRU(4, 6, bias=False)  # biases add no MACs; rnnshape's MACs exclude them
    with FlopCounterMode(display=False) as counter:
        gru(torch.randn(5, 2, 4))
    for c in calls:
        assert c["macs_per_call"] == counter.get_total_flops() // 2
        assert c["macs_per_forward"] == 3 * c["macs_per_call"]
    text = cli("trace", f"{user_file}:thrice").stdout
    assert "called 3 times per forward" in text


def test_scripted_recurrent_module_is_reported(cli, user_file):
    r = cli("trace", f"{user_file}:scripted", "--json")
    assert r.code == 0
    doc = r.json()
    assert doc["calls"] == [] and any("0.rnn (GRU) is torch.jit code" in u for u in doc["unseen"])
    assert "no recurrent call that rnnshape can see" in r.stderr


def test_kernels_outside_any_module_are_reported(cli, user_file):
    doc = cli("trace", f"{user_file}:builds_in_forward", "--json").json()
    assert doc["calls"] == [] and any("lstm × 1" in u for u in doc["unseen"])


def test_a_watched_model_can_be_deep_copied_and_pickled():
    """A copy made inside the block (an EMA, a snapshot) runs its own weights, and torch.save(model) works."""
    import copy
    import io

    rnn = nn.GRU(3, 4)
    x = torch.randn(2, 1, 3)
    with rnnshape.watch(rnn) as t:
        twin = copy.deepcopy(rnn)
        with torch.no_grad():
            for p in twin.parameters():
                p.zero_()
        assert torch.equal(twin(x)[0], torch.zeros(2, 1, 4))  # the copy's own (zero) weights, not the original's
        buffer = io.BytesIO()
        torch.save(rnn, buffer)
        buffer.seek(0)
        loaded = torch.load(buffer, weights_only=False)
        assert torch.equal(loaded(x)[0], rnn(x)[0])
    assert sum(c.count for c in t.calls) == 1  # the original's one call; the copies are not the watched module
    assert "forward" not in rnn.__dict__


def test_watch_repr_counts_calls_as_torch_runs_them():
    """A cell looped 5 times is 5 recurrent calls (as `trace` prints them), not one entry; counted by torch's hooks."""
    cell, gru = nn.GRUCell(3, 4), nn.GRU(3, 4)
    model = nn.ModuleDict({"cell": cell, "gru": gru})
    ran = []
    for m in (cell, gru):
        m.register_forward_hook(lambda *_: ran.append(1))
    with rnnshape.watch(model) as t:
        gru(torch.randn(5, 2, 3))
        h = torch.zeros(2, 4)
        for x_t in torch.randn(5, 2, 3):
            h = cell(x_t, h)
    assert repr(t) == f"<Watch: {len(ran)} recurrent calls in 2 modules>"
    with rnnshape.watch(gru) as one:
        gru(torch.randn(5, 2, 3))
    assert repr(one) == "<Watch: 1 recurrent call in 1 module>"


@pytest.mark.parametrize("device", ["CPU", " cpu", "tpu", "cuda:x"])
def test_trace_device_that_is_no_device_is_a_usage_error(cli, user_file, device):
    r = cli("trace", f"{user_file}:pair", "--device", device)
    assert r.code == 2, r.stderr
    assert r.stderr.startswith(f"rnnshape: error: --device must be auto, cpu, cuda, cuda:N or meta (got {device!r})")
    assert "internal error" not in r.stderr and len(r.stderr.strip().splitlines()) <= 2


@pytest.mark.parametrize("args, kind, needle", [
    (("not a model",), TypeError, "model must be a torch.nn.Module (got 'not a model')"),
    ((nn.LSTM(3, 4),), None, None),
    ((nn.LSTM(3, 4), 0), ValueError, "batch must be >= 1 (got 0)"),
    ((nn.LSTM(3, 4), -2), ValueError, "batch must be >= 1 (got -2)"),
    ((nn.LSTM(3, 4), "2"), TypeError, "batch must be an integer (got '2')"),
])
def test_watch_refuses_what_it_cannot_watch(args, kind, needle):
    from rnnshape.errors import UsageError

    if kind is None:  # the accepted call still records what torch ran
        with rnnshape.watch(*args, batch=2) as t:
            out, _ = args[0](torch.zeros(5, 2, 3))
        assert len(t.calls) == 1
        assert out.shape == (5, 2, 4)
        return
    with pytest.raises(kind) as err:
        rnnshape.watch(*args)
    assert isinstance(err.value, UsageError) and needle in str(err.value)
