"""The one output object: every command, warning, note and error goes through it; --quiet/-q keeps stderr to
errors while the warnings stay in the JSON (CONTRACT.md)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from rnnshape.cli import output
from rnnshape.cli.app import main
from rnnshape.cli.output import Environment, using


def _run(*args: str, quiet: bool = False) -> tuple[int, str, str]:
    """The CLI in this process, printing through an Environment of our own streams (no sys patching)."""
    out, err = io.StringIO(), io.StringIO()
    with using(Environment(stdout=out, stderr=err, stdout_isatty=False, stderr_isatty=False)):
        code = main([*args, *(["--quiet"] if quiet else [])])
    return code, out.getvalue(), err.getvalue()


def test_environment_writes_to_its_own_streams():
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=err, program_name="prog")
    env.emit("{}")
    env.warn(["w1", "w2"], label="lstm")
    env.note("n")
    env.info("saved x.svg")
    env.error("--layers must be >= 1 (got 0)", hint="h")
    assert out.getvalue() == "{}\n"
    assert err.getvalue().splitlines() == ["prog: warning: lstm: w1", "prog: warning: lstm: w2", "prog: note: n",
                                           "prog: saved x.svg", "prog: error: --layers must be >= 1 (got 0)",
                                           "hint: h"]


def test_quiet_keeps_errors_and_interruptions_only():
    err = io.StringIO()
    env = Environment(stdout=io.StringIO(), stderr=err, quiet=True)
    env.warn(["w"])
    env.note("n")
    env.info("saved x.svg")
    env.say("interrupted")
    env.error("e", hint="h")
    assert err.getvalue() == "rnnshape: interrupted\nrnnshape: error: e\nhint: h\n"


def test_streams_left_unset_follow_sys_as_it_is_when_written(capsys):
    Environment().emit("x")
    Environment().warn(["y"])
    captured = capsys.readouterr()
    assert captured.out == "x\n" and captured.err == "rnnshape: warning: y\n"


def test_terminal_flags_and_colours():
    assert Environment(stdout=io.StringIO()).stdout_isatty is False
    assert Environment(stdout=io.StringIO()).colors is False
    assert Environment(stdout=io.StringIO(), stdout_isatty=True, colors=True).colors is True


def test_lines_go_above_a_live_display_while_it_runs():
    from rich.console import Console

    screen, err = io.StringIO(), io.StringIO()
    env = Environment(stderr=err)
    console = Console(file=screen, width=80)
    with env.above(console):
        env.note("one forward takes 0.4 s")
    env.note("after")
    assert "rnnshape: note: one forward takes 0.4 s" in screen.getvalue()
    assert err.getvalue() == "rnnshape: note: after\n"


def test_module_functions_are_thin_wrappers_over_the_one_object():
    out, err = io.StringIO(), io.StringIO()
    with using(Environment(stdout=out, stderr=err)) as env:
        assert output.env() is env
        output.emit("doc")
        output.warn(["w"])
        output.note("n")
        output.configure(quiet=True)
        assert env.quiet
        output.warn(["silenced"])
    assert output.env() is not env
    assert out.getvalue() == "doc\n" and err.getvalue() == "rnnshape: warning: w\nrnnshape: note: n\n"


# Through the CLI: a warning that a dry run gives (dropout on one layer, as torch warns)
WARNED = ("lstm", "--dropout", "0.5", "--dry-run", "--json")


def test_warning_on_stderr_and_in_the_json():
    code, out, err = _run(*WARNED)
    assert code == 0
    (warning,) = json.loads(out)["warnings"]
    assert "dropout" in warning and err == f"rnnshape: warning: {warning}\n"


def test_quiet_silences_the_warning_and_keeps_it_in_the_json():
    code, out, err = _run(*WARNED)
    qcode, qout, qerr = _run(*WARNED, quiet=True)
    assert qcode == code == 0 and qerr == ""
    assert qout == out  # the same document, warnings included, byte for byte


def test_short_flag_and_each_run_starts_loud():
    assert _run("lstm", "--dropout", "0.5", "--dry-run", "-q")[2] == ""
    assert "warning" in _run(*WARNED)[2]  # the previous run's --quiet does not stick in this process


def test_quiet_never_silences_an_error():
    code, out, err = _run("lstm", "--layers", "0", "--dry-run", quiet=True)
    assert code == 2 and out == ""
    assert err.startswith("rnnshape: error: --layers") and "\n" in err


def test_trace_prints_through_the_environment(tmp_path):
    model = tmp_path / "talky.py"
    model.write_text(
        "import torch\n"
        "from torch import nn\n"
        "class Talky(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.rnn = nn.GRU(4, 6, batch_first=True)\n"
        "    def forward(self, x):\n"
        "        print('hello from forward')\n"
        "        return self.rnn(x)[0]\n"
        "def make():\n"
        "    return Talky(), (torch.randn(2, 5, 4),)\n")
    code, out, err = _run("trace", f"{model}:make", "--json")
    assert code == 0, err
    assert json.loads(out)["schema_version"] == 1  # the user's print did not reach the document...
    assert "hello from forward" in err  # ...it went to the environment's stderr


def test_inspect_prints_through_the_environment(tmp_path):
    import torch

    path = tmp_path / "m.pt"
    torch.save(torch.nn.GRU(4, 6).state_dict(), path)
    code, out, err = _run("inspect", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["modules"][0]["kind"] == "gru"


@pytest.mark.slow
def test_a_real_run_with_quiet_prints_nothing_on_stderr():
    # --threads 2 on a busy machine, a short --min-time: thread and spread warnings are likely, all silenced
    args = [sys.executable, "-m", "rnnshape", "gru", "--dropout", "0.3", "--threads", "2", "--min-time", "0.01",
            "--json", "--quiet"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stderr == ""
    doc = json.loads(done.stdout)
    assert doc["verified"] is True and any("dropout" in w for w in doc["warnings"])


def test_the_timing_engine_prints_nothing_itself(capsys):
    """run/rounds.py announces a long forward through the note callback it is given, or to no one."""
    from rnnshape.run.rounds import time_groups

    now = [0.0]

    def clock() -> float:
        return now[0]

    def slow() -> None:
        now[0] += 0.5  # a forward of half a second: long, so the engine would announce it

    heard: list[str] = []
    time_groups([{"forward": slow}], asked=None, min_time=0.05, clock=clock, default=2, cores=2,
                set_threads=lambda n: None, note=heard.append)
    time_groups([{"forward": slow}], asked=None, min_time=0.05, clock=clock, default=2, cores=2,
                set_threads=lambda n: None, note=None)
    assert len(heard) == 1 and "one forward takes 0.5 s" in heard[0]
    assert capsys.readouterr() == ("", "")
