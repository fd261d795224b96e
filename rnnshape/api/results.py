"""What the Python API returns: the result types, each one class that shows itself.

A Report, a Comparison, a Sweep and an Inspection are the frozen results of the layers below (one class
each, no copy). ``to_dict()`` is the CLI's ``--json`` document and ``to_json()`` its text (the result's
declared keys, rnnshape.model.report); this module gives them the rest, from the renderers the CLI uses: a
short ``repr``, Rich rendering (``rich.print(report)``) and ``_repr_html_``, so that a notebook cell shows
the same tables as the terminal. The renderers are imported when a result is first shown, not before.

>>> from rnnshape import analyze
>>> report = analyze("lstm", num_layers=2, dry_run=True)
>>> report
<Report lstm · 13,120 parameters · output (10, 3, 20), h_n (2, 3, 20), c_n (2, 3, 20) · predicted>
>>> report.to_dict()["outputs"][1]["shape"], report.outputs["h_n"].shape
([2, 3, 20], (2, 3, 20))
>>> "<table" in report._repr_html_() or "<pre" in report._repr_html_()
True
>>> type(report) is Report
True
"""

from __future__ import annotations

from rnnshape.checkpoint.inspection import Inspection
from rnnshape.model.many import Comparison, Sweep
from rnnshape.model.report import SHOWING, Report, Showing, Shows

__all__ = ["Comparison", "Inspection", "Report", "Sweep", "of"]


def _html(renderable) -> str:
    from rnnshape.render.screen import html

    return html(renderable)


def _report_view(r: Report):
    from rnnshape.render.tables import render

    return render(r)


def _report_text(r: Report) -> str:
    from rnnshape.render import fmt

    tensors = ", ".join(f"{t.name} {fmt.shape(t.shape)}" for t in r.outputs)
    how = f"verified by torch {r.torch_version}" if r.verified else "predicted"
    if r.timing is not None:
        how += f" · forward {fmt.seconds(r.timing.forward.median)}"
    return f"<Report {r.spec.kind.value} · {r.totals.parameters:,} parameters · {tensors} · {how}>"


def _comparison_view(c: Comparison):
    from rnnshape.render.multi import render_comparison

    return render_comparison(c)


def _sweep_view(s: Sweep):
    from rnnshape.render.multi import render_sweep

    return render_sweep(s)


def _sweep_text(s: Sweep) -> str:
    grid = " × ".join(f"{v.option}={','.join(map(str, v.values))}" for v in s.varies)
    return f"<Sweep of {len(s.points)} points: {grid}>"


def _inspection_view(i: Inspection):
    from rnnshape.render.inspect import render_inspection

    return render_inspection(i)


def _inspection_doc(i: Inspection) -> dict:
    from rnnshape.render.inspect import inspection_dict

    return inspection_dict(i)


def _inspection_text(i: Inspection) -> str:
    found = ", ".join(f"{m.prefix or '(top level)'}: {m.constructor or 'not recognised'}" for m in i.modules)
    return f"<Inspection of {i.checkpoint.file}: {found or 'no recurrent module'}>"


SHOWING.update({
    Report: Showing(view=_report_view, text=_report_text, html=_html),
    Comparison: Showing(view=_comparison_view, html=_html, text=lambda c: (
        f"<Comparison of {len(c.entries)}: {', '.join(e.label for e in c.entries)}>")),
    Sweep: Showing(view=_sweep_view, text=_sweep_text, html=_html),
    Inspection: Showing(view=_inspection_view, text=_inspection_text, html=_html, doc=_inspection_doc),
})


def of(result: Shows) -> Shows:
    """The result itself, once it is known to be one that shows itself (the API's functions return it)."""
    if not isinstance(result, Shows):
        raise TypeError(f"not an rnnshape result: {type(result).__name__}")
    return result
