"""Structured errors: one error, worded by each edge: flags on the command line, keyword arguments in Python."""

from __future__ import annotations

import pytest

from rnnshape.errors import UsageError, UsageTypeError
from rnnshape.model.options import cli_name


def test_plain_errors_keep_their_words():
    err = UsageError("--foo must be bar (got 1)", hint="use {braces} as written")
    assert str(err) == err.message == err.worded(cli_name) == "--foo must be bar (got 1)"
    assert err.hint == err.worded_hint(cli_name) == "use {braces} as written"
    assert err.field is None


def test_a_structured_error_carries_field_rule_value_and_hint():
    err = UsageError(field="num_layers", rule="must be >= 1", value=0, hint="drop {num_layers}")
    assert (err.field, err.rule, err.value) == ("num_layers", "must be >= 1", 0)
    assert str(err) == "num_layers must be >= 1 (got 0)" and err.hint == "drop num_layers"
    assert err.worded(cli_name) == "--layers must be >= 1 (got 0)" and err.worded_hint(cli_name) == "drop --layers"


def test_a_value_is_never_read_as_a_placeholder():
    err = UsageTypeError(field="device", rule="must be a device", value="{cuda}")
    assert str(err) == "device must be a device (got '{cuda}')"
    assert err.worded(cli_name) == "--device must be a device (got '{cuda}')"


@pytest.mark.parametrize(
    "args, line, hint",
    [
        (["lstm", "--proj-size", "20"], "--proj-size must be smaller than --hidden-size (got 20 and 20)",
         "use --proj-size 0 to disable the projection"),
        (["gru", "--proj-size", "5"], "--proj-size is only supported by lstm, not gru (got 5)",
         "use --proj-size 0, or the lstm command"),
        (["lstm", "--layers", "0"], "--layers must be >= 1 (got 0)", None),
        (["lstm", "-H", "30,x"], "--hidden-size must be an integer or a comma-separated list of integers "
                                 "(got '30,x')", "for example --hidden-size 30,20"),
        (["lstm", "-H", "30,20", "--layers", "2"], "--layers cannot be combined with a --hidden-size list "
                                                   "(got --layers 2)", None),
        (["lstm", "--unbatched", "--batch", "2"], "--batch cannot be combined with --unbatched (got --batch 2)",
         None),
        (["lstm", "--no-time", "--vs-loop"], "--vs-loop has no effect with --no-time: nothing is timed",
         "drop --vs-loop"),
        (["lstm", "--dry-run", "--check-flops"], "--check-flops runs torch (on meta), so it cannot be combined "
                                                 "with --dry-run", None),
        (["lstm", "--input-shape", "10,3,100", "--batch", "4"],
         "--batch 4 disagrees with --input-shape 10,3,100, which torch reads as --batch 3", None),
        (["compare", "lstm -H 0", "--dry-run"], "lstm -H 0: --hidden-size must be >= 1 (got 0)", None),
    ],
)
def test_the_command_line_names_flags(cli, args, line, hint):
    r = cli(*args)
    assert r.code == 2, r.stderr
    lines = r.stderr.splitlines()
    assert lines[0] == f"rnnshape: error: {line}"
    if hint is not None:
        assert lines[1] == f"hint: {hint}"


@pytest.mark.parametrize(
    "kwargs, message, hint",
    [
        ({"proj_size": 20}, "proj_size must be smaller than hidden_size (got 20 and 20)",
         "use proj_size=0 to disable the projection"),
        ({"num_layers": 0}, "num_layers must be >= 1 (got 0)", None),
        ({"hidden_size": [30, 20], "num_layers": 2}, "num_layers cannot be combined with a hidden_size list "
                                                     "(got num_layers=2)", None),
        ({"vs_loop": True, "time": False}, "vs_loop has no effect with time=False: nothing is timed",
         "drop vs_loop"),
        ({"check_flops": True}, "check_flops=True runs torch (on meta), so it cannot be combined with dry_run=True",
         None),
        ({"input_shape": (10, 3, 100), "batch": 4},
         "batch=4 disagrees with input_shape=10,3,100, which torch reads as batch=3", None),
    ],
)
def test_python_names_keywords(kwargs, message, hint):
    from rnnshape import analyze

    with pytest.raises(UsageError) as err:
        analyze("lstm", dry_run=True, **kwargs)
    assert str(err.value) == message
    if hint is not None:
        assert err.value.hint == hint


def test_an_unknown_keyword_is_a_type_error_with_a_suggestion():
    from rnnshape import make_spec

    with pytest.raises(TypeError, match="unexpected keyword argument 'num_layer'") as err:
        make_spec("lstm", num_layer=2)
    assert err.value.hint == "did you mean num_layers?"


def test_quiet_keeps_stderr_to_errors(cli):
    loud = cli("lstm", "--dry-run", "--threads", "2")
    assert loud.code == 0 and loud.stderr.startswith("rnnshape: warning: --threads has no effect with --dry-run")
    for flag in ("--quiet", "-q"):
        quiet = cli("lstm", "--dry-run", "--threads", "2", flag)
        assert quiet.code == 0 and quiet.stderr == "" and quiet.stdout == loud.stdout
    assert cli("lstm", "--dry-run", "--threads", "2").stderr == loud.stderr  # the next run is loud again
    err = cli("lstm", "--layers", "0", "-q")
    assert err.code == 2 and err.stderr.startswith("rnnshape: error: --layers must be >= 1")
