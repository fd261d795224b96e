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
        (["lstm", "--min-time", "2"], "--min-time"),  # nothing is timed with --dry-run
        (["lstm", "--backward"], "--backward"),
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
        (["lstm", "--no-time", "--threads", "1"], "--threads"),
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

    with pytest.raises(UsageError, match="--threads must be between"):
        analyze("lstm", threads=10**6)
