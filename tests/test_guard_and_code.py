"""Refusals before allocation (exit 3), --check-flops, and --code snippets that really run."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import specs

from rnnshape.model.memory import check_memory, estimate_bytes
from rnnshape.model.predict import predict
from rnnshape.model.spec import make_spec, with_device
from rnnshape.views.code import snippet


def test_huge_cpu_run_is_refused_before_allocating(cli):
    r = cli("lstm", "--hidden-size", "65536", "--layers", "64", "--seq-len", "1000000")
    assert r.code == 3 and r.stdout == ""
    assert "not enough memory on cpu" in r.stderr and "--dry-run" in r.stderr
    assert "--device meta" not in r.stderr  # that meta run would take too long to suggest


def test_meta_suggested_when_quick():
    import pytest

    from rnnshape.errors import EnvironmentUnfit

    pred = predict(make_spec("lstm", hidden_size=16384, num_layers=4))
    with pytest.raises(EnvironmentUnfit) as err:
        check_memory(pred, available=10 * 2**30, device="cpu")
    assert "--device meta" in err.value.hint
    assert estimate_bytes(pred) > pred.totals.parameter_bytes


def test_slow_meta_is_refused(cli):
    r = cli("lstm", "--layers", "8", "--bidirectional", "--seq-len", "100000", "--device", "meta")
    assert r.code == 3 and "--dry-run" in r.stderr


def test_meta_runs_without_memory(cli):
    r = cli("gru", "--hidden-size", "8192", "--layers", "8", "--seq-len", "4", "--device", "meta", "--json")
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["verified"] is True and doc["timing"] is None and doc["spec"]["device"] == "meta"


def test_check_flops_agrees(cli):
    r = cli("lstm", "--layers", "2", "--bidirectional", "--lengths", "4,2,3", "--check-flops", "--no-time", "--json")
    assert r.code == 0, r.stderr
    totals = r.json()["totals"]
    assert totals["flops_counted"] == totals["flops"] > 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(spec=specs(max_layers=2, max_len=3), device=st.sampled_from(["cpu", "meta", "auto"]))
def test_code_snippet_runs_and_prints_predicted_shapes(spec, device):
    spec = with_device(spec, device)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(snippet(spec), "<snippet>", "exec"), {"__name__": "__main__"})
    assert out.getvalue().strip() == " ".join(str(t.shape) for t in predict(spec).outputs)


@pytest.mark.slow
def test_code_is_a_standalone_script(cli):
    r = cli("lstm", "--layers", "4", "--bidirectional", "--code")
    proc = subprocess.run([sys.executable, "-c", r.stdout], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(10, 3, 40) (8, 3, 20) (8, 3, 20)"
