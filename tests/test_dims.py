"""Every dimension label ("4·H.1 × D·H_out.0") evaluates, with symbols taken from the spec, to torch's shape."""

from __future__ import annotations

from math import prod

from hypothesis import HealthCheck, given, settings
from strategies import specs
from torch_reference import reference

from rnnshape.model.predict import predict


def _table(spec) -> dict[str, int]:
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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(spec=specs())
def test_labels_evaluate_to_torch_shapes(spec):
    table = _table(spec)
    pred = predict(spec)
    ref = reference(spec, flops=False)
    torch_shapes = dict(ref.parameters) | ref.inputs | ref.outputs
    for item in (*pred.parameters, *pred.inputs, *pred.outputs):
        assert len(item.dims) == len(item.shape), item
        assert tuple(_value(d, table) for d in item.dims) == torch_shapes[item.name], (item.name, item.dims)
