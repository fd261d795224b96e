"""CLI decisions for timing: which statements --backward / --vs-loop / --lengths add, read from --json."""

from __future__ import annotations

import pytest

FAST = ("--min-time", "0.01", "--threads", "1", "--json")


def test_default_times_only_the_forward(cli):
    r = cli("lstm", *FAST)
    assert r.code == 0, r.stderr
    t = r.json()["timing"]
    assert t["forward"]["runs"] >= 1 and t["forward"]["threads"] == 1
    assert t["backward"] is None and t["loop"] is None and t["padded"] is None and t["kernel"] is None
    assert t["memory"]["covers"] == "forward" and t["memory"]["peak_bytes"] > 0  # measured on CPU too
    f = t["forward"]
    assert f["gflops"] == pytest.approx(f["flops"] / f["median_s"] / 1e9)
    assert f["per_step_s"] == pytest.approx(f["median_s"] / f["steps"])


def test_backward_and_vs_loop_add_their_statements_and_the_kernel(cli):
    r = cli("lstm", "--layers", "2", "--bidirectional", "--backward", "--vs-loop", *FAST)
    assert r.code == 0, r.stderr
    doc = r.json()
    t = doc["timing"]
    for key in ("backward", "loop"):
        assert {"median_s", "iqr_s", "min_s", "max_s", "runs", "calls_per_run", "threads", "per_step_s",
                "steps_per_s", "gflops", "relative"} <= set(t[key])
    assert t["backward"]["flops"] == 3 * t["forward"]["flops"]
    assert t["kernel"]["path"] in ("onednn", "aten")
    assert t["memory"]["covers"] == "forward+backward"
    memory = t["memory"]
    assert memory["parts"]["parameters"] == doc["totals"]["parameter_bytes"]
    assert memory["parts"]["kept for backward"] > 0 and 0 < memory["peak_bytes"] <= memory["estimate_bytes"]
    # a noise warning, if any, is in the document and on stderr alike
    for w in doc["warnings"]:
        assert w in r.stderr


def test_lengths_time_packed_against_padded(cli):
    r = cli("gru", "--lengths", "6,4,1", "--seq-len", "8", *FAST)
    assert r.code == 0, r.stderr
    t = r.json()["timing"]
    assert t["forward"]["steps"] == 11 and t["padded"]["steps"] == 8 * 3


def test_table_shows_every_statement_at_80_columns(cli):
    r = cli("lstm", "--lengths", "5,2", "--backward", "--min-time", "0.01", "--threads", "1",
            env={"COLUMNS": "80"})
    assert r.code == 0, r.stderr
    timing = r.stdout[r.stdout.index("Timing"):]
    for label in ("forward ", "fwd+bwd ", "padded ", "memory "):
        assert label in timing
    assert "10 tokens, 7 real" in timing
    assert all(len(line) <= 80 for line in r.stdout.splitlines())


@pytest.mark.parametrize(
    "args, flag",
    [
        (["lstm", "--vs-loop", "--no-time"], "--vs-loop"),
        (["lstm", "--vs-loop", "--dry-run"], "--vs-loop"),
        (["lstm", "--vs-loop", "--cell"], "--cell"),
        (["lstm", "--vs-loop", "--lengths", "3,2"], "--lengths"),
        (["gru", "--vs-loop", "--device", "meta"], "--device meta"),
    ],
)
def test_timing_combinations_that_cannot_run_are_usage_errors(cli, args, flag):
    r = cli(*args)
    assert r.code == 2 and r.stdout == ""
    first, *rest = r.stderr.splitlines()
    assert first.startswith("rnnshape: error: ") and flag in first
    assert len(rest) <= 1 and all(line.startswith("hint: ") for line in rest)
