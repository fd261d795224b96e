"""The README's claim, proved: adding a recurrent kind touches three files (issue 21 asked for at most four).

A test-only kind, the minimal gated unit (Zhou et al. 2016: one forget gate f and the candidate h, two row
blocks), is added the way the README says, in those places only: its row in the kind table
(model/kinds.py), its member in the enum (model/enums.py), its equations (views/explain_math.py) and, optionally,
its kind-specific notes (also views/explain_math.py: none needed here). Nothing else is touched, and it runs
through the predictor, the explanation, the diagram and the JSON document. torch has no such module, so the
shapes are held to the convention torch uses for every kind (weight_ih_l{k}: (G·H, H_in), ...), computed
here from the gate count alone.
"""

from __future__ import annotations

import json

import pytest

from rnnshape.model import kinds
from rnnshape.model.enums import Kind
from rnnshape.views import explain_math

MGU = kinds.KindInfo("MGU", "a minimal gated unit (test-only)", ("f", "h"), ("h",), False, False, 1, 0.001,
                     "2 gates (f, h)", ("f", "h"), (0, 1))


def _add_member(enum, name: str, value: str):
    """What a new line in the enum's class body does, done at run time (and undone by the fixture)."""
    member = str.__new__(enum, value)
    member._name_, member._value_ = name, value
    member.__objclass__ = enum
    enum._member_map_[name] = member
    enum._value2member_map_[value] = member
    enum._member_names_.append(name)
    type.__setattr__(enum, name, member)
    return member


def _remove_member(enum, name: str, value: str) -> None:
    del enum._member_map_[name]
    del enum._value2member_map_[value]
    enum._member_names_.remove(name)
    type.__delattr__(enum, name)


@pytest.fixture
def mgu(monkeypatch):
    monkeypatch.setitem(kinds.KINDS, "mgu", MGU)  # 1: the row
    member = _add_member(Kind, "MGU", "mgu")  # 2: the enum member
    original = explain_math.equations

    def equations(*, kind, **kw):  # 3: the equations (f_t, then h_t from the candidate)
        if kind is not member:
            return original(kind=kind, **kw)
        return _mgu_equations(kw)

    # an edit of explain_math.equations is seen by every module that imported it: patch each binding
    from rnnshape.views import explain

    monkeypatch.setattr(explain_math, "equations", equations)
    monkeypatch.setattr(explain, "equations", equations)
    try:
        yield member
    finally:
        _remove_member(Kind, "MGU", "mgu")


def _mgu_equations(kw: dict):
    from rnnshape.views.explain_math import Equation, Term

    source, x_shape, h_shape = kw["source"], kw["x_shape"], kw["h_shape"]
    H = kw["c_shape"][-1]
    x = Term("x_t", x_shape, kw["x_dims"], None, "this step's input")
    h = Term(f"h_{{{kw['prev']}}}", h_shape, kw["h_dims"], None, "the previous step's hidden state")

    def affine(side: str, letter: str, gate: int, operand: Term) -> list[Term]:
        base = "weight_ih" if side == "i" else "weight_hh"
        width = x_shape[-1] if side == "i" else h_shape[-1]
        dims = ("H", kw["in_dim"] if side == "i" else kw["h_dim"])
        w = Term(f"W_{side}{letter}", (H, width), dims, source(base, gate), f"rows of {base}")
        b = Term(f"b_{side}{letter}", (H,), ("H",), source(base.replace("weight", "bias"), gate), "bias")
        return [w, operand] + ([b] if kw["bias"] else [])

    f = affine("i", "f", 0, x) + affine("h", "f", 0, h)
    cand = affine("i", "h", 1, x) + affine("h", "h", 1, h)
    return (
        Equation("f_t", "σ(W_if x_t + W_hf h + b)", kw["c_shape"], kw["c_dims"], tuple(f), "forget gate"),
        Equation("h_t", "(1 − f_t) ⊙ h + f_t ⊙ tanh(W_ih x_t + f_t ⊙ W_hh h + b)", h_shape, kw["h_dims"],
                 tuple(cand), "the new hidden state"),
    )


def test_a_new_kind_runs_through_predictor_explain_and_json(mgu):
    from rnnshape import analyze

    report = analyze("mgu", input_size=5, hidden_size=7, num_layers=2, bidirectional=True, dry_run=True)
    params = {p.name: p.shape for p in report.prediction.parameters}
    G, H, D = 2, 7, 2  # two row blocks, as its row says
    assert params["weight_ih_l0"] == (G * H, 5) and params["weight_hh_l0"] == (G * H, H)
    assert params["weight_ih_l1_reverse"] == (G * H, D * H) and params["bias_hh_l1"] == (G * H,)
    assert report.prediction.totals.parameters == sum(
        G * H * (w + H) + 2 * G * H for w in (5, 5, D * H, D * H))
    outputs = {t.name: t.shape for t in report.prediction.outputs}
    assert outputs == {"output": (10, 3, D * H), "h_n": (2 * D, 3, H)}  # one state tensor: no c_n

    doc = json.loads(report.to_json())
    assert doc["spec"]["kind"] == "mgu" and doc["schema_version"] == 1
    assert [p["name"] for p in doc["parameters"]][:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]

    from rnnshape.render.explain import json_extras
    from rnnshape.views.explain import explain

    ex = explain(report.prediction)
    assert ex is not None
    extras = json.loads(json.dumps(json_extras(report.prediction, explain=True, diagram=True)))
    group = extras["explain"]["groups"][0]
    assert extras["explain"]["title"] == "MGU(5, 7, num_layers=2, bidirectional=True)"
    assert [e["lhs"] for e in group["equations"]] == ["f_t", "h_t"]  # its own equations, from the one place
    w_ih = next(t for t in group["equations"][1]["terms"] if t["symbol"] == "W_ih")
    assert w_ih["shape"] == [H, 5]  # the candidate's block: the second H rows of weight_ih_l0
    assert "diagram" in extras


def test_the_kind_is_gone_after_the_test():
    assert "mgu" not in kinds.KINDS and "mgu" not in Kind._value2member_map_
    assert [k.value for k in Kind] == ["rnn", "lstm", "gru"]
