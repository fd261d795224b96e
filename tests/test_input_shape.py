"""--input-shape: how torch reads the user's tensor, checked against torch itself."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnshape.errors import UsageError
from rnnshape.model.spec import make_spec


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("shape", [(7, 4, 6), (4, 7, 6), (5, 6)])
def test_reading_matches_what_torch_does(shape, batch_first):
    spec = make_spec("gru", input_size=6, hidden_size=8, batch_first=batch_first, input_shape=shape)
    out, h_n = nn.GRU(6, 8, batch_first=batch_first)(torch.randn(shape))
    # torch's h_n is (1, N, H) batched or (1, H) unbatched; output has the time dimension where we say
    if len(shape) == 2:
        assert spec.unbatched and spec.seq_len == shape[0] and h_n.shape == (1, 8)
    else:
        assert h_n.shape[1] == spec.batch
        t_dim = 1 if batch_first else 0
        assert out.shape[t_dim] == spec.seq_len


def test_cli_reads_and_explains(cli):
    r = cli("lstm", "--input-size", "300", "--input-shape", "32,50,300", "--dry-run", "--json")
    doc = r.json()
    assert (doc["spec"]["seq_len"], doc["spec"]["batch"]) == (32, 50)
    assert doc["input_shape"]["shape"] == [32, 50, 300]
    assert "add --batch-first" in " ".join(doc["input_shape"]["reading"])
    r = cli("lstm", "--input-size", "300", "--input-shape", "32,50,300", "--dry-run")
    assert "dim 0 = L, 32 time steps" in r.stdout


@pytest.mark.parametrize(
    "args, needle, hint",
    [
        (["--input-shape", "32,50,300"], "last dimension 300 is not --input-size 100", "--input-size 300"),
        (["--input-shape", "100,32,3"], "last dimension 3 is not --input-size 100", "x.movedim(0, -1)"),
        (["--input-shape", "3,10,100", "--batch", "3"], "--batch 3 disagrees", "looks batch-first: add --batch-first"),
        (["--input-shape", "2,3,4,100"], "got 4-D", "flatten"),
        (["--input-shape", "100"], "got 1-D", "time dimension"),
        (["--input-shape", "0,3,100"], "must be >= 1", None),
        (["--input-shape", "4,3,100", "--unbatched"], "--unbatched disagrees", None),
        (["--input-shape", "a,b"], "--input-shape must be an integer", None),
    ],
)
def test_misfits_say_the_fix(cli, args, needle, hint):
    r = cli("lstm", *args, "--dry-run")
    assert r.code == 2, r.stderr
    assert needle in r.stderr
    if hint:
        assert hint in r.stderr.splitlines()[1]


def test_spec_rule_lives_in_spec():
    with pytest.raises(UsageError):
        make_spec("rnn", input_shape=(4, 3, 99))


@pytest.mark.parametrize(
    "shape, needle",
    [
        ((32, 50, 300), "input_shape=32,50,300: the last dimension 300 is not input_size 100"),
        ((0, 3, 100), "input_shape=0,3,100: every dimension must be >= 1"),
        ((100,), "input_shape=100: RNN, LSTM and GRU modules take"),
    ],
)
def test_python_misfits_name_keywords_not_flags(shape, needle):
    # torch itself refuses these tensors: the error is about a real misfit, worded in Python's terms
    with pytest.raises(Exception):  # noqa: B017, PT011 - torch's own error type varies by misfit
        nn.LSTM(100, 20)(torch.zeros(shape))
    with pytest.raises(UsageError) as err:
        make_spec("lstm", input_size=100, input_shape=shape)
    assert needle in str(err.value)
    assert "--" not in str(err.value) and "--" not in (err.value.hint or "")
