"""What the Python API returns: the result types, able to show themselves.

Each is the plain frozen result (a Report, a Comparison, a Sweep, an Inspection) with four additions:
``to_dict()`` is the CLI's ``--json`` document, a short ``repr``, Rich rendering (``rich.print(report)``)
and ``_repr_html_``, so that a notebook cell shows the same tables as the terminal.

>>> from rnnshape import analyze
>>> report = analyze("lstm", num_layers=2, dry_run=True)
>>> report
<Report lstm · 13,120 parameters · output (10, 3, 20), h_n (2, 3, 20), c_n (2, 3, 20) · predicted>
>>> report.to_dict()["outputs"][1]["shape"], report.outputs["h_n"].shape
([2, 3, 20], (2, 3, 20))
>>> "<table" in report._repr_html_() or "<pre" in report._repr_html_()
True
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rnnshape.checkpoint import inspection
from rnnshape.model import comparison, report, sweep


class _Shows:
    """Rich rendering, HTML for notebooks and JSON, from the renderers the CLI uses."""

    def _renderable(self):
        raise NotImplementedError

    def to_dict(self) -> dict:
        raise NotImplementedError

    def to_json(self) -> str:
        """The CLI's ``--json`` document."""
        from rnnshape.render.jsonout import dumps

        return dumps(self.to_dict())

    def __rich__(self):
        return self._renderable()

    def _repr_html_(self) -> str:
        from rnnshape.render.notebook import html

        return html(self._renderable())


def _of(cls, plain):
    """The plain result as its showing subclass (same fields, same values)."""
    return cls(**{f.name: getattr(plain, f.name) for f in fields(plain)})


@dataclass(frozen=True, repr=False)
class Report(report.Report, _Shows):
    """One configuration: prediction, verified by torch or not, and its timing."""

    def to_dict(self) -> dict:
        from rnnshape.render.jsonout import report_dict

        return report_dict(self)

    def _renderable(self):
        from rnnshape.render.tables import render

        return render(self)

    def __repr__(self) -> str:
        from rnnshape.render import fmt

        tensors = ", ".join(f"{t.name} {fmt.shape(t.shape)}" for t in self.outputs)
        how = f"verified by torch {self.torch_version}" if self.verified else "predicted"
        if self.timing is not None:
            how += f" · forward {fmt.seconds(self.timing.forward.median)}"
        return f"<Report {self.spec.kind.value} · {self.totals.parameters:,} parameters · {tensors} · {how}>"


@dataclass(frozen=True, repr=False)
class Comparison(comparison.Comparison, _Shows):
    """Several configurations side by side (``rnnshape compare``)."""

    def to_dict(self) -> dict:
        from rnnshape.render.multi_export import compare_dict

        return compare_dict(self)

    def _renderable(self):
        from rnnshape.render.compare_view import render_comparison

        return render_comparison(self)

    def __repr__(self) -> str:
        labels = ", ".join(e.label for e in self.entries)
        return f"<Comparison of {len(self.entries)}: {labels}>"


@dataclass(frozen=True, repr=False)
class Sweep(sweep.Sweep, _Shows):
    """One configuration over a grid of values (``rnnshape sweep``)."""

    def to_dict(self) -> dict:
        from rnnshape.render.multi_export import sweep_dict

        return sweep_dict(self)

    def _renderable(self):
        from rnnshape.render.sweep_view import render_sweep

        return render_sweep(self)

    def __repr__(self) -> str:
        grid = " × ".join(f"{v.option}={','.join(map(str, v.values))}" for v in self.varies)
        return f"<Sweep of {len(self.points)} points: {grid}>"


@dataclass(frozen=True, repr=False)
class Inspection(inspection.Inspection, _Shows):
    """The recurrent modules of a checkpoint (``rnnshape inspect``)."""

    def to_dict(self) -> dict:
        from rnnshape.render.inspect import inspection_dict

        return inspection_dict(self)

    def _renderable(self):
        from rnnshape.render.inspect import render_inspection

        return render_inspection(self)

    def __repr__(self) -> str:
        found = ", ".join(f"{m.prefix or '(top level)'}: {m.constructor or 'not recognised'}"
                          for m in self.modules)
        return f"<Inspection of {self.checkpoint.file}: {found or 'no recurrent module'}>"


def of(plain):
    """Any plain result as its showing type."""
    for shows, base in ((Report, report.Report), (Comparison, comparison.Comparison), (Sweep, sweep.Sweep),
                        (Inspection, inspection.Inspection)):
        if isinstance(plain, base):
            return plain if isinstance(plain, shows) else _of(shows, plain)
    raise TypeError(f"not an rnnshape result: {type(plain).__name__}")
