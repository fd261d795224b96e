"""The JSON documents (schema_version 1, raw numbers, times in seconds): one serializer for every result.

Each result type declares its keys (rnnshape.model.report: ``Key``, ``JSON``) and :func:`document` writes
them; this module adds the views' documents and the declarations of types whose modules have none yet.

>>> from rnnshape.model.predict import predict
>>> from rnnshape.model.spec import make_spec
>>> from rnnshape.views.diagram import diagram
>>> d = document(diagram(predict(make_spec("gru"))))
>>> d["steps"], d["nodes"][0]["label"], d["edges"][0]["shape"]
([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'input[0]', [3, 100])
>>> [(e["source"], e["sequences"]) for e in d["edges"] if e["tensor"] == "h_n"]
[('l0.d0.t9', [0, 1, 2])]
"""

from __future__ import annotations

from rnnshape.model.deploy import Deployment
from rnnshape.model.report import JSON_KEYS, SCHEMA_VERSION, Key, Report, document, dumps, keys
from rnnshape.render.deploy import deploy_list, view_dict

__all__ = ["SCHEMA_VERSION", "document", "dumps", "report_dict"]

# Declared here until D declares them on the classes (rnnshape.model.report.Key): render/deploy.py's functions.
JSON_KEYS.setdefault(Deployment, keys(Key("deploy", deploy_list), Key("onnx", lambda d: view_dict(d.onnx))))


def report_dict(report: Report) -> dict:
    """A report's document (the name the commands call it by)."""
    return document(report)
