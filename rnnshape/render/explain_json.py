"""The JSON view of an Explanation and a Diagram: structured data other tools can draw. No Rich here.

>>> from rnnshape.views.diagram import diagram
>>> from rnnshape.model.predict import predict
>>> from rnnshape.model.spec import make_spec
>>> d = diagram_dict(diagram(predict(make_spec("gru"))))
>>> d["steps"], d["nodes"][0]["label"], d["edges"][0]
([0, 1, 9], 'input[0]', {'source': 'x.t0', 'target': 'l0.d0.t0', 'tensor': 'x_t', 'shape': [3, 100], 'elided': None})
"""

from __future__ import annotations

from rnnshape.views.diagram import Diagram, Level
from rnnshape.views.explain import Equation, Explanation, Group, Term


def _list(shape):
    return None if shape is None else list(shape)


def _term(t: Term) -> dict:
    source = None
    if t.source is not None:
        source = {"parameter": t.source.parameter, "rows": list(t.source.rows),
                  "parameter_shape": list(t.source.parameter_shape)}
    return {"symbol": t.symbol, "shape": list(t.shape), "dims": list(t.dims), "source": source, "meaning": t.meaning}


def _equation(e: Equation) -> dict:
    return {"lhs": e.lhs, "rhs": e.rhs, "shape": list(e.shape), "dims": list(e.dims),
            "terms": [_term(t) for t in e.terms], "meaning": e.meaning}


def _group(g: Group) -> dict:
    return {
        "module": g.module,
        "layer": g.layer,
        "direction": g.direction,
        "label": g.label,
        "input": {"from": [{"module": m, "layer": k, "direction": d} for m, k, d in g.input_from],
                  "text": g.input_text, "shape": list(g.input_shape)},
        "equations": [_equation(e) for e in g.equations],
        "final": g.final,
    }


def explain_dict(ex: Explanation) -> dict:
    return {
        "title": ex.title,
        "kind": ex.kind.value,
        "cell": ex.cell,
        "groups": [_group(g) for g in ex.groups],
        "states": [
            {"tensor": s.tensor, "index": s.index, "module": s.module, "layer": s.layer, "direction": s.direction,
             "shape": list(s.shape), "same_as": s.same_as}
            for s in ex.states
        ],
        "notes": list(ex.notes),
        "traps": list(ex.traps),
    }


def _level(lv: Level) -> dict:
    return {
        "module": lv.module, "layer": lv.layer, "label": lv.label, "short": lv.short, "directions": lv.directions,
        "input": {"tensor": lv.input_tensor, "shape": list(lv.input_shape)},
        "h_shape": list(lv.h_shape), "c_shape": _list(lv.c_shape),
        "output": {"tensor": lv.out_tensor, "shape": list(lv.out_shape)},
        "finals": list(lv.finals), "initials": list(lv.initials),
    }


def diagram_dict(dg: Diagram) -> dict:
    return {
        "title": dg.title,
        "seq_len": dg.seq_len,
        "steps": list(dg.steps),
        "levels": [_level(lv) for lv in dg.levels],
        "nodes": [
            {"id": n.id, "kind": n.kind, "label": n.label, "t": n.t, "level": n.level, "direction": n.direction,
             "shape": _list(n.shape)}
            for n in dg.nodes
        ],
        "edges": [
            {"source": e.source, "target": e.target, "tensor": e.tensor, "shape": list(e.shape),
             "elided": _list(e.elided)}
            for e in dg.edges
        ],
    }
