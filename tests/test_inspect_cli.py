"""`rnnshape inspect` and `--check` through the CLI: the JSON it decides, the words it explains with."""

from __future__ import annotations

import subprocess
import sys

import pytest
from checkpoint_files import build, save

import rnnshape
from rnnshape.errors import UsageError


@pytest.fixture
def proj_file(tmp_path):
    """The issue's example: a 2-layer bidirectional LSTM saved with proj_size 256 (layer 1 input 512 wide)."""
    path = tmp_path / "proj.pt"
    cfg = {"kind": "lstm", "input_size": 64, "hidden_size": 300, "num_layers": 2, "bidirectional": True,
           "proj_size": 256}
    save(path, build(cfg).state_dict(), "model")
    return path


@pytest.fixture
def model_file(tmp_path):
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(30, 16)
            self.encoder = nn.GRU(input_size=16, hidden_size=24, num_layers=3, bias=False)
            self.decoder = nn.LSTMCell(input_size=24, hidden_size=10)
            self.head = nn.Linear(10, 4)

    path = tmp_path / "net.pt"
    save(path, Net().state_dict(), "state_dict")
    return path


def test_inspect_json_follows_the_contract(cli, model_file):
    r = cli("inspect", model_file, "--json")
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["schema_version"] == 1 and doc["file"] == str(model_file) and doc["location"] == ["state_dict"]
    enc, dec = doc["modules"]
    for key in ("prefix", "kind", "cell", "input_size", "hidden_size", "num_layers", "bidirectional", "proj_size",
                "bias", "constructor", "parameters", "candidates"):
        assert key in enc and key in dec
    assert (enc["prefix"], enc["kind"], enc["cell"], enc["input_size"], enc["hidden_size"], enc["num_layers"],
            enc["bias"]) == ("encoder", "gru", False, 16, 24, 3, False)
    assert enc["constructor"] == "nn.GRU(input_size=16, hidden_size=24, num_layers=3, bias=False)"
    assert enc["parameters"][0] == {"name": "encoder.weight_ih_l0", "shape": [72, 16], "dtype": "float32"}
    assert (dec["prefix"], dec["kind"], dec["cell"], dec["hidden_size"]) == ("decoder", "lstm", True, 10)
    assert enc["candidates"] == [] and dec["recognised"] is True


def test_inspect_tables_show_the_constructor_and_the_main_tables(cli, model_file):
    r = cli("inspect", model_file, env={"COLUMNS": "80"})
    assert r.code == 0, r.stderr
    out = r.stdout
    assert "nn.GRU(input_size=16, hidden_size=24, num_layers=3, bias=False)" in out
    assert "weight_ih_l2" in out and "Parameters" in out and "Tensors" in out and "Totals" in out
    assert "checkpoint['state_dict']" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_prefix_picks_one_module_and_names_the_others_when_wrong(cli, model_file):
    r = cli("inspect", model_file, "--prefix", "decoder", "--json")
    assert [m["prefix"] for m in r.json()["modules"]] == ["decoder"]
    r = cli("inspect", model_file, "--prefix", "nope")
    assert r.code == 2 and "--prefix" in r.stderr and "'encoder', 'decoder'" in r.stderr


def test_against_explains_directions_and_projection_in_words(cli, proj_file):
    r = cli("inspect", proj_file, "--against", "lstm --input-size 64 --hidden-size 300 --layers 2", "--json")
    assert r.code == 1, r.stderr  # would not load: exit 1, like diff
    doc = r.json()
    assert doc["match"] is False
    messages = {m["field"]: m["message"] for m in doc["mismatches"]}
    assert set(messages) == {"bidirectional", "proj_size"}
    assert "the checkpoint has 2 directions" in messages["bidirectional"] and "add --bidirectional" in messages[
        "bidirectional"]
    assert "layer 1 input is 512 wide: the checkpoint was saved with proj_size 256" in messages["proj_size"]
    assert {"name": "weight_hh_l0", "checkpoint": [1200, 256], "requested": [1200, 300]} in doc["size_mismatch"]
    assert {"name": "weight_hr_l0", "checkpoint": [256, 300]} in doc["unexpected"]


@pytest.mark.parametrize(
    "requested, field, words",
    [
        ("--hidden-size 280", "hidden_size", "use --hidden-size 300 (got 280)"),
        ("--layers 3", "num_layers", "the checkpoint has 2 layers"),
        ("--input-size 32", "input_size", "layer 0 input is 64 wide"),
        ("--no-bias", "bias", "drop --no-bias"),
        ("--proj-size 128", "proj_size", "use --proj-size 256 (got 128)"),
    ],
)
def test_each_mismatch_is_named(cli, proj_file, requested, field, words):
    full = "lstm --input-size 64 --hidden-size 300 --layers 2 --bidirectional --proj-size 256 "
    r = cli("inspect", proj_file, "--against", full + requested, "--json")
    (m,) = r.json()["mismatches"]
    assert m["field"] == field and words in m["message"]


def test_against_a_different_kind_and_a_cell(cli, model_file):
    r = cli("inspect", model_file, "--prefix", "encoder", "--against", "lstm --input-size 16 --hidden-size 24 "
            "--layers 3 --no-bias", "--json")
    (m,) = r.json()["mismatches"]
    assert m["field"] == "kind" and "use the gru command" in m["message"]
    r = cli("inspect", model_file, "--prefix", "decoder", "--against", "lstm --input-size 24 --hidden-size 10",
            "--json")
    (m,) = r.json()["mismatches"]
    assert m["field"] == "cell" and "add --cell" in m["message"]


def test_check_on_the_kind_command_equals_against(cli, proj_file):
    a = cli("lstm", "--input-size", "64", "--hidden-size", "300", "--layers", "2", "--check", proj_file, "--json")
    b = cli("inspect", proj_file, "--against", "lstm --input-size 64 --hidden-size 300 --layers 2", "--json")
    assert a.code == b.code == 1 and a.json() == b.json()


def test_a_matching_configuration_says_it_loads(cli, proj_file):
    args = "lstm --input-size 64 --hidden-size 300 --layers 2 --bidirectional --proj-size 256"
    r = cli("inspect", proj_file, "--against", args)
    assert r.code == 0 and "✓ matches" in r.stdout
    assert cli("inspect", proj_file, "--against", args, "--json").json()["match"] is True


def test_the_suggested_fix_is_a_command_that_matches(cli, proj_file):
    r = cli("inspect", proj_file, "--against", "gru --hidden-size 9", "--json")
    fix = r.json()["checkpoint"]["command"]
    assert fix == "rnnshape lstm --input-size 64 --hidden-size 300 --layers 2 --bidirectional --proj-size 256"
    argv = fix.split()[1:] + ["--check", str(proj_file), "--json"]
    r = cli(*argv)
    assert r.code == 0 and r.json()["match"] is True


@pytest.mark.parametrize("json_out", [[], ["--json"]])
def test_check_and_against_exit_like_diff(cli, proj_file, json_out):
    """0 when the checkpoint would load, 1 when it would not, 2 when the file cannot be read: for scripts and CI."""
    good = "lstm --input-size 64 --hidden-size 300 --layers 2 --bidirectional --proj-size 256"
    bad = "lstm --input-size 64 --hidden-size 300 --layers 2 --bidirectional"
    for args, code in ((good, 0), (bad, 1)):
        assert cli("inspect", proj_file, "--against", args, *json_out).code == code
        assert cli(*args.split(), "--check", proj_file, *json_out).code == code
    assert cli(*good.split(), "--check", proj_file.parent / "missing.pt", *json_out).code == 2


@pytest.mark.parametrize(
    "against, words",
    [
        ("conv --hidden-size 3", "--against must start with rnn, lstm, gru"),
        ("", "--against must start with"),
        ("lstm --layers x", "layers must be an integer (got 'x')"),
        ("lstm --proj-size 400 --hidden-size 300", "--proj-size must be smaller"),
        ("lstm --hidden-size 30,20", "--check compares one module"),
    ],
)
def test_against_usage_errors(cli, proj_file, against, words):
    r = cli("inspect", proj_file, "--against", against)
    assert r.code == 2 and r.stdout == ""
    assert r.stderr.startswith("rnnshape: error: ") and words in r.stderr.splitlines()[0], r.stderr


def test_check_against_a_file_without_recurrent_modules(cli, tmp_path):
    from torch import nn

    path = tmp_path / "lin.pt"
    save(path, nn.Linear(2, 2).state_dict(), "plain")
    r = cli("lstm", "--check", path)
    assert r.code == 2 and "holds no recurrent module to compare with" in r.stderr


def test_wrapper_prefixes_are_pointed_out(cli, tmp_path):
    state = {"module.rnn." + k: v for k, v in build({"kind": "rnn", "input_size": 3, "hidden_size": 2}).state_dict()
             .items()}
    path = tmp_path / "ddp.pt"
    save(path, state, "plain")
    doc = cli("inspect", path, "--json").json()
    assert doc["modules"][0]["prefix"] == "module.rnn"
    assert any("'module.'" in n and "DataParallel" in n for n in doc["notes"])
    assert [c["nonlinearity"] for c in doc["modules"][0]["candidates"]] == ["tanh", "relu"]


def test_inspect_help_does_not_import_torch():
    code = ("import sys; from rnnshape.cli.app import main\n"
            "try:\n    main(['inspect', '--help'])\nexcept SystemExit:\n    pass\n"
            "import rnnshape.checkpoint.inspection, rnnshape.checkpoint.against, rnnshape.checkpoint.convert\n"
            "import rnnshape.checkpoint.files\n"
            "assert 'torch' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_wrong_prefix_is_worded_per_edge(cli, model_file):
    """Python names the keyword (prefix), the command line the flag (--prefix): one structured error."""
    with pytest.raises(UsageError) as err:
        rnnshape.inspect(model_file, prefix="nope")
    assert str(err.value).startswith("prefix names no recurrent module") and "--" not in str(err.value)
    assert "'encoder', 'decoder'" in err.value.hint
    r = cli("inspect", model_file, "--prefix", "nope")
    assert r.code == 2 and "error: --prefix names no recurrent module" in r.stderr


def test_one_array_is_one_tensor_not_one_tensors(cli, tmp_path):
    import numpy as np

    path = tmp_path / "one.npy"
    np.save(path, np.zeros((4, 3), dtype=np.float32))
    r = cli("inspect", str(path))
    assert r.code == 0, r.stderr
    assert "1 tensor ·" in r.stdout and "0 recurrent modules" in r.stdout and "1 tensors" not in r.stdout
    assert "(1 tensor, none named like" in r.stderr


def test_one_step_is_one_step_not_one_steps(cli):
    import torch
    from torch import nn

    out, _ = nn.LSTM(10, 20)(torch.zeros(1, 1, 10))  # L = N = 1: torch runs a single step
    assert out.shape[:2] == (1, 1)
    r = cli("lstm", "--seq-len", "1", "--batch", "1", "--dry-run")
    assert r.code == 0, r.stderr
    assert "1 step × " in r.stdout and "1 steps" not in r.stdout


@pytest.mark.parametrize("against, hint", [
    ("lstm --foo", "hint: see 'rnnshape lstm --help' for its options"),
    ("gru --num-layer 3", "hint: did you mean --num-layers? see 'rnnshape gru --help'"),
])
def test_an_unknown_option_inside_against_has_a_hint(cli, model_file, against, hint):
    r = cli("inspect", model_file, "--against", against)
    assert r.code == 2
    assert "error: --against: No such option: " + against.split()[1] in r.stderr
    assert hint in r.stderr
