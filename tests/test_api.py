"""The Python API as a notebook user meets it: errors in Python's terms, results by name, shown as tables."""

from __future__ import annotations

import json

import pytest
import torch

from rnnshape import analyze, inspect
from rnnshape.errors import UsageError


@pytest.mark.parametrize(
    "kwargs, kind, needle",
    [
        ({"num_layers": "2"}, TypeError, "num_layers must be an integer (got '2')"),
        ({"bias": "no"}, TypeError, "bias must be true or false (got 'no')"),
        ({"hidden_size": 0}, ValueError, "hidden_size must be >= 1 (got 0)"),
        ({"proj_size": 30, "hidden_size": 20}, ValueError, "proj_size must be smaller than hidden_size"),
        ({"batch": 2, "unbatched": True}, ValueError, "batch cannot be combined with unbatched"),
        ({"vs_loop": True, "time": False}, ValueError, "vs_loop has no effect with time=False"),
        ({"dtype": "int8"}, ValueError, "dtype must be one of float32"),
    ],
)
def test_errors_are_python_errors_naming_the_argument(kwargs, kind, needle):
    with pytest.raises(kind) as err:
        analyze("lstm", dry_run=True, **kwargs)
    assert isinstance(err.value, UsageError)
    assert needle in str(err.value)
    assert "--" not in str(err.value)


def test_a_wrong_kind_names_the_argument():
    with pytest.raises(ValueError, match=r"^kind must be one of rnn, lstm, gru \(got 'lstn'\)$"):
        analyze("lstn", dry_run=True)


def test_tensors_and_parameters_by_name_and_by_position():
    report = analyze("lstm", num_layers=2, bidirectional=True, dry_run=True)
    reference = torch.nn.LSTM(100, 20, num_layers=2, bidirectional=True)
    output, (h_n, c_n) = reference(torch.randn(10, 3, 100))
    assert report.outputs["output"].shape == tuple(output.shape)
    assert report.outputs["h_n"].shape == tuple(h_n.shape) and report.outputs["c_n"].shape == tuple(c_n.shape)
    assert [t.name for t in report.outputs] == ["output", "h_n", "c_n"] and report.outputs[1].name == "h_n"
    for name, p in reference.named_parameters():
        assert report.parameters[name].shape == tuple(p.shape)
    assert "c_n" in report.outputs and "c_0" not in report.outputs
    with pytest.raises(KeyError, match="the names are output, h_n, c_n"):
        report.outputs["h_0"]


def test_to_dict_is_the_cli_json(cli):
    report = analyze("gru", hidden_size=16, lengths=[5, 3], dry_run=True)
    assert report.to_dict() == cli("gru", "--hidden-size", "16", "--lengths", "5,3", "--dry-run", "--json").json()
    assert json.loads(report.to_json()) == report.to_dict()


def test_a_short_repr_and_a_notebook_view():
    report = analyze("rnn", hidden_size=8, num_layers=2, time=False)
    text = repr(report)
    numel = sum(p.numel() for p in torch.nn.RNN(100, 8, num_layers=2).parameters())
    assert len(text) < 200 and "\n" not in text
    assert text == f"<Report rnn · {numel:,} parameters · output (10, 3, 8), h_n (2, 3, 8) · verified by torch " \
                   f"{torch.__version__}>"
    html = report._repr_html_()
    assert html.count("weight_ih_l1") == 1 and "(10, 3, 8)" in html and "<pre" in html


def test_rich_renders_a_report_like_the_cli(cli):
    from golden_util import render_text

    report = analyze("lstm", dry_run=True)
    assert render_text(report, width=80) == cli("lstm", "--dry-run", env={"COLUMNS": "80"}).stdout


def test_inspect_reads_a_checkpoint(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"encoder.rnn." + k: v for k, v in torch.nn.GRU(12, 24, num_layers=3).state_dict().items()}, path)
    found = inspect(path)
    assert [m.prefix for m in found.modules] == ["encoder.rnn"]
    assert found.modules[0].constructor == "nn.GRU(input_size=12, hidden_size=24, num_layers=3)"
    assert found.to_dict()["modules"][0]["num_layers"] == 3
    assert "encoder.rnn" in repr(found) and "encoder.rnn" in found._repr_html_()


def test_compare_from_python_applies_shared_options_where_they_fit(cli):
    from rnnshape import compare

    c = compare("rnn", {"kind": "lstm", "num_layers": 2}, hidden_size=16, proj_size=8, dry_run=True)
    assert [e.label for e in c.entries] == ["rnn", "lstm num_layers=2"]
    expected = [torch.nn.RNN(100, 16), torch.nn.LSTM(100, 16, num_layers=2, proj_size=8)]
    for entry, module in zip(c.entries, expected):
        assert entry.report.totals.parameters == sum(p.numel() for p in module.parameters())
    as_cli = cli("compare", "rnn", "lstm --layers 2", "--hidden-size", "16", "--proj-size", "8", "--dry-run",
                 "--json").json()
    assert [e["totals"] for e in c.to_dict()["entries"]] == [e["totals"] for e in as_cli["entries"]]
    assert repr(c) == "<Comparison of 2: rnn, lstm num_layers=2>" and "lstm num_layers=2" in c._repr_html_()


def test_sweep_from_python_measures_every_point():
    from rnnshape import sweep

    s = sweep("gru", vary={"seq_len": [2, 4], "batch": [1, 3]}, hidden_size=8, min_time=0.01)
    assert [p.values for p in s.points] == [(2, 1), (2, 3), (4, 1), (4, 3)]
    for p in s.points:
        x = torch.randn(p.values[0], p.values[1], 100)
        assert p.report.outputs["output"].shape == tuple(torch.nn.GRU(100, 8)(x)[0].shape)
        assert p.report.timing.forward.median > 0
    assert s.to_dict()["vary"] and "<Sweep of 4 points" in repr(s)
    with pytest.raises(ValueError, match="vary keys must be one of"):
        sweep("gru", vary={"layers": [1, 2]}, dry_run=True)


@pytest.mark.parametrize("kwargs, needle", [({"calls": 0}, "calls must be >= 1 (got 0)"),
                                            ({"batch": 0}, "batch must be >= 1 (got 0)")])
def test_trace_bounds_name_the_keyword(kwargs, needle, cli):
    from rnnshape.api.trace import trace

    with pytest.raises(UsageError) as err:
        trace("tests/trace_models.py:Seq2Seq", **kwargs)
    assert str(err.value).startswith(needle) and "--" not in str(err.value)
    flag, value = next(iter(kwargs.items()))
    r = cli("trace", "--example", "seq2seq:Seq2Seq", f"--{flag}", str(value))
    assert r.code == 2 and f"error: --{needle}" in r.stderr


@pytest.mark.parametrize("inputs, needle", [(["4,7:lng"], "inputs dtype must be one of"),
                                            (["4,x"], "inputs must be a comma-separated shape"),
                                            (["4,-7"], "inputs dimensions must be >= 0")])
def test_trace_inputs_name_the_keyword(inputs, needle, cli):
    from rnnshape.api.trace import trace

    with pytest.raises(UsageError) as err:
        trace("tests/trace_models.py:Seq2Seq", inputs)
    assert str(err.value).startswith(needle) and "--" not in str(err.value) + (err.value.hint or "")
    r = cli("trace", "--example", "seq2seq:Seq2Seq", "--input", inputs[0])
    assert r.code == 2 and "error: --input " + needle.split(" ", 1)[1] in r.stderr


def test_trace_without_inputs_names_the_keyword(cli):
    from rnnshape.api.trace import trace

    with pytest.raises(UsageError) as err:
        trace("tests/trace_models.py:TextClassifier")
    assert "got no inputs" in str(err.value) and "--" not in str(err.value) + err.value.hint
    r = cli("trace", "tests/trace_models.py:TextClassifier")
    assert r.code == 2 and "(got no --input)" in r.stderr
    assert "hint: give --input: a SHAPE[:DTYPE] per argument" in r.stderr


def test_compare_given_a_list_says_how_to_call_it():
    from torch import nn

    from rnnshape import compare
    from rnnshape.errors import UsageTypeError

    with pytest.raises(TypeError) as err:
        compare(["lstm", "gru"], dry_run=True)
    assert isinstance(err.value, UsageTypeError)
    assert "configs" in str(err.value) and "['lstm', 'gru']" in str(err.value)
    assert "compare('lstm', 'gru')" in err.value.hint and "compare(*configs)" in err.value.hint
    with pytest.raises(UsageTypeError, match="configs"):
        compare(5, dry_run=True)
    # called as the hint says, it compares both
    c = compare(*["lstm", "gru"], input_size=10, hidden_size=20, dry_run=True)
    want = [sum(p.numel() for p in m.parameters()) for m in (nn.LSTM(10, 20), nn.GRU(10, 20))]
    assert [e.report.totals.parameters for e in c.entries] == want


def test_sweep_from_python_refuses_the_grid_the_command_line_refuses(cli):
    """The grid limit is one rule: `sweep(vary=...)` in Python refuses what `--vary` refuses, in its own words."""
    from rnnshape.api import sweep

    with pytest.raises(UsageError, match=r"^vary makes a grid of 1,600 points, more than 1,000"):
        sweep("lstm", vary={"seq_len": range(1, 41), "batch": range(1, 41)}, dry_run=True)
    r = cli("sweep", "lstm", "--vary", "seq-len=" + ",".join(map(str, range(1, 41))),
            "--vary", "batch=" + ",".join(map(str, range(1, 41))), "--dry-run")
    assert r.code == 2 and "--vary makes a grid of 1,600 points, more than 1,000" in r.stderr
