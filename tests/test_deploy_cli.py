"""`rnnshape KIND --deploy`: the options it refuses, and the documents it prints (stdout stays one JSON)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import invoke


@pytest.mark.parametrize("args, words", [
    (["--dry-run"], "--deploy runs every deployed form with torch"),
    (["--device", "meta"], "--deploy needs a real device"),
    (["--dtype", "bfloat16"], "(got --dtype bfloat16)"),
    (["--code"], "--deploy has no effect with --code"),
])
def test_deploy_refuses_what_it_cannot_do(args, words):
    r = invoke("lstm", "--deploy", *args)
    assert r.code == 2
    assert words in r.stderr and r.stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize("kind, op, gates", [("lstm", "LSTM", 4), ("gru", "GRU", 3)])
def test_the_done_when_command(kind, op, gates):
    r = invoke(kind, "--input-size", "64", "--hidden-size", "128", "--layers", "2", "--threads", "1",
               "--min-time", "0.02", "--deploy", "--json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    rows = {row["variant"]: row for row in doc["deploy"]}
    assert list(rows) == ["eager", "bfloat16", "float16", "int8-dynamic", "torch.compile", "onnxruntime"]
    assert all(row["ok"] for row in rows.values()), [row["error"] for row in rows.values()]
    eager, int8, ort = rows["eager"], rows["int8-dynamic"], rows["onnxruntime"]
    assert int8["bytes"] <= 0.4 * eager["bytes"]
    assert 0 < int8["max_abs_diff"] < 0.1
    assert ort["max_abs_diff"] <= 1e-4
    for row in rows.values():
        assert row["forward"]["threads"] == 1 and row["forward"]["runs"] >= 3
        base = row["eager_median_s"] if row["variant"] != "eager" else eager["forward"]["median_s"]
        assert row["ratio"] == pytest.approx(row["forward"]["median_s"] / base)
    nodes = doc["onnx"]["nodes"]
    assert [n["op_type"] for n in nodes] == [op, op]
    assert [i["shape"] for i in nodes[0]["inputs"]] == [[1, gates * 128, 64], [1, gates * 128, 128],
                                                        [1, 2 * gates * 128]]
    assert all(n["matches_torch"] for n in nodes)


@pytest.mark.slow
def test_the_text_shows_the_onnx_shapes_and_the_gate_rows(tmp_path):
    svg = tmp_path / "deploy.svg"
    r = invoke("lstm", "--input-size", "64", "--hidden-size", "128", "--no-time", "--deploy", "--svg", str(svg))
    assert r.code == 0, r.stderr
    for line in ("W (1, 512, 64)", "R (1, 512, 128)", "B (1, 1024)", "int8-dynamic", "onnxruntime"):
        assert line in r.stdout
    assert any(line.split() == ["c", "384:512", "←", "g", "256:384"] for line in r.stdout.splitlines())
    assert "Deploy" in svg.read_text()


@pytest.mark.parametrize("args, words", [
    (["--csv"], "--deploy shows in the table and in --json, not in --csv"),
    (["--dry-run"], "--deploy runs every deployed form with torch"),
])
def test_compare_deploy_refuses_what_it_cannot_show(args, words):
    r = invoke("compare", "lstm", "gru", "--deploy", *args)
    assert r.code == 2 and words in r.stderr


@pytest.mark.slow
def test_compare_deploy_gives_each_entry_its_rows():
    r = invoke("compare", "lstm", "rnn", "--hidden-size", "16", "--threads", "1", "--min-time", "0.01", "--deploy",
               "--json")
    assert r.code == 0, r.stderr
    lstm, rnn = json.loads(r.stdout)["entries"]
    assert [row["variant"] for row in lstm["deploy"]][0] == "eager"
    assert all(row["ok"] for row in lstm["deploy"])
    int8 = next(row for row in rnn["deploy"] if row["variant"] == "int8-dynamic")
    assert not int8["ok"] and "no int8 nn.RNN" in int8["error"]
    text = invoke("compare", "lstm", "rnn", "--hidden-size", "16", "--threads", "1", "--min-time", "0.01",
                  "--deploy").stdout
    assert "int8 = int8-dynamic" in text and "not here" in text


def test_onnx_view_without_torch_or_the_deploy_extra(monkeypatch):
    """issue 24: `--onnx --dry-run` shows the ONNX node shapes and gate rows with neither torch nor onnx; the
    shapes are held to torch.onnx's real export in tests/test_deploy_torch.py."""
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # importing onnx would fail
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    r = invoke("gru", "--input-size", "5", "--hidden-size", "8", "--layers", "2", "--bidirectional", "--onnx",
               "--dry-run", "--json")
    assert r.code == 0, r.stderr
    nodes = json.loads(r.stdout)["onnx"]["nodes"]
    assert [[i["shape"] for i in n["inputs"]] for n in nodes] == [
        [[2, 24, 5], [2, 24, 8], [2, 48]], [[2, 24, 16], [2, 24, 8], [2, 48]]]
    assert nodes[0]["attributes"] == {"hidden_size": 8, "direction": "bidirectional", "linear_before_reset": 1}
    assert [(g["onnx_gate"], g["torch_gate"]) for g in nodes[0]["gates"]] == [("z", "z"), ("r", "r"), ("h", "n")]
    text = invoke("lstm", "--onnx", "--dry-run").stdout
    assert "W (1, 80, 100)" in text and any(line.split() == ["c", "60:80", "←", "g", "40:60"]
                                             for line in text.splitlines())
    assert "no LSTM, GRU or RNN node for cells" in invoke("lstm", "--cell", "--onnx", "--dry-run").stdout
