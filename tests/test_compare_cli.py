"""`rnnshape compare`: the specs it built, the ratios it reports, its exports and its errors."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest

from rnnshape.errors import UsageError
from rnnshape.model.options import KIND_ONLY
from rnnshape.model.spec import Kind, make_spec


def _memory(entry: dict) -> int:
    t = entry["totals"]
    return t["parameter_bytes"] + t["input_bytes"] + t["output_bytes"]


def test_shared_options_apply_to_every_kind(cli):
    r = cli("compare", "rnn", "lstm", "gru", "--hidden-size", "256", "--layers", "2", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["schema_version"] == 1 and doc["interrupted"] is False
    entries = doc["entries"]
    assert [e["spec"]["kind"] for e in entries] == ["rnn", "lstm", "gru"]
    assert all(e["spec"]["hidden_size"] == 256 and e["spec"]["num_layers"] == 2 for e in entries)
    base = entries[0]
    for e in entries:
        rel = e["relative"]
        assert rel["parameters"] == e["totals"]["parameters"] / base["totals"]["parameters"]
        assert rel["macs"] == e["totals"]["macs"] / base["totals"]["macs"]
        assert rel["memory_bytes"] == _memory(e) / _memory(base) and e["memory_bytes"] == _memory(e)
        assert rel["forward"] is None and e["timing"] is None
    # LSTM has 4 gate blocks to the RNN's 1, GRU 3: the parameter ratios are exact
    assert [e["relative"]["parameters"] for e in entries] == [1.0, 4.0, 3.0]


def test_quoted_entries_are_parsed_by_the_kind_command(cli):
    r = cli("compare", "lstm --hidden-size 256", "gru --hidden-size 320 --layers 2", "--seq-len", "7",
            "--dry-run", "--json")
    assert r.code == 0, r.stderr
    entries = r.json()["entries"]
    assert [e["label"] for e in entries] == ["lstm --hidden-size 256", "gru --hidden-size 320 --layers 2"]
    alone = cli("gru", "--hidden-size", "320", "--layers", "2", "--seq-len", "7", "--dry-run", "--json").json()
    assert entries[1]["spec"] == alone["spec"] and entries[1]["totals"] == alone["totals"]


def test_an_entry_overrides_a_shared_option(cli):
    r = cli("compare", "lstm", "lstm --hidden-size 64", "--hidden-size", "32", "--dry-run", "--json")
    assert [e["spec"]["hidden_size"] for e in r.json()["entries"]] == [32, 64]


def test_kind_specific_option_applies_where_it_can_and_says_so(cli):
    r = cli("compare", "rnn", "lstm", "gru", "--hidden-size", "64", "--proj-size", "16", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    assert [e["spec"]["proj_size"] for e in r.json()["entries"]] == [0, 16, 0]
    assert r.stderr == "rnnshape: note: --proj-size applies only to lstm; not applied to rnn, gru\n"
    r = cli("compare", "rnn", "gru", "--nonlinearity", "relu", "--dry-run", "--json")
    assert [e["spec"]["nonlinearity"] for e in r.json()["entries"]] == ["relu", None]


@pytest.mark.parametrize("option, value", [("proj_size", 1), ("nonlinearity", "relu")])
def test_kind_only_table_agrees_with_the_spec_rules(option, value):
    for kind in Kind:
        kw = {option: value, "hidden_size": 4}
        if kind in KIND_ONLY[option]:
            make_spec(kind, **kw)
        else:
            with pytest.raises(UsageError):
                make_spec(kind, **kw)


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], "compare needs configurations"),
        (["--hidden-size", "8"], "compare needs configurations"),
        (["rnn", "gru", "--proj-size", "4"], "--proj-size applies only to lstm"),
        (["rnn", "gru --proj-size 4"], "gru --proj-size 4: --proj-size is only supported by lstm"),
        (["lstm", "--hidden-size", "abc"], "--hidden-size must be an integer"),
        (["lstm", "--explain"], "--explain cannot be used with compare"),
        (["lstm --dry-run", "gru"], "--dry-run cannot be used in a compare entry"),
        (["lstm", "--no-such-option"], "No such option"),
        (["lstm 'unclosed", "gru"], "No closing quotation"),
        (["lstm", "gru", "--json", "--csv"], "--json and --csv cannot be combined"),
        (["lstm", "gru", "--json", "--svg", "x.svg"], "--svg cannot be combined with --json"),
        (["lstm", "gru", "--min-time", "0"], "--min-time must be in"),
        # a mistyped kind is a stray word among the shared options: name it and the kinds, not lstm's --help
        (["lstm", "gur"], "compare: 'gur' is not a kind (rnn, lstm, gru) nor an option's value"),
        (["gur", "lstm"], "compare: 'gur' is not a kind (rnn, lstm, gru) nor an option's value"),
        (["lstm", "lstm --layers 2 gru"], "compare: one configuration has one kind (got 'gru' after lstm)"),
    ],
)
def test_usage_errors(cli, args, expected):
    r = cli("compare", *args, "--dry-run")
    assert r.code == 2, r.stderr
    first, *rest = r.stderr.splitlines()
    assert first.startswith("rnnshape: error: ") and expected in first, r.stderr
    assert len(rest) <= 1 and r.stdout == ""


def test_backward_is_measured(cli):
    r = cli("compare", "rnn", "gru", "--backward", "--min-time", "0.01", "--json")
    assert r.code == 0, r.stderr
    entries = r.json()["entries"]
    assert entries[1]["relative"]["backward"] == pytest.approx(per_round_ratio(entries[1], entries[0], "backward"))


def per_round_ratio(entry: dict, base: dict, key: str = "forward") -> float:
    """The median over rounds of entry's time / base's time in the same round (the entries alternate), or
    the medians' ratio when the per-round ratios spread wider than the two measurements combined."""
    import math
    import statistics

    def rel_iqr(xs):
        q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
        return (q3 - q1) / statistics.median(xs)

    a, b = entry["timing"][key], base["timing"][key]
    assert a["interleaved"] and b["interleaved"] and a["runs"] == b["runs"] == len(a["samples_s"])
    rounds = [x / y for x, y in zip(a["samples_s"], b["samples_s"])]
    if rel_iqr(rounds) <= math.hypot(rel_iqr(a["samples_s"]), rel_iqr(b["samples_s"])):
        return statistics.median(rounds)
    return a["median_s"] / b["median_s"]


def test_csv_has_a_header_and_a_row_per_entry(cli):
    r = cli("compare", "rnn", "lstm", "--hidden-size", "32", "--dry-run", "--csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["label"] for row in rows] == ["rnn", "lstm"]
    assert int(rows[1]["parameters"]) == 4 * int(rows[0]["parameters"])
    assert float(rows[1]["relative_parameters"]) == 4.0
    assert rows[0]["forward_median_s"] == "" and rows[1]["states"] == "h_n=(1, 3, 32) c_n=(1, 3, 32)"


def test_markdown_is_one_table_with_ratios(cli):
    r = cli("compare", "rnn", "gru", "--dry-run", "--markdown")
    lines = r.stdout.splitlines()
    assert lines[0] == "| # | configuration | parameters | MACs | memory | output | states |"
    assert lines[1].startswith("| ---: | :--- |")
    assert lines[3].startswith("| 2 | gru | 7,320 ×3.00 | 216,000 ×3.00 |")
    assert all(line.count("|") == lines[0].count("|") for line in lines[:4])


def test_terminal_table_and_svg(cli, tmp_path):
    path = tmp_path / "c.svg"
    r = cli("compare", "rnn", "lstm", "--dry-run", "--svg", str(path), env={"COLUMNS": "80"})
    assert r.code == 0, r.stderr
    assert "×4.00" in r.stdout and "Shapes" in r.stdout
    assert path.read_text().startswith("<svg") and "×4.00" in path.read_text()
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_tiny_real_run_ratios_are_taken_round_by_round(cli):
    import torch

    r = cli("compare", "rnn", "lstm --proj-size 4", "--hidden-size", "8", "--input-size", "5", "--min-time", "0.01",
            "--json")
    assert r.code == 0, r.stderr
    first, second = r.json()["entries"]
    assert first["verified"] and second["verified"]
    assert second["relative"]["forward"] == pytest.approx(per_round_ratio(second, first))
    assert second["relative"]["forward_iqr"] >= 0 and first["timing"]["forward"]["runs"] >= 20
    witness = torch.nn.LSTM(input_size=5, hidden_size=8, proj_size=4)
    assert second["totals"]["parameters"] == sum(p.numel() for p in witness.parameters())


def test_help_and_dry_run_never_import_torch():
    probe = ("import sys\nfrom rnnshape.cli.app import main\n"
             "for argv in (['compare', '--help'], ['sweep', '--help'], ['compare', 'rnn', 'gru', '--dry-run', '--csv'],"
             " ['sweep', 'lstm', '--vary', 'seq-len=4,8', '--dry-run', '--json']):\n"
             "    assert main(argv) == 0\n"
             "print('TORCH', 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("TORCH False")


def test_choice_options_pass_through_shared_and_quoted(cli):
    r = cli("compare", "rnn --nonlinearity relu --init-state zeros", "gru", "--dtype", "float64", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    first, second = r.json()["entries"]
    assert (first["spec"]["nonlinearity"], first["spec"]["init_state"], first["spec"]["dtype"]) == (
        "relu", "zeros", "float64")
    assert (second["spec"]["init_state"], second["spec"]["dtype"]) == ("none", "float64")
    assert [t["name"] for t in first["inputs"]] == ["input", "h_0"]


def test_an_entry_option_wins_over_the_shared_one_and_says_so(cli):
    r = cli("compare", "lstm --hidden-size 16", "gru --layers 2", "--layers", "3", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    layers = [e["spec"]["num_layers"] for e in r.json()["entries"]]
    assert layers == [3, 2]
    assert "--layers outside the quotes does not apply to gru --layers 2" in r.stderr
