"""The two witnesses held equal: rnnshape's torch-free predictor and torch itself.

Every name, shape and count is compared with torch modules built independently (tests/torch_reference.py).
RNNSHAPE_EXAMPLES scales the property tests (default 1500 predictor cases, 150 end-to-end runs).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import specs
from torch_reference import reference

from rnnshape import analyze, predict

EXAMPLES = int(os.environ.get("RNNSHAPE_EXAMPLES", "1500"))


def fast(n: int):
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


def _assert_equal(pred, ref):
    assert pred.module_repr == ref.module_repr
    assert [(p.name, p.shape) for p in pred.parameters] == ref.parameters
    assert {t.name: t.shape for t in pred.inputs} == ref.inputs
    assert [t.name for t in pred.inputs] == list(ref.inputs)  # order too
    assert {t.name: t.shape for t in pred.outputs} == ref.outputs
    assert [t.name for t in pred.outputs] == list(ref.outputs)
    assert pred.totals.parameters == ref.parameter_count


@pytest.mark.slow
@fast(EXAMPLES)
@given(spec=specs())
def test_predictor_equals_torch(spec):
    pred = predict(spec)
    ref = reference(spec)
    _assert_equal(pred, ref)
    # MACs: FlopCounterMode counts 2 per multiply-accumulate on the float64 addmm path.
    assert pred.totals.flops == ref.flops
    assert pred.totals.macs * 2 == ref.flops
    size = spec.dtype.itemsize
    assert pred.totals.parameter_bytes == ref.parameter_count * size


@fast(max(EXAMPLES // 10, 20))
@given(spec=specs())
def test_report_equals_independent_torch(spec):
    """End to end through rnnshape.run.build (which also compares itself with the predictor)."""
    report = analyze(spec, time=False)
    assert report.verified
    _assert_equal(report.prediction, reference(spec, flops=False))
