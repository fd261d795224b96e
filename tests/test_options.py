"""The option table drives everything: each row reaches the real Typer commands, the Spec, make_spec, the spec's
JSON and the command line that rebuilds a spec; and that command line parses back to the same Spec."""

from __future__ import annotations

import inspect
import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import spec_kwargs

from rnnshape.model.options import (
    COMPARE,
    KIND,
    OPTIONS,
    SPEC,
    SWEEP,
    Ints,
    cli_name,
    command_line,
    for_command,
    spec_json,
)
from rnnshape.model.spec import Spec, make_spec

# One value other than the default for each configuration option, to see that it reaches every consumer.
CHANGED = {"cell": True, "input_size": 7, "hidden_size": 9, "num_layers": 2, "bidirectional": True, "proj_size": 4,
           "bias": False, "batch_first": True, "dropout": 0.5, "nonlinearity": "relu", "seq_len": 6, "batch": 5,
           "unbatched": True, "lengths": (3, 2), "init_state": "zeros", "dtype": "float64", "device": "meta",
           "input_shape": (6, 2, 100)}
KIND_FOR = {"proj_size": "lstm", "nonlinearity": "rnn"}
ALONE = {"unbatched": {"batch": None}}  # make_spec's "not given" for what the option excludes


def test_every_configuration_option_has_a_changed_value_here():
    assert set(CHANGED) == {o.name for o in SPEC}


def _params(kind: str, command: str = KIND):
    from typer.main import get_command

    from rnnshape.cli.app import app

    group = get_command(app)
    return {p.name: p for p in group.get_command(None, command if command != KIND else kind).params}


@pytest.mark.parametrize("command", [KIND, COMPARE, SWEEP])
def test_every_row_reaches_the_real_command_with_its_flags_default_and_help(command):
    params = _params("lstm", command)
    declared = [o for o in for_command(command) if command == KIND or o.role != "spec"]
    assert declared, command
    for opt in declared:
        p = params[opt.name]
        assert list(p.opts) + list(p.secondary_opts) == list(opt.flags), opt.name
        assert opt.help.split("{")[0].split(".")[0] in p.help, opt.name
        if opt.negate:
            assert p.default is False  # the flag turns it off: --no-bias is bias=False
        elif opt.type is Ints and opt.default is not None:
            assert p.default == str(opt.default)
        else:
            assert p.default == opt.default, opt.name
        if opt.shown_default is not None:
            assert f"[default: {opt.shown_default}]" in p.help
    assert "quiet" in params  # every command takes --quiet/-q


@pytest.mark.parametrize("command", ["inspect", "trace"])
def test_commands_that_do_not_declare_it_still_take_quiet(command):
    params = _params("", command)
    assert params["quiet"].opts == list(OPTIONS["quiet"].flags)


def test_kind_specific_options_show_only_for_their_kinds():
    for opt in (o for o in SPEC if o.kinds is not None):
        for kind in ("rnn", "lstm", "gru"):
            assert _params(kind)[opt.name].hidden is (kind not in opt.kinds), (opt.name, kind)


def test_spec_fields_make_spec_keywords_and_json_keys_are_the_table():
    from dataclasses import fields

    names = [o.name for o in SPEC]
    assert [f.name for f in fields(Spec)] == ["kind", *names, "warnings"]
    sig = inspect.signature(make_spec).parameters
    assert list(sig) == ["kind", *names]
    assert all(sig[o.name].default == o.default for o in SPEC)
    spec = make_spec("lstm")
    assert list(spec_json(spec)) == ["kind", *names]
    for opt in SPEC:
        assert getattr(spec, opt.name) == getattr(Spec(kind=spec.kind), opt.name) or opt.name in ("nonlinearity",)


@pytest.mark.parametrize("name", sorted(CHANGED))
def test_each_option_reaches_make_spec_the_json_and_the_command_line(name):
    kind = KIND_FOR.get(name, "lstm")
    value = CHANGED[name]
    extra = {"num_layers": 2} if name == "dropout" else {}
    if name == "unbatched":
        extra = {}
    spec = make_spec(kind, **{name: value, **extra})
    got = getattr(spec, name)
    assert getattr(got, "value", got) == value
    doc = spec_json(spec)[name]
    assert doc == (list(value) if isinstance(value, tuple) else value)
    line = command_line(spec)
    flag = OPTIONS[name].flag
    if name == "input_shape":  # it states L and N itself, so they are not repeated
        assert f"{flag} 6,2,100" in line and "--seq-len" not in line
    else:
        assert flag in shlex.split(line), line
    assert _parse(line) == spec


def _parse(line: str) -> Spec:
    from rnnshape.cli.kind import parse_kind_options, spec_from_params
    from rnnshape.model.enums import Kind

    words = shlex.split(line)
    assert words[0] == "rnnshape"
    params, _given = parse_kind_options(words[1], words[2:])
    return spec_from_params(Kind(words[1]), params)


@st.composite
def any_spec(draw):
    kw = draw(spec_kwargs())
    if not kw["cell"] and isinstance(kw.get("num_layers"), int) and kw["num_layers"] > 1:
        kw["dropout"] = draw(st.sampled_from([0.0, 0.25, 0.5]))
    kw["device"] = draw(st.sampled_from(["cpu", "meta", "cuda:1", "auto"]))
    return make_spec(kw.pop("kind"), **kw)


@settings(max_examples=60, deadline=None)
@given(spec=any_spec())
def test_command_line_round_trip(spec):
    """spec -> command line -> the kind command's parse -> the same spec."""
    assert _parse(command_line(spec)) == spec


@settings(max_examples=30, deadline=None)
@given(spec=any_spec())
def test_module_command_line_builds_the_same_module(spec):
    """``input=False`` (what inspect and --check print): the module's options only, and the same modules."""
    line = command_line(spec, input=False)
    assert not {"--seq-len", "--batch", "--lengths", "--dtype", "--device"} & set(shlex.split(line))
    assert _parse(line).modules() == spec.modules()


def test_cli_names_are_the_table_flags():
    assert cli_name("num_layers") == "--layers"
    assert cli_name("bias", "False") == "--no-bias"
    assert cli_name("time", "False") == "--no-time"
    assert cli_name("dry_run", "True") == "--dry-run"
    assert cli_name("device", "meta") == "--device meta"


NEW_ROW = ('    Option("chunk", ("--chunk",), int, 1, "Test-only: steps per chunk.", INPUT, annotation="int",\n'
           "           minimum=1, commands=EVERY),\n")
PROBE = r'''
import json, subprocess, sys
from rnnshape import analyze, make_spec
from rnnshape.model.options import command_line
def run(*args):
    p = subprocess.run([sys.executable, "-m", "rnnshape", *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr
out = {}
out["help"] = "--chunk" in run("gru", "--help")[1] and "--chunk" in run("compare", "--help")[1]
out["json"] = json.loads(run("gru", "--chunk", "3", "--dry-run", "--json")[1])["spec"]["chunk"]
out["cli_error"] = run("gru", "--chunk", "0", "--dry-run")[2].splitlines()[0]
try:
    make_spec("gru", chunk=0)
except ValueError as err:
    out["python_error"] = str(err)
out["command_line"] = command_line(make_spec("gru", chunk=4))
out["api"] = analyze("gru", chunk=2, dry_run=True).to_dict()["spec"]["chunk"]
doc = json.loads(run("compare", "gru", "lstm --chunk 2", "--chunk", "5", "--dry-run", "--json")[1])
out["compare"] = [e["spec"]["chunk"] for e in doc["entries"]]
print(json.dumps(out))
'''


def test_a_new_option_is_one_row_of_the_table(tmp_path):
    """README, "Adding an option": a row in model/options.py reaches the commands, their help, the Spec, make_spec
    and analyze, the JSON, the command line and the errors of both edges, with no other file edited."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import rnnshape

    tree = tmp_path / "rnnshape"
    shutil.copytree(Path(rnnshape.__file__).parent, tree, ignore=shutil.ignore_patterns("__pycache__"))
    table = tree / "model" / "options.py"
    text = table.read_text()
    anchor = "    # What to do instead of"
    assert anchor in text
    table.write_text(text.replace(anchor, NEW_ROW + anchor, 1))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found == {
        "help": True,
        "json": 3,
        "cli_error": "rnnshape: error: --chunk must be >= 1 (got 0)",
        "python_error": "chunk must be >= 1 (got 0)",
        "command_line": "rnnshape gru --input-size 100 --hidden-size 20 --seq-len 10 --batch 3 --chunk 4",
        "api": 2,
        "compare": [5, 2],
    }
