"""`rnnshape trace`: the recurrent calls it lists are the ones plain forward hooks see, with the same shapes;
each command rebuilds a module with the same parameters; pitfalls fire on the buggy models and only there."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import trace_models
from torch import nn
from torch.nn.utils.rnn import PackedSequence

HERE = Path(__file__).resolve().parent


@pytest.fixture
def models(tmp_path):
    """The test models as a user's file: `path.py:NAME`."""
    path = tmp_path / "user_models.py"
    shutil.copy(HERE / "trace_models.py", path)
    return path


def _shapes(value) -> list[tuple]:
    """Every tensor in a hook's args/output, flattened in order (a PackedSequence: its data, its batch_sizes)."""
    if isinstance(value, PackedSequence):
        return [("packed", tuple(value.data.shape), tuple(value.batch_sizes.tolist()))]
    if isinstance(value, torch.Tensor):
        return [tuple(value.shape)]
    if isinstance(value, (tuple, list)):
        return [s for v in value for s in _shapes(v)]
    return []


def hooked(model, args, forwards: int = 1) -> list[tuple[str, list, list]]:
    """Independent witness: plain forward hooks on every recurrent module, in call order."""
    seen = []
    handles = []
    for name, m in model.named_modules():
        if isinstance(m, (nn.RNNBase, nn.RNNCellBase)):
            handles.append(m.register_forward_hook(
                lambda mod, a, out, name=name: seen.append((name, _shapes(a), _shapes(out)))))
    model.eval()
    for _ in range(forwards):
        model(*args)
    for h in handles:
        h.remove()
    return seen


def _traced_shapes(call: dict, key: str) -> list:
    out = []
    for t in call[key]:
        out.append(("packed", tuple(t["shape"]), tuple(t["batch_sizes"])) if t["packed"] else tuple(t["shape"]))
    return out


CASES = [
    ("TextClassifier", ["--input", "4,7:long"], lambda: (trace_models.TextClassifier(),
                                                         (torch.zeros(4, 7, dtype=torch.long),))),
    ("seq2seq", [], trace_models.seq2seq),
    ("packed_gru", [], trace_models.packed_gru),
]


@pytest.mark.parametrize("name,args,make", CASES, ids=[c[0] for c in CASES])
def test_trace_lists_what_hooks_see(cli, models, name, args, make):
    r = cli("trace", f"{models}:{name}", *args, "--json")
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["schema_version"] == 1 and doc["error"] is None
    torch.manual_seed(0)
    model, example = make()
    seen = hooked(model, example)
    # group the witness's calls the way trace does: same module, same tensors -> one entry with a count
    expected: dict[tuple, int] = {}
    for path, ins, outs in seen:
        key = (path, repr(ins), repr(outs))
        expected[key] = expected.get(key, 0) + 1
    got = {}
    for call in doc["calls"]:
        ins, outs = _traced_shapes(call, "inputs"), _traced_shapes(call, "outputs")
        got[(call["path"], repr(ins), repr(outs))] = call["count"]
        assert not call["pitfalls"], call["pitfalls"]  # clean models: no false alarm
    assert got == expected
    assert sum(c["count"] for c in doc["calls"]) == len(seen)


@pytest.mark.parametrize("name,args,make", CASES, ids=[c[0] for c in CASES])
def test_each_command_rebuilds_the_parameters(cli, models, name, args, make):
    doc = cli("trace", f"{models}:{name}", *args, "--json").json()
    model, _ = make()
    for call in doc["calls"]:
        module = model.get_submodule(call["path"])
        want = {n: tuple(p.shape) for n, p in module.named_parameters()}
        tokens = call["command"].split()
        assert tokens[0] == "rnnshape"
        built = cli(*tokens[1:], "--dry-run", "--json").json()
        assert {p["name"]: tuple(p["shape"]) for p in built["parameters"]} == want
        # and the tensors the command predicts are the ones the call passed (a cell: per time step)
        predicted = {t["name"]: t["shape"] for t in built["inputs"] + built["outputs"]}
        for t in call["inputs"] + call["outputs"]:
            shape = predicted[t["name"]][1:] if call["cell"] and t["name"] == "input" else predicted[t["name"]]
            assert t["shape"] == shape, (call["path"], t)


def test_seq2seq_counts_the_decoder_loop(cli, models):
    doc = cli("trace", f"{models}:seq2seq", "--json").json()
    calls = {c["path"]: c for c in doc["calls"]}
    assert calls["decoder"]["count"] == trace_models.Seq2Seq().steps
    assert calls["decoder"]["class"] == "LSTMCell" and calls["encoder.rnn"]["count"] == 1
    assert [t["name"] for t in calls["decoder"]["inputs"]] == ["input", "h_0", "c_0"]


def test_packed_input_lists_batch_sizes(cli, models):
    call = cli("trace", f"{models}:packed_gru", "--json").json()["calls"][0]
    x = call["inputs"][0]
    assert x["name"] == "input.data" and x["packed"] and x["batch_sizes"] == [3, 3, 2, 2, 1, 1, 1]
    assert "--lengths 7,4,2" in call["command"]


def test_state_not_detached(cli, models):
    r = cli("trace", f"{models}:Stateful", "--input", "5,2,6", "--calls", "3", "--json").json()
    codes = [p["code"] for c in r["calls"] for p in c["pitfalls"]]
    assert codes == ["state-not-detached"]
    fixed = cli("trace", f"{models}:StatefulDetached", "--input", "5,2,6", "--calls", "3", "--json").json()
    assert [p for c in fixed["calls"] for p in c["pitfalls"]] == []
    once = cli("trace", f"{models}:Stateful", "--input", "5,2,6", "--json").json()
    assert [p for c in once["calls"] for p in c["pitfalls"]] == []


@pytest.mark.parametrize("name,args,code", [
    ("TimeMajorMistake", ["--input", "4,7:long", "--batch", "4"], "time-batch-swapped"),
    ("Stateful", ["--input", "5,2,6", "--batch", "5"], "time-batch-swapped"),
    ("DropoutOneLayer", ["--input", "5,2,5"], "dropout-single-layer"),
    ("padded_not_packed", [], "padded-not-packed"),
    ("ForgetfulLoop", ["--input", "5,2,4"], "state-not-passed"),
])
def test_pitfall_fires_on_the_buggy_model(cli, models, name, args, code):
    doc = cli("trace", f"{models}:{name}", *args, "--json").json()
    found = [p for c in doc["calls"] for p in c["pitfalls"]]
    assert [p["code"] for p in found] == [code]
    assert found[0]["message"] and found[0]["fix"]


def test_padding_share_is_counted(cli, models):
    doc = cli("trace", f"{models}:padded_not_packed", "--json").json()
    _, (tokens,) = trace_models.padded_not_packed()
    pad = int((tokens == 0).sum())
    message = doc["calls"][0]["pitfalls"][0]["message"]
    assert message.startswith(f"{pad} of {tokens.numel()} time steps ({pad / tokens.numel():.0%})")


def test_clean_models_under_train_and_several_calls(cli, models):
    for name, args in (("TextClassifier", ["--input", "4,7:long"]), ("seq2seq", []), ("packed_gru", []),
                       ("StatefulDetached", ["--input", "5,2,6"])):
        doc = cli("trace", f"{models}:{name}", *args, "--calls", "2", "--train", "--json").json()
        assert doc["training"] and doc["forwards"] == 2
        assert [p for c in doc["calls"] for p in c["pitfalls"]] == [], name


def test_weights_in_one_storage():
    from rnnshape.run.trace import one_storage

    lstm = nn.LSTM(3, 4, num_layers=2)
    assert not one_storage(lstm._flat_weights)  # on the CPU every weight is its own tensor
    flat = torch.zeros(sum(w.numel() for w in lstm._flat_weights))
    views, at = [], 0
    for w in lstm._flat_weights:
        views.append(flat[at:at + w.numel()].view_as(w))
        at += w.numel()
    assert one_storage(views)


def test_wrong_h0_exits_1_with_the_module_path(models):
    proc = subprocess.run([sys.executable, "-m", "rnnshape", "trace", f"{models}:WrongH0", "--input", "5,3,10"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("rnnshape: error: encoder.rnn (LSTM): h_0 is (1, 3, 20), torch expects (2, 3, 20)")
    assert "num_layers × directions = 2 × 1" in lines[0]
    assert lines[1].startswith("hint: ") and "Expected hidden[0] size (2, 3, 20)" in lines[1]


def test_wrong_h0_json_error(cli, models):
    r = cli("trace", f"{models}:WrongH0", "--input", "5,3,10", "--json")
    assert r.code == 1
    err = r.json()["error"]
    assert err["path"] == "encoder.rnn" and err["exception"].startswith("RuntimeError: Expected hidden[0]")
    assert err["message"] in r.stderr


def test_failure_elsewhere_keeps_the_calls_so_far(cli, models):
    r = cli("trace", f"{models}:BadHead", "--input", "5,3,4", "--json")
    assert r.code == 1
    doc = r.json()
    assert [c["path"] for c in doc["calls"]] == ["rnn"]
    assert doc["error"]["path"] is None and "mat1 and mat2" in doc["error"]["message"]
    assert "user_models.py:" in doc["error"]["location"]
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args,needle", [
    (["nothing_here.py:Net"], "TARGET file does not exist"),
    (["{models}:Missing"], "nothing called Missing"),
    (["{models}:TextClassifier"], "without example inputs"),
    (["{models}:TextClassifier", "--input", "4,x"], "--input must be"),
    (["{models}:TextClassifier", "--input", "4,7:complex"], "--input dtype"),
    (["no_colon"], "TARGET must be"),
    (["{models}:Stateful", "--input", "5,2,6", "--calls", "0"], "--calls must be >= 1"),
    (["{models}:needs_size", "--input", "5,2,4"], "needs hidden"),
    (["{models}:TextClassifier", "--input", "4,7:long", "--batch", "0"], "--batch must be >= 1"),
])
def test_usage_errors(cli, models, args, needle):
    r = cli("trace", *[a.format(models=models) for a in args])
    assert r.code == 2 and needle in r.stderr and "Traceback" not in r.stderr


def test_module_form_and_text_output(cli, models, monkeypatch):
    monkeypatch.chdir(models.parent)
    r = cli("trace", "user_models:seq2seq")
    assert r.code == 0, r.stderr
    assert "encoder.rnn · GRU · 1 call" in r.stdout and "decoder · LSTMCell · 6 calls" in r.stdout
    assert "$ rnnshape lstm --cell --input-size 12 --hidden-size 20 --seq-len 6 --batch 4" in r.stdout


def test_watch_carries_the_json_data(cli, models):
    import rnnshape
    from rnnshape.render.trace import entry_dict

    model, args = trace_models.seq2seq()
    model.eval()
    with rnnshape.watch(model) as t:
        model(*args)
    doc = cli("trace", f"{models}:seq2seq", "--json").json()
    assert [e.to_dict() for e in t.calls] == [entry_dict(e) for e in t.calls] == doc["calls"]
    assert t.to_dict()["calls"] == doc["calls"] and t.to_dict()["forwards"] == 1
    assert "encoder.rnn" in t.calls[0]._repr_html_() and "decoder" in t._repr_html_()
    assert repr(t.calls[1]) == "<Call decoder · LSTMCell × 6>"


def test_user_prints_go_to_stderr(cli, models):
    r = cli("trace", f"{models}:Chatty", "--input", "2,3:long", "--json")
    assert r.code == 0 and r.json()["calls"][0]["path"] == "lstm"
    assert "hello from forward" in r.stderr


def test_subclass_with_its_own_forward(cli, models):
    """A subclass is traced under its own class name; its second argument (lengths) is not read as h_0."""
    call = cli("trace", f"{models}:lengths_lstm", "--json").json()["calls"][0]
    assert call["class"] == "LengthsLSTM" and call["path"] == ""
    assert [t["name"] for t in call["inputs"]] == ["input"]
    assert [t["name"] for t in call["outputs"]] == ["output.data", "h_n", "c_n"]


def test_no_recurrent_module_is_said(cli, models, tmp_path):
    path = tmp_path / "plain.py"
    path.write_text("from torch import nn\n\ndef mlp():\n    return nn.Linear(3, 2)\n")
    r = cli("trace", f"{path}:mlp", "--input", "4,3", "--json")
    assert r.code == 0 and r.json()["calls"] == [] and "has no nn.RNN, nn.LSTM, nn.GRU or cell" in r.stderr


def test_trace_help_does_not_import_torch():
    from probe_util import run_probe

    proc = run_probe("trace", "--help")
    assert "TORCH_IMPORTED=False" in proc.stderr and "runs your own code" in proc.stdout


@pytest.mark.parametrize("name", ["rnnshape.model.trace", "rnnshape.api.trace"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.slow
def test_readme_trace_examples_are_real(monkeypatch):
    """The README's trace blocks are the current output (torch's version aside), and so is its excerpt."""
    import re

    from readme_blocks import README, blocks, expected, run

    monkeypatch.chdir(HERE.parent)
    text = README.read_text(encoding="utf-8")
    traced = [m for m in blocks(text) if m["args"].startswith("trace")]
    assert len(traced) == 2

    def norm(s: str) -> str:
        return re.sub(r"torch \d[\w.+]*", "torch X", s)

    for m in traced:
        assert norm(m["body"]) == norm(expected(m["args"], m["section"], m["mode"])), "run tests/readme_blocks.py"
    tail = run("trace tests/examples/bptt.py:Carried --input 4,35:long --calls 2").splitlines()[-3:]
    assert "\n".join(["...", *tail]) in text


CONFIGS = [
    (lambda: nn.LSTM(5, 8, num_layers=3, proj_size=3, bidirectional=True), lambda: (torch.randn(4, 2, 5),)),
    (lambda: nn.RNN(5, 8, nonlinearity="relu", bias=False, batch_first=True), lambda: (torch.randn(2, 6, 5),)),
    (lambda: nn.GRU(5, 8, num_layers=2), lambda: (torch.randn(6, 5),)),  # unbatched
    (lambda: nn.GRUCell(5, 8), lambda: (torch.randn(5),)),  # unbatched cell
    (lambda: nn.RNNCell(5, 8, nonlinearity="relu"), lambda: (torch.randn(3, 5), torch.zeros(3, 8))),
    (lambda: nn.LSTM(5, 8).double(), lambda: (torch.randn(4, 2, 5, dtype=torch.float64),)),
    (lambda: nn.LSTM(5, 8, batch_first=True), lambda: (torch.randn(3, 4, 5), (torch.zeros(1, 3, 8),
                                                                               torch.zeros(1, 3, 8)))),
]


@pytest.mark.parametrize("make,args", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
def test_watch_any_configuration(cli, make, args):
    """Every configuration: the shapes torch gave equal the predictor's for the command, whose parameters
    are the module's; the command runs the module's own input shape."""
    import rnnshape

    torch.manual_seed(0)
    module = make()
    with rnnshape.watch(module) as t:
        out = module(*args())
    (call,) = t.calls
    assert call.mismatch is None and call.prediction is not None
    assert [s.shape for s in call.outputs] == [tuple(x.shape) for x in _flat(out)]
    built = cli(*call.command.split()[1:], "--dry-run", "--json").json()
    assert {p["name"]: tuple(p["shape"]) for p in built["parameters"]} == \
        {n: tuple(p.shape) for n, p in module.named_parameters()}
    assert all(s.dims for s in call.inputs + call.outputs)


def _flat(out):
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for o in out for t in _flat(o)]


def test_lengths_from_batch_sizes_equal_torch():
    from torch.nn.utils.rnn import pack_padded_sequence

    from rnnshape.api.trace import lengths_from_batch_sizes

    for lengths in ([5, 3, 2], [1], [4, 4, 4], [2, 7, 1, 7]):
        packed = pack_padded_sequence(torch.zeros(max(lengths), len(lengths), 1), lengths, enforce_sorted=False)
        assert lengths_from_batch_sizes(tuple(packed.batch_sizes.tolist())) == tuple(sorted(lengths, reverse=True))


def test_a_shape_the_predictor_does_not_give_is_said():
    from rnnshape.api.trace import spec_for, verify
    from rnnshape.model.predict import predict
    from rnnshape.model.spec import Kind, Module
    from rnnshape.model.trace import Call, Seen, group

    m = Module(Kind.GRU, False, 8, 16)
    call = Call("rnn", "GRU", m, 0, (Seen("input", (5, 3, 8)),), (Seen("output", (5, 3, 16)),
                                                                    Seen("h_n", (2, 3, 16))))
    (entry,) = group([call])
    checked = verify(entry, predict(spec_for(entry)))
    assert checked.mismatch.startswith("torch gave h_n (2, 3, 16), where rnnshape predicts (1, 3, 16)")


def _entry(module, x_shape, **facts):
    from rnnshape.model.trace import Call, Facts, Seen, group

    return group([Call("rnn", "M", module, 0, (Seen("input", x_shape),), (), Facts(**facts))])


def test_time_major_input_into_a_batch_first_module():
    from rnnshape.model import trace as pitfalls
    from rnnshape.model.spec import Kind, Module

    bf = Module(Kind.GRU, False, 8, 16, batch_first=True)
    (e,) = pitfalls.find(_entry(bf, (50, 32, 8)), batch=32)
    assert [p.code for p in e.pitfalls] == ["time-batch-swapped"] and "batch_first=True" in e.pitfalls[0].message
    assert pitfalls.find(_entry(bf, (32, 50, 8)), batch=32)[0].pitfalls == ()
    assert pitfalls.find(_entry(bf, (32, 32, 8)), batch=32)[0].pitfalls == ()  # square: cannot tell


def test_weights_not_contiguous_from_the_fact():
    from rnnshape.model import trace as pitfalls
    from rnnshape.model.spec import Kind, Module
    from rnnshape.run.trace import weights_chunked

    assert weights_chunked(nn.LSTM(3, 4)) is None  # on the CPU the question does not arise
    m = Module(Kind.LSTM, False, 8, 16)
    (e,) = pitfalls.find(_entry(m, (5, 3, 8), weights_chunked=False))
    assert [p.code for p in e.pitfalls] == ["weights-not-contiguous"] and "flatten_parameters()" in e.pitfalls[0].fix
    assert pitfalls.find(_entry(m, (5, 3, 8), weights_chunked=True))[0].pitfalls == ()


@pytest.mark.parametrize("width", [40, 60, 80, 200])
def test_command_lines_fit_and_paste_back(width):
    from rnnshape.render.trace import command_lines

    command = "rnnshape lstm --cell --input-size 32 --hidden-size 64 --seq-len 10 --batch 8 --init-state zeros"
    lines = command_lines(command, width)
    assert all(len(line) <= width for line in lines)
    assert " ".join(line.rstrip(" \\").strip() for line in lines) == "$ " + command


def test_a_caught_recurrent_failure_is_not_blamed_later(cli, models):
    r = cli("trace", f"{models}:CaughtThenFails", "--input", "5,3,4", "--json")
    err = r.json()["error"]
    assert r.code == 1 and err["path"] is None and "ValueError: later, elsewhere" in err["message"]


@pytest.mark.parametrize("source, said", [
    ("import sys\nsys.exit(0)\n", "importing {path} called sys.exit(0)"),
    # a training script that parses its arguments at import, as many do: argparse sees rnnshape's own argv
    ("import argparse\nargparse.ArgumentParser().parse_args()\n", "importing {path} called sys.exit(2)"),
    ("import sys\nfrom torch import nn\n\ndef build():\n    sys.exit(3)\n", "calling {path}:build called sys.exit(3)"),
])
def test_user_code_that_exits_is_said_not_silent(cli, tmp_path, source, said):
    path = tmp_path / "script.py"
    path.write_text(source)
    r = cli("trace", f"{path}:build", "--input", "4,3")
    assert r.code == 1, (r.code, r.stderr)
    assert f"rnnshape: error: {said.format(path=path)}" in r.stderr
    assert "under if __name__ == '__main__'" in r.stderr
    if "argparse" in source:  # the hint points at the user's line, not inside argparse
        assert "script.py:2 in <module>" in r.stderr and "argparse.py" not in r.stderr, r.stderr


def test_quiet_keeps_python_warnings_off_stderr(tmp_path):
    """torch's own warnings in the traced forward (oneDNN and projections, flatten_parameters) are warnings too."""
    path = tmp_path / "warns.py"
    path.write_text("import warnings\nimport torch\nfrom torch import nn\n\n"
                    "class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                    "        self.gru = nn.GRU(3, 4)\n\n    def forward(self, x):\n"
                    "        warnings.warn('a warning from the forward')\n        return self.gru(x)[0]\n")
    def run(*extra):  # a subprocess: pytest would catch the warnings itself
        return subprocess.run([sys.executable, "-m", "rnnshape", "trace", f"{path}:M", "--input", "5,2,3", *extra],
                              capture_output=True, text=True, timeout=120)

    loud = run()
    assert loud.returncode == 0 and "a warning from the forward" in loud.stderr, loud.stderr
    quiet = run("-q")
    assert quiet.returncode == 0 and quiet.stderr == "" and "GRU" in quiet.stdout, quiet.stderr
