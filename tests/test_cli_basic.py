"""CLI decisions: the spec it built (read back from --json), exit codes, one-line errors."""

from __future__ import annotations

import pytest


def test_default_lstm_dry_run_json(cli):
    r = cli("lstm", "--layers", "4", "--bidirectional", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["schema_version"] == 1
    assert doc["verified"] is False and doc["timing"] is None
    assert doc["spec"]["num_layers"] == 4 and doc["spec"]["bidirectional"] is True
    assert doc["spec"]["batch"] == 3 and doc["spec"]["seq_len"] == 10 and doc["spec"]["input_size"] == 100


@pytest.mark.parametrize(
    "args, flag",
    [
        (["lstm", "--proj-size", "20"], "--proj-size"),
        (["gru", "--proj-size", "5"], "--proj-size"),
        (["lstm", "--nonlinearity", "relu"], "--nonlinearity"),
        (["lstm", "--input-size", "0"], "--input-size"),
        (["lstm", "--hidden-size", "-3"], "--hidden-size"),
        (["lstm", "--dropout", "1.5"], "--dropout"),
        (["lstm", "--lengths", "11,3,2", "--seq-len", "10"], "--lengths"),
        (["lstm", "--lengths", "3,2", "--batch", "3"], "--lengths"),
        (["lstm", "--cell", "--bidirectional"], "--bidirectional"),
        (["lstm", "--cell", "--proj-size", "4"], "--proj-size"),
        (["lstm", "--hidden-size", "30,20", "--layers", "2"], "--layers"),
        (["lstm", "--unbatched", "--batch", "2"], "--batch"),
        (["lstm", "--input-size", "abc"], "--input-size"),
        (["lstm", "--dtype", "int8"], "--dtype"),
        (["lstm", "--device", "gpu"], "--device"),
        (["gru", "--input-size", "300", "--input-shape", "50,300", "--batch", "3"], "--batch"),
        (["lstm", "--input-shape", "32,50,100", "--lengths", "3,4"], "--lengths"),
        (["lstm", "--svg", "/nonexistent/dir/a.svg"], "--svg"),
        (["lstm", "--vs-loop"], "--vs-loop"),
    ],
)
def test_usage_errors_are_one_line_exit_2(cli, args, flag):
    r = cli(*args, "--dry-run")
    assert r.code == 2
    assert r.stdout == ""
    first, *rest = r.stderr.splitlines()
    assert first.startswith("rnnshape: error: ") and flag in first
    assert all(line.startswith("hint: ") for line in rest) and len(rest) <= 1
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "args, flag",
    [
        (["lstm", "--check", "/nonexistent.pt", "--code"], "--code"),
        (["lstm", "--threads", "100000"], "--threads"),
        (["lstm", "--min-time", "1e9"], "--min-time"),
        (["inspect", "/nonexistent.pt", "--against", "lstm 'x"], "--against"),
    ],
)
def test_options_that_would_be_ignored_or_crash_are_usage_errors(cli, args, flag):
    r = cli(*args)
    assert r.code == 2, r.stderr
    assert r.stderr.startswith("rnnshape: error: ") and flag in r.stderr.splitlines()[0]


def test_api_bounds_are_the_cli_bounds():
    from rnnshape import analyze
    from rnnshape.errors import UsageError

    with pytest.raises(UsageError, match="^threads must be between"):
        analyze("lstm", threads=10**6)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["lstm", "--code", "--check-flops"], "--check-flops has no effect with --code"),
        (["lstm", "--device", "meta", "--vs-loop"], "--vs-loop has no effect with --device meta"),
        (["lstm", "--check", "x.pt", "--explain"], "--explain has no effect with --check"),
        (["lstm", "--dry-run", "--svg", "/tmp"], "not a folder"),
        (["inspect"], "inspect needs <file>"),
        (["lstm", "--dropout", "x"], "--dropout must be a number (got 'x')"),
        (["lstm", "--layers"], "requires an argument"),
    ],
)
def test_more_usage_errors_name_the_option(cli, args, needle):
    r = cli(*args)
    assert r.code == 2, r.stderr
    first = r.stderr.splitlines()[0]
    assert needle in first, first
    if len(r.stderr.splitlines()) > 1 and args[0] != "inspect":
        assert f"'rnnshape {args[0]} --help'" in r.stderr or "hint: drop" in r.stderr


@pytest.mark.parametrize(
    "args, needle",
    [
        (["lstm", "--dry-run", "--min-time", "2"], "--min-time has no effect with --dry-run: nothing is timed"),
        (["lstm", "--no-time", "--threads", "1"], "--threads has no effect with --no-time"),
        (["lstm", "--device", "meta", "--threads", "1"], "--threads has no effect with --device meta"),
        (["lstm", "--code", "--no-live"], "--no-live has no effect with --code"),
        (["compare", "lstm", "gru", "--dry-run", "--threads", "1"], "--threads has no effect with --dry-run"),
        (["sweep", "lstm", "--vary", "seq-len=2,4", "--dry-run", "--min-time", "1"], "--min-time has no effect"),
    ],
)
def test_redundant_options_warn_and_the_run_goes_on(cli, args, needle):
    r = cli(*args)
    assert r.code == 0, r.stderr
    assert r.stderr.splitlines() == [f"rnnshape: warning: {needle}" + r.stderr.split(needle, 1)[1].splitlines()[0]]
    assert r.stdout


def test_bare_command_prints_help_and_succeeds(cli):
    r = cli()
    assert r.code == 0 and "Usage" in r.stdout and r.stderr == ""


def test_memory_guard_counts_the_backward_step():
    from rnnshape.errors import EnvironmentUnfit
    from rnnshape.model.memory import check_memory, estimate
    from rnnshape.model.predict import predict
    from rnnshape.model.spec import make_spec

    pred = predict(make_spec("lstm", hidden_size=64, num_layers=2, seq_len=50))
    forward, training = estimate(pred, backward=False)[1], estimate(pred, backward=True)[1]
    assert training > forward
    check_memory(pred, available=forward + 1, device="cpu")  # the forward fits
    with pytest.raises(EnvironmentUnfit, match="with --backward"):
        check_memory(pred, available=forward + 1, device="cpu", backward=True)
