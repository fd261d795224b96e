"""Spec rules one by one (torch-free), and the defaults make_spec resolves."""

from __future__ import annotations

import pytest

from rnnshape.errors import UsageError
from rnnshape.model.options import OPTIONS, cli_name
from rnnshape.model.spec import make_spec


def test_defaults_are_the_tutorial_setting():
    s = make_spec("lstm")
    assert (s.input_size, s.hidden_size, s.seq_len, s.batch, s.num_layers) == (100, 20, 10, 3, 1)
    assert s.dtype.value == "float32" and s.device == "cpu" and s.init_state.value == "none"
    assert make_spec("rnn").nonlinearity == "tanh" and make_spec("gru").nonlinearity is None


def test_lengths_set_batch_and_seq_len():
    s = make_spec("gru", lengths=[4, 9, 2])
    assert s.batch == 3 and s.seq_len == 9 and s.steps() == 15
    assert make_spec("gru", lengths=[4, 2], seq_len=12).seq_len == 12


def test_stacks():
    assert [m.input_size for m in make_spec("lstm", hidden_size=[30, 20], bidirectional=True).modules()] == [100, 60]
    cells = make_spec("lstm", cell=True, num_layers=3).modules()
    assert [(m.input_size, m.hidden_size) for m in cells] == [(100, 20), (20, 20), (20, 20)]
    assert make_spec("rnn", cell=True, hidden_size=[30, 20], num_layers=2).hidden_sizes() == (30, 20)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(input_size=0), "--input-size must be >= 1 (got 0)"),
        (dict(hidden_size=0), "--hidden-size must be >= 1 (got 0)"),
        (dict(num_layers=0), "--layers must be >= 1 (got 0)"),
        (dict(seq_len=0), "--seq-len must be >= 1 (got 0)"),
        (dict(batch=0), "--batch must be >= 1 (got 0)"),
        (dict(proj_size=20), "--proj-size must be smaller than --hidden-size (got 20 and 20)"),
        (dict(proj_size=-1), "--proj-size must be >= 0"),
        (dict(hidden_size=[30, 10], proj_size=10), "(got 10 and 10)"),
        (dict(dropout=-0.1), "--dropout must be in [0, 1]"),
        (dict(dropout=float("nan")), "--dropout must be in [0, 1]"),
        (dict(nonlinearity="relu"), "--nonlinearity is only for rnn"),
        (dict(cell=True, bidirectional=True), "--bidirectional cannot be used with --cell"),
        (dict(cell=True, dropout=0.5), "--dropout cannot be used with --cell"),
        (dict(cell=True, lengths=[3, 2]), "--lengths cannot be used with --cell"),
        (dict(cell=True, hidden_size=[30, 20], num_layers=3), "--layers must equal"),
        (dict(hidden_size=[30, 20], num_layers=2), "--layers cannot be combined"),
        (dict(unbatched=True, batch=3), "--batch cannot be combined with --unbatched"),
        (dict(unbatched=True, lengths=[3]), "--lengths needs a batch"),
        (dict(lengths=[3, 2], batch=3), "one length per batch element"),
        (dict(lengths=[11, 2], seq_len=10), "--lengths must not exceed --seq-len (got 11 and 10)"),
        (dict(lengths=[0, 2]), "--lengths must be >= 1 (got 0)"),
        (dict(device="gpu"), "--device must be auto, cpu, cuda, cuda:N or meta"),
        (dict(dtype="int8"), "--dtype must be one of"),
        (dict(input_size=2.5), "--input-size must be an integer"),
        (dict(bidirectional="no"), "--bidirectional must be true or false"),
    ],
)
def test_rules(kwargs, needle):
    """Each rule is one structured error: the command line words it with flags, Python with keywords."""
    with pytest.raises(UsageError) as err:
        make_spec(kwargs.pop("kind", "lstm"), **kwargs)
    assert needle in err.value.worded(cli_name)
    assert err.value.worded(cli_name).startswith(OPTIONS[err.value.field].flag + " ")
    python = str(err.value)
    assert python == err.value.message and "--" not in python and python.startswith(err.value.field + " ")


def test_proj_on_rnn_and_gru():
    for kind in ("rnn", "gru"):
        with pytest.raises(UsageError, match="only supported by lstm"):
            make_spec(kind, proj_size=3)
    assert make_spec("gru", proj_size=0).proj_size == 0


def test_dropout_single_layer_warns():
    assert any("no effect" in w for w in make_spec("lstm", dropout=0.3).warnings)
    assert any("no effect" in w for w in make_spec("lstm", dropout=0.3, hidden_size=[20, 20]).warnings)
    assert make_spec("lstm", dropout=0.3, num_layers=2).warnings == ()
