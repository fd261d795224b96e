"""`--explain --layer K --reverse --gate NAME` (issue 16): the block a question is about, from the CLI and
in JSON, with usage errors that name what exists. torch-free (--dry-run); tests/test_widths.py holds the
shown rows to torch's own slicing."""

from __future__ import annotations

import pytest

from rnnshape.model.predict import predict
from rnnshape.model.spec import make_spec
from rnnshape.views.explain import Focus, explain, focus


def test_json_explain_is_narrowed_the_same_way(cli):
    r = cli("gru", "-l", "3", "-b", "--explain", "--layer", "2", "--reverse", "--gate", "Z", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    groups = r.json()["explain"]["groups"]
    assert [(g["layer"], g["direction"], [e["lhs"] for e in g["equations"]]) for g in groups] == [(2, 1, ["z_t"])]
    # GRU rows are (r, z, n): z is the second block of hidden_size rows
    sources = {t["source"]["parameter"]: t["source"]["rows"] for t in groups[0]["equations"][0]["terms"] if t["source"]}
    assert sources == {"weight_ih_l2_reverse": [20, 40], "weight_hh_l2_reverse": [20, 40],
                       "bias_ih_l2_reverse": [20, 40], "bias_hh_l2_reverse": [20, 40]}


def test_tables_show_only_the_focused_block(cli):
    r = cli("lstm", "-l", "2", "--explain", "--layer", "1", "--dry-run")
    explained = r.stdout.split("How torch computes")[1]
    assert "focus: layer 1" in explained and "weight_ih_l1[0:20]" in explained and "weight_ih_l0" not in explained
    assert "How it fits together" not in explained  # the general notes belong to the whole explanation


def test_stack_levels_are_modules_and_cells():
    stack = explain(predict(make_spec("lstm", hidden_size=[30, 20])))
    assert [g.module for g in focus(stack, Focus(layer=1)).groups] == [1]
    cells = explain(predict(make_spec("rnn", cell=True, hidden_size=[30, 20])))
    assert [g.label for g in focus(cells, Focus(layer=0, gate="h")).groups] == ["cell 0"]


@pytest.mark.parametrize("args, words", [
    (["--layer", "1"], "--layer focuses --explain, which was not given"),
    (["--explain", "--layer", "2"], "--layer must be one of 0, 1 for this model (got 2)"),
    (["--explain", "--reverse"], "--reverse needs a reverse direction: add --bidirectional"),
    (["--explain", "--gate", "q"], "--gate must be one of i, f, g, o, c, h for lstm (got q)"),
])
def test_focus_usage_errors(cli, args, words):
    r = cli("lstm", "-l", "2", "--dry-run", *args)
    assert r.code == 2 and words in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("kind, args, hint", [
    ("lstm", ["--gate", "f"], "hint: add --explain\n"),  # not "for the number of layers use --layers"
    ("lstm", ["--layer", "1"], "hint: add --explain; for the number of layers use --layers\n"),
    ("gru", ["--explain", "--gate", "f"], "r_t is --gate r"),  # gru has no i_t
    ("rnn", ["--explain", "--gate", "f"], "h_t is --gate h"),
])
def test_focus_hints_fit_the_option_and_the_kind(cli, kind, args, hint):
    r = cli(kind, "-l", "2", "--dry-run", *args)
    assert r.code == 2 and hint in r.stderr, r.stderr

