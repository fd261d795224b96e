"""`--explain` and `--diagram` next to the tables: build the views from a Prediction, for Rich or for JSON.

>>> from rnnshape.model.predict import predict
>>> from rnnshape.model.spec import make_spec
>>> sorted(json_extras(predict(make_spec("rnn")), explain=True, diagram=True))
['diagram', 'explain']
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from rnnshape.model.report import Prediction
from rnnshape.render.diagram import DiagramView
from rnnshape.render.explain import ExplanationView
from rnnshape.views.diagram import diagram as build_diagram
from rnnshape.views.explain import Focus, focus
from rnnshape.views.explain import explain as build_explanation


def with_views(tables: RenderableType, prediction: Prediction, *, explain: bool, diagram: bool,
               explain_focus: Focus = Focus()) -> RenderableType:
    parts = [tables]
    if explain:
        ex = focus(build_explanation(prediction), explain_focus)
        parts += [Text(), ExplanationView(ex, explain_focus.describe() if explain_focus.active else None)]
    if diagram:
        parts += [Text(), DiagramView(build_diagram(prediction))]
    return Group(*parts)


def json_extras(prediction: Prediction, *, explain: bool, diagram: bool, explain_focus: Focus = Focus()) -> dict:
    from rnnshape.render.explain_json import diagram_dict, explain_dict

    out = {}
    if explain:
        out["explain"] = explain_dict(focus(build_explanation(prediction), explain_focus))
    if diagram:
        out["diagram"] = diagram_dict(build_diagram(prediction))
    return out
