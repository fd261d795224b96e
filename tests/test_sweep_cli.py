"""`rnnshape sweep`: the grid it built, its fit, exports, --vary errors, and Ctrl-C mid-sweep."""

from __future__ import annotations

import csv
import io

import pty_util
import pytest

from rnnshape.model.predict import predict
from rnnshape.model.report import Report, Timing
from rnnshape.model.stats import Stats


def test_dry_run_grid_json(cli):
    r = cli("sweep", "lstm", "--vary", "seq-len=4,16,64", "--vary", "batch=1,8", "--hidden-size", "32", "--dry-run",
            "--json")
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["schema_version"] == 1 and doc["interrupted"] is False
    assert doc["vary"] == {"seq_len": [4, 16, 64], "batch": [1, 8]}
    points = doc["points"]
    assert [tuple(p["values"].values()) for p in points] == [(4, 1), (4, 8), (16, 1), (16, 8), (64, 1), (64, 8)]
    for p in points:
        assert p["spec"]["seq_len"] == p["values"]["seq_len"] and p["spec"]["batch"] == p["values"]["batch"]
        assert p["spec"]["hidden_size"] == 32 and p["timing"] is None and p["steps_per_s"] is None
    # MACs are exactly proportional to seq_len × batch: the theoretical exponents are 1 and 1
    fit = doc["fit"]
    assert fit["variables"] == ["seq_len", "batch"] and fit["time"] is None
    assert fit["macs"]["exponents"] == pytest.approx({"seq_len": 1.0, "batch": 1.0})
    assert fit["macs"]["r2"] == pytest.approx(1.0)


def test_each_point_is_the_kind_command(cli):
    r = cli("sweep", "gru --bidirectional", "--vary", "layers=1,3", "--input-size", "7", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    last = r.json()["points"][1]
    alone = cli("gru", "--bidirectional", "--layers", "3", "--input-size", "7", "--dry-run", "--json").json()
    assert last["spec"] == alone["spec"] and last["totals"] == alone["totals"] and last["outputs"] == alone["outputs"]


def test_hidden_size_exponent_is_between_one_and_two(cli):
    # weights grow as H·(H_in + H): the fitted MACs exponent lies between 1 and 2, nearer 2 as H outgrows H_in
    r = cli("sweep", "rnn", "--vary", "hidden-size=64,256,1024", "--input-size", "8", "--dry-run", "--json")
    k = r.json()["fit"]["macs"]["exponents"]["hidden_size"]
    assert 1.5 < k < 2.0


def test_csv_and_markdown(cli):
    r = cli("sweep", "lstm", "--vary", "seq-len=8,32", "--dry-run", "--csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [int(row["seq_len"]) for row in rows] == [8, 32]
    assert int(rows[1]["macs"]) == 4 * int(rows[0]["macs"])
    md = cli("sweep", "lstm", "--vary", "seq-len=8,32", "--dry-run", "--markdown").stdout.splitlines()
    assert md[0] == "| seq-len | parameters | MACs | memory |" and md[1] == "| ---: | ---: | ---: | ---: |"
    assert "MACs ∝ seq_len^1.00 (R² 1.000, 2 points)" in md


def test_dry_run_chart_plots_macs(cli):
    r = cli("sweep", "lstm", "--vary", "seq-len=16,64,256,1024", "--dry-run", env={"COLUMNS": "80"})
    assert r.code == 0, r.stderr
    assert "MACs per forward (log scale)" in r.stdout and "seq-len (log scale)" in r.stdout
    assert "predicted" in r.stdout and "measured" not in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


@pytest.mark.parametrize(
    "vary, expected",
    [
        ("seq-len=", "--vary seq-len needs at least one value after '='"),
        ("seq-len", "--vary must be OPTION=V1,V2,..."),
        ("foo=1,2", "--vary can vary seq-len, batch, hidden-size, input-size, layers, proj-size (got 'foo')"),
        ("bidirectional=1,2", "(got 'bidirectional')"),
        ("dtype=1,2", "(got 'dtype')"),
        ("seq-len=a,b", "--vary seq-len values must be integers (got 'a'"),
        ("seq-len=1.5", "values must be integers"),
        ("seq-len=4,4", "lists a value twice"),
        ("seq-len=0,4", "at seq-len=0: --seq-len must be >= 1 (got 0)"),
    ],
)
def test_bad_vary_is_a_usage_error(cli, vary, expected):
    r = cli("sweep", "lstm", "--vary", vary, "--dry-run")
    assert r.code == 2
    assert r.stderr.startswith("rnnshape: error: ") and expected in r.stderr.splitlines()[0], r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize(
    "args, expected",
    [
        (["lstm"], "sweep needs at least one --vary"),
        (["--vary", "seq-len=1,2"], "sweep needs a kind first"),
        (["lstm", "--vary", "seq-len=1,2", "--seq-len", "5"], "--seq-len cannot be set while --vary seq-len"),
        (["lstm", "--vary", "seq-len=1,2", "--vary", "seq_len=3"], "--vary seq-len is given twice"),
        (["rnn", "--vary", "proj-size=0,4"], "at proj-size=4: --proj-size is only supported by lstm"),
        (["lstm", "--vary", "seq-len=1,2", "--code"], "--code cannot be used with sweep"),
        (["lstm", "gru", "--vary", "seq-len=1,2"], "sweep: one configuration has one kind (got 'gru' after lstm)"),
        (["lstm", "20", "--vary", "seq-len=1,2"], "sweep: '20' is not a kind (rnn, lstm, gru) nor an option's value"),
        (["lstm", "--vary", "seq-len=" + ",".join(map(str, range(1, 40))), "--vary",
          "batch=" + ",".join(map(str, range(1, 40)))], "more than 1,000"),
    ],
)
def test_sweep_usage_errors(cli, args, expected):
    r = cli("sweep", *args, "--dry-run")
    assert r.code == 2 and expected in r.stderr.splitlines()[0], r.stderr


def test_tiny_real_run_has_times_throughput_and_a_time_fit(cli):
    r = cli("sweep", "rnn", "--vary", "batch=1,4", "--hidden-size", "8", "--input-size", "4", "--min-time", "0.01",
            "--json")
    assert r.code == 0, r.stderr
    doc = r.json()
    for p in doc["points"]:
        assert p["verified"] is True
        median = p["timing"]["forward"]["median_s"]
        assert p["steps_per_s"] == pytest.approx(p["totals"]["steps"] / median)
    assert doc["fit"]["time"]["points"] == 2 and "batch" in doc["fit"]["time"]["exponents"]


def _fake_analyze_many(interrupt_building: int | None = None):
    """analyze_many() that builds (fake) and then meets Ctrl-C: while building the n-th spec, or after a
    round of timing (then every spec comes back, with the rounds measured, as the engine does)."""
    from rnnshape.api import Interrupted

    def analyze_many(specs, step=None, **_):
        reports = []
        for i, spec in enumerate(specs):
            if i == interrupt_building:
                raise KeyboardInterrupt
            median = 1e-3 * spec.seq_len
            timing = Timing(forward=Stats(samples=(median,) * 5, calls_per_run=1, threads=1, interleaved=True))
            reports.append(Report(predict(spec), verified=True, torch_version="fake", timing=timing))
        raise Interrupted(reports)

    return analyze_many


@pytest.mark.parametrize("fmt", ["--json", None])
def test_ctrl_c_mid_sweep_prints_every_point_with_the_rounds_measured_and_exits_130(cli, monkeypatch, fmt):
    monkeypatch.setattr("rnnshape.api.analyze_many", _fake_analyze_many())
    r = cli("sweep", "lstm", "--vary", "seq-len=2,4,8,16", *([fmt] if fmt else []))
    assert r.code == 130
    assert "Traceback" not in r.stderr
    assert r.stderr.endswith("rnnshape: interrupted: showing all 4, measured for fewer rounds than asked\n")
    if fmt:
        doc = r.json()
        assert doc["interrupted"] is True and doc["planned"] == 4
        assert [p["values"]["seq_len"] for p in doc["points"]] == [2, 4, 8, 16]
        assert doc["fit"]["time"]["exponents"]["seq_len"] == pytest.approx(1.0)
    else:
        assert "interrupted: all 4 points measured, for fewer rounds than asked" in r.stdout


def test_ctrl_c_while_building_shows_nothing(cli, monkeypatch):
    monkeypatch.setattr("rnnshape.api.analyze_many", _fake_analyze_many(interrupt_building=1))
    r = cli("compare", "rnn", "lstm", "gru", "--csv")
    assert r.code == 130 and r.stdout == ""
    assert r.stderr.endswith("rnnshape: interrupted: nothing to show\n")


@pytest.mark.slow
@pytest.mark.skipif(pty_util.pty is None, reason="needs a pseudo-terminal")
def test_real_ctrl_c_during_torch_timing_prints_what_was_measured():
    import os
    import signal
    import struct
    import subprocess
    import sys

    # stderr on a terminal shows the progress bar: its "timing" step says every point is built and the
    # alternating rounds are under way, which is when Ctrl-C is meant to come
    master, slave = pty_util.pty.openpty()
    pty_util.fcntl.ioctl(slave, pty_util.termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "rnnshape", "sweep", "rnn", "--vary", "seq-len=4,8,16,32,64,128",
                             "--min-time", "5", "--csv"], stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    seen = pty_util.Drain(master)  # read all along: a full pty would block the progress bar's writes
    try:
        assert pty_util.wait_until(lambda: b"alternating rounds" in seen.data or proc.poll() is not None), seen.text
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        seen.close()
    err = seen.text
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "rnnshape: interrupted: " in err
    rows = list(csv.DictReader(io.StringIO(out)))
    # the points alternate round by round: after one full round every point is there; before it, none
    assert len(rows) == (0 if "nothing to show" in err else 6), err
    assert all(float(r["forward_median_s"]) > 0 for r in rows)
