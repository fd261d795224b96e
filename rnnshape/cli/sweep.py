"""`rnnshape sweep`: one configuration over a grid of values, charted, with the growth of time fitted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from rnnshape.cli import multi, multi_run
from rnnshape.cli.output import Output
from rnnshape.errors import UsageError
from rnnshape.model.enums import Kind
from rnnshape.model.spec import Spec
from rnnshape.run.measure import DEFAULT_MIN_TIME


def _vary_keys(incomplete: str) -> list[str]:
    from rnnshape.model.sweep import VARIABLES

    return [f"{name}=" for name in VARIABLES if name.startswith(incomplete)]


Vary = Annotated[list[str], typer.Option("--vary", metavar="<option=v1,v2,...>", autocompletion=_vary_keys,
                                         help="An integer option and its values: seq-len, batch, hidden-size, "
                                              "input-size, layers, proj-size. Repeat for a grid.")]


def sweep_command(
    ctx: typer.Context, vary: Vary = (), dry_run: multi.DryRun = False, min_time: multi.MinTime = DEFAULT_MIN_TIME,
    threads: multi.Threads = None, backward: multi.Backward = False, json_out: multi.Json = False,
    csv_out: multi.Csv = False,
    markdown: multi.Markdown = False, svg: multi.Svg = None, html: multi.Html = None,
) -> int:
    """Measure one configuration over a range of values, chart it, and fit how time grows (time ∝ x^k).

    The measured exponent stands next to the one the MACs predict: a smaller one means fixed overheads dominate.

    The other options are the kind command's (`rnnshape KIND --help`).

      rnnshape sweep lstm --vary seq-len=16,64,256,1024 --hidden-size 256
    """
    from rnnshape.model.sweep import grid, parse_vary

    varies = [parse_vary(v) for v in vary]
    if not varies:
        raise UsageError("sweep needs at least one --vary", hint="for example --vary seq-len=16,64,256,1024")
    points = grid(varies)
    specs = sweep_specs(list(ctx.args), varies, points)
    run = multi.run_options(ctx, dry_run, min_time, threads, backward)
    return sweep_configurations(varies, points, specs, run=run, out=Output(json_out, csv_out, markdown, svg, html))


def sweep_configurations(varies, points: Sequence[tuple[int, ...]], specs: Sequence[Spec], *, run: multi_run.Run,
                         out: Output, console=None) -> int:
    """Measure every point, then print the sweep (table, chart, fit) in the chosen format."""
    from rnnshape.model.sweep import Point, sweep_result
    from rnnshape.render import multi_export

    out.check()
    labels = [", ".join(f"{v.option}={x}" for v, x in zip(varies, values)) for values in points]
    reports, interrupted = multi_run.measure_all(labels, specs, run)
    multi_run.warn_all(list(zip(labels, reports)))
    if not reports:
        return multi_run.interrupted(0, len(specs))
    result = sweep_result(varies, [Point(v, r) for v, r in zip(points, reports)], planned=len(specs),
                          interrupted=interrupted)
    out.print(json=lambda: multi_export.sweep_json(result), csv=lambda: multi_export.sweep_csv(result),
              markdown=lambda: multi_export.sweep_markdown(result), rich=lambda: _view(result), console=console)
    return multi_run.interrupted(len(reports), len(specs)) if interrupted else 0


def _view(result):
    from rnnshape.render.sweep_view import render_sweep

    return render_sweep(result)


def sweep_specs(tokens: list[str], varies, points):
    """Tokens (the kind first) and the grid -> one Spec per point, all validated before anything runs."""
    from rnnshape.cli.kind import spec_from_options
    from rnnshape.model.sweep import check_varies

    words = (multi.words(tokens[0]) if tokens else []) + tokens[1:]
    if not words or words[0] not in multi.KINDS:
        raise UsageError(f"sweep needs a kind first: {', '.join(multi.KINDS)} (got {words[0] if words else 'none'})",
                         hint="for example rnnshape sweep lstm --vary seq-len=16,64,256")
    kind = words[0]
    params, given = multi.parse_configuration(kind, words[1:], "with sweep")
    check_varies(varies, given)
    specs = []
    for values in points:
        p = dict(params)
        for v, x in zip(varies, values):
            p[v.param] = str(x) if v.param == "hidden_size" else x
        try:
            specs.append(spec_from_options(Kind(kind), **p))
        except UsageError as err:
            at = ", ".join(f"{v.option}={x}" for v, x in zip(varies, values))
            raise UsageError(f"at {at}: {err.message}", hint=err.hint) from None
    return specs



def register(app: typer.Typer) -> None:
    app.command("sweep", cls=multi.KindsFirst, context_settings=multi.EXTRA,
                options_metavar="KIND [OPTIONS]")(sweep_command)
