"""--explain / --diagram through the CLI: JSON structure, no torch on --dry-run, --svg / --html export."""

from __future__ import annotations

import pytest
from probe_util import run_probe


def test_json_keys_only_when_asked(cli):
    plain = cli("lstm", "--dry-run", "--json").json()
    assert "explain" not in plain and "diagram" not in plain
    only = cli("lstm", "--dry-run", "--json", "--diagram").json()
    assert "diagram" in only and "explain" not in only


def test_json_explain_structure(cli):
    r = cli("lstm", "--layers", "2", "--bidirectional", "--proj-size", "5", "--dry-run", "--json", "--explain")
    assert r.code == 0, r.stderr
    ex = r.json()["explain"]
    assert [(g["layer"], g["direction"]) for g in ex["groups"]] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    layer1 = ex["groups"][2]
    assert layer1["input"]["from"] == [{"module": None, "layer": 0, "direction": 0},
                                       {"module": None, "layer": 0, "direction": 1}]
    assert layer1["input"]["shape"] == [3, 10]
    f = next(e for e in layer1["equations"] if e["lhs"] == "f_t")
    w_if = next(t for t in f["terms"] if t["symbol"] == "W_if")
    assert w_if["source"] == {"parameter": "weight_ih_l1", "rows": [20, 40], "parameter_shape": [80, 10]}
    assert w_if["shape"] == [20, 10]
    h = next(e for e in layer1["equations"] if e["lhs"] == "h_t")
    assert h["shape"] == [3, 5] and h["terms"][0]["source"]["parameter"] == "weight_hr_l1"
    rev = [s for s in ex["states"] if s["tensor"] == "h_n" and s["index"] == 3]
    assert rev == [{"tensor": "h_n", "index": 3, "module": None, "layer": 1, "direction": 1, "shape": [3, 5],
                    "same_as": "output[0, :, 5:]"}]


def test_json_diagram_structure(cli):
    r = cli("gru", "--layers", "2", "--bidirectional", "--seq-len", "12", "--dry-run", "--json", "--diagram")
    dg = r.json()["diagram"]
    assert dg["seq_len"] == 12 and dg["steps"] == list(range(12))  # every step, whatever a terminal draws
    ids = {n["id"] for n in dg["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in dg["edges"])
    kinds = {n["kind"] for n in dg["nodes"]}
    assert kinds == {"input", "cell", "concat", "output", "initial", "final"}
    cells = [n for n in dg["nodes"] if n["kind"] == "cell"]
    assert len(cells) == 2 * 2 * 12  # layers × directions × steps
    assert not any(e["elided"] for e in dg["edges"])
    finals = [e for e in dg["edges"] if e["tensor"] == "h_n"]
    assert len(finals) == 4 and all(e["sequences"] == [0, 1, 2] for e in finals)  # every sequence, named
    assert all(e["sequences"] is None for e in dg["edges"] if e["tensor"] != "h_n")
    cat = next(e for e in dg["edges"] if e["tensor"] == "h_t" and e["target"].startswith("cat."))
    assert cat["shape"] == [3, 20]
    up = next(e for e in dg["edges"] if e["source"].startswith("cat.l0") and e["tensor"] == "cat")
    assert up["shape"] == [3, 40]
    finals = sorted(n["label"] for n in dg["nodes"] if n["kind"] == "final")
    assert finals == ["h_n[0]", "h_n[1]", "h_n[2]", "h_n[3]"]


def test_tables_then_views_in_the_terminal(cli):
    r = cli("rnn", "--cell", "--hidden-size", "30,20", "--dry-run", "--explain", "--diagram")
    assert r.code == 0, r.stderr
    out = r.stdout
    assert out.index("Parameters") < out.index("How torch computes") < out.index("unrolled over L = 10")


@pytest.mark.parametrize("flag, head", [("--svg", "<svg"), ("--html", "<!DOCTYPE html>")])
def test_export(cli, tmp_path, flag, head):
    path = tmp_path / ("out" + flag.replace("--", "."))
    r = cli("lstm", "--dry-run", "--diagram", flag, str(path))
    assert r.code == 0, r.stderr
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().startswith(head) and "unrolled over L = 10" in text.replace("&#160;", " ")


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--code", "--explain"], "--code"),
        (["--json", "--svg", "x.svg"], "--svg"),
        (["--svg", ""], "--svg"),
    ],
)
def test_usage_errors(cli, args, flag):
    r = cli("lstm", "--dry-run", *args)
    assert r.code == 2 and r.stdout == ""
    assert r.stderr.startswith("rnnshape: error: ") and flag in r.stderr.splitlines()[0]


def test_unwritable_export_is_a_usage_error(cli, tmp_path):
    r = cli("lstm", "--dry-run", "--svg", str(tmp_path / "missing" / "x.svg"))
    assert r.code == 2 and "cannot write" in r.stderr and "Traceback" not in r.stderr


def test_dry_run_explain_diagram_does_not_import_torch():
    for extra in ([], ["--json"]):
        args = ["lstm", "--layers", "4", "--bidirectional", "--dry-run", "--explain", "--diagram", *extra]
        proc = run_probe(*args, env={"COLUMNS": "80"})
        assert "TORCH_IMPORTED=False" in proc.stderr, proc.stderr
        assert "h_n[7]" in proc.stdout
