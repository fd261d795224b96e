"""The two witnesses held equal: rnnshape's torch-free predictor and torch itself.

Every name, shape and count is compared with torch modules built independently (tests/torch_reference.py),
and every dimension label ("4·H.1 × D·H_out.0") evaluates, with symbols taken from the spec, to torch's
shape. RNNSHAPE_EXAMPLES scales the property tests (default 1500 predictor cases, 150 end-to-end runs).
"""

from __future__ import annotations

import os
from math import prod

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


def _symbols(spec) -> dict[str, int]:
    """The docs' symbols, from the spec alone (not from rnnshape's legend)."""
    mods = spec.modules()
    sizes = [m.hidden_size for m in mods]
    table = {"H_in": spec.input_size, "L": spec.seq_len, "N": spec.batch or 0, "P": spec.proj_size,
             "D": 2 if spec.bidirectional else 1, "num_layers": mods[0].num_layers}
    table.update(H=sizes[0], H_cell=sizes[0], H_out=spec.proj_size or sizes[0])
    for i, h in enumerate(sizes):
        table[f"H.{i}"] = h
        table[f"H_out.{i}"] = spec.proj_size or h
    if spec.lengths:
        table["sum(lengths)"] = sum(spec.lengths)
    return table


def _value(label: str, table: dict[str, int]) -> int:
    return prod(int(f) if f.isdigit() else table[f] for f in label.split("·"))


def _assert_labels(pred, ref, spec):
    """Each tensor's dimension labels, evaluated from the spec's symbols, give torch's shape."""
    table = _symbols(spec)
    torch_shapes = dict(ref.parameters) | ref.inputs | ref.outputs
    for item in (*pred.parameters, *pred.inputs, *pred.outputs):
        assert len(item.dims) == len(item.shape), item
        assert tuple(_value(d, table) for d in item.dims) == torch_shapes[item.name], (item.name, item.dims)


@pytest.mark.slow
@fast(EXAMPLES)
@given(spec=specs())
def test_predictor_equals_torch(spec):
    pred = predict(spec)
    ref = reference(spec)
    _assert_equal(pred, ref)
    _assert_labels(pred, ref, spec)  # was tests/test_dims.py: the same torch modules, built once
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
    ref = reference(spec, flops=False)
    _assert_equal(report.prediction, ref)
    _assert_labels(report.prediction, ref, spec)


def test_ci_runs_derandomized_and_exploration_is_a_profile_of_its_own():
    """tests/conftest.py: CI tries the same examples every run; `explore` is random and asked for by name."""
    ci, explore = settings.get_profile("ci"), settings.get_profile("explore")
    assert ci.derandomize and ci.database is None
    assert not explore.derandomize and explore.max_examples > settings.get_profile("dev").max_examples
    if os.environ.get("CI") and not os.environ.get("HYPOTHESIS_PROFILE"):
        assert settings.default.derandomize
        assert fast(5).derandomize  # the settings the property tests take inherit from the loaded profile
