"""Nothing a user types makes rnnshape crash: generated command lines, valid and not, through the CLI."""

from __future__ import annotations

import json

import pytest
from conftest import invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ODD = st.sampled_from(
    ["0", "-1", "1", "2", "3", "7", "20", "10000000000000", "2.5", "nan", "inf", "-0", "", " ", "a", "1,2",
     "3,,2", ",", "1,2,3", "0,3", "λ", "🙂", "١٢", "1e3", "0x10", "--json", "cuda:7", "meta", "cpu", "auto",
     "float16", "bfloat16", "int8", "relu", "tanh", "zeros", "random", "none"]
)
VALUED = ["--input-size", "--hidden-size", "--layers", "--num-layers", "--proj-size", "--dropout", "--nonlinearity",
          "--seq-len", "--batch", "--lengths", "--init-state", "--device", "--dtype", "--min-time", "--threads",
          "--input-shape", "-i", "-H", "-l", "-L", "-N"]
FLAGS = ["--bidirectional", "--no-bias", "--batch-first", "--cell", "--unbatched", "--no-time", "--code",
         "--json", "--bogus", "-b", "-j", "--explain", "--diagram", "--backward", "--vs-loop", "--check-flops",
         "--csv", "--markdown"]


@st.composite
def command_lines(draw, dry: bool):
    words = [draw(st.sampled_from(["rnn", "lstm", "gru", "LSTM", "inspect", "compare", "sweep", "", "—"]))]
    if words[0] == "compare":
        words += draw(st.lists(st.sampled_from(["rnn", "lstm", "gru", "lstm --hidden-size 8", "x", "gru --cell"]),
                               max_size=3))
    if words[0] == "sweep":
        words += [draw(st.sampled_from(["lstm", "gru", "x"])), "--vary", draw(st.sampled_from(
            ["seq-len=2,4", "batch=1,2", "hidden-size=", "foo=1,2", "layers=0,1", "seq-len=a"]))]
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            words += [draw(st.sampled_from(VALUED)), draw(ODD)]
        else:
            words.append(draw(st.sampled_from(FLAGS)))
    if dry:
        words.append("--dry-run")
    return words


def _check(words):
    r = invoke(*words)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, (words, r.stderr)
    assert r.code in (0, 2, 3), (words, r.code, r.stderr)
    if r.code:
        lines = r.stderr.strip().splitlines()
        errors = [line for line in lines if line.startswith("rnnshape: error: ")]
        assert len(errors) == 1, (words, r.stderr)
        assert len(errors[0]) > len("rnnshape: error: ") + 10, (words, r.stderr)  # says something
        assert r.stdout == ""
    if "--json" in words or "-j" in words:
        assert r.stdout == "" or isinstance(json.loads(r.stdout), dict), (words, r.stdout[:200])
    return r


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(words=command_lines(dry=True))
def test_generated_dry_runs_never_crash(words):
    _check(words)


SMALL = st.sampled_from(["1", "2", "3", "5", "8", "0", "-2", "2,3", "4,2,1", "x"])


@st.composite
def small_real_runs(draw):
    words = [draw(st.sampled_from(["rnn", "lstm", "gru"])), "--no-time", "--json"]
    for flag in ("--input-size", "--hidden-size", "--layers", "--seq-len", "--batch", "--proj-size", "--lengths"):
        if draw(st.booleans()):
            words += [flag, draw(SMALL)]
    for flag in ("--bidirectional", "--no-bias", "--batch-first", "--cell", "--unbatched"):
        if draw(st.booleans()):
            words.append(flag)
    if draw(st.booleans()):
        words += ["--dtype", draw(st.sampled_from(["float32", "float64", "bfloat16", "float16"]))]
    if draw(st.booleans()):
        words += ["--init-state", draw(st.sampled_from(["zeros", "random"]))]
    return words


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(words=small_real_runs())
def test_generated_real_runs_never_crash(words):
    r = _check(words)
    if r.code == 0:
        assert r.json()["verified"] is True
