"""`rnnshape compare`: configurations side by side, each parsed by the real kind command, each × the first."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import typer

from rnnshape.cli import multi, multi_run
from rnnshape.cli.output import Output, note
from rnnshape.errors import UsageError
from rnnshape.model.enums import Kind
from rnnshape.model.options import COMPARE, KIND_ONLY
from rnnshape.model.spec import Spec


def compare_command(ctx: typer.Context, **params) -> int:
    """Compare configurations side by side: parameters, MACs, memory, time, shapes, each × the first.

    CONFIG is a kind (rnn, lstm, gru), or a quoted kind with its own options, as `rnnshape KIND` takes them.

    Options of the kind commands given outside the quotes apply to every configuration.

    A kind-specific one (--proj-size, --nonlinearity) applies to the kinds that take it, and rnnshape says so.

      rnnshape compare rnn lstm gru --hidden-size 256 --layers 2

      rnnshape compare "lstm --hidden-size 256" "gru --hidden-size 320 --layers 2"
    """
    multi.quiet(params)
    labels, specs, shared = compare_specs(list(ctx.args))
    run = multi.run_options(ctx, params)
    return compare_configurations(labels, specs, shared=shared, run=run, out=multi.output(params))


def compare_configurations(labels: Sequence[str], specs: Sequence[Spec], *, shared: str, run: multi_run.Run,
                           out: Output, console=None) -> int:
    """Measure every configuration, then print the comparison in the chosen format."""
    from rnnshape.model.comparison import comparison
    from rnnshape.render import multi_export

    out.check()
    if run.deploy and (out.csv or out.markdown):
        flag = "--csv" if out.csv else "--markdown"
        raise UsageError(f"--deploy shows in the table and in --json, not in {flag}", hint="drop one of them")
    reports, interrupted = multi_run.measure_all(labels, specs, run)
    multi_run.warn_all(list(zip(labels, reports)))
    if not reports:
        return multi_run.interrupted(0, len(specs))
    result = comparison(labels, reports, shared=shared, planned=len(specs), interrupted=interrupted)
    out.print(json=lambda: multi_export.compare_json(result), csv=lambda: multi_export.compare_csv(result),
              markdown=lambda: multi_export.compare_markdown(result), rich=lambda: _view(result), console=console)
    return multi_run.interrupted(len(reports), len(specs)) if interrupted else 0


def _view(result):
    from rnnshape.render.compare_view import render_comparison

    if any(e.report.deploy for e in result.entries):
        from rich.console import Group
        from rich.text import Text

        from rnnshape.render.deploy import deploy_columns

        return Group(render_comparison(result), Text(),
                     deploy_columns([(e.label, e.report.deploy) for e in result.entries]))
    return render_comparison(result)


def compare_specs(tokens: list[str]):
    """Tokens -> (labels, specs, shared options as typed). A token whose first word is a kind is an entry."""
    from rnnshape.cli.kind import spec_from_params

    entries = [multi.words(t) for t in tokens if t.split() and multi.is_kind(t.split()[0])]
    shared = [t for t in tokens if not (t.split() and multi.is_kind(t.split()[0]))]
    if not entries:
        raise UsageError(f"compare needs configurations: {', '.join(multi.KINDS)}, or a quoted kind with options "
                         f"(got {' '.join(tokens) or 'none'})", hint="for example rnnshape compare rnn lstm gru")
    labels, specs, skipped, overridden = [], [], {}, {}
    for words in entries:
        kind, label = words[0], " ".join(words)
        shared_params, shared_given = multi.parse_configuration(kind, shared, "with compare")
        params, given = multi.parse_configuration(kind, words[1:], "in a compare entry")
        for name in shared_given:
            if name in given:
                overridden.setdefault(shared_given[name], []).append(label)
                continue
            if name in KIND_ONLY and kind not in KIND_ONLY[name]:
                skipped.setdefault(shared_given[name], (KIND_ONLY[name], []))[1].append(label)
                continue
            params[name] = shared_params[name]
        try:
            specs.append(spec_from_params(Kind(kind), params))
        except UsageError as err:
            raise err.within(f"{label}: ") from None
        labels.append(label)
    _note_skipped(skipped, len(entries))
    for flag, where in overridden.items():
        note(f"{flag} outside the quotes does not apply to {', '.join(where)}, "
             f"which set{'s' if len(where) == 1 else ''} its own")
    return labels, specs, " ".join(shlex.quote(t) for t in shared)


def _note_skipped(skipped: dict[str, tuple], entries: int) -> None:
    for flag, (kinds, labels) in skipped.items():
        kinds = " and ".join(kinds)
        if len(labels) == entries:
            raise UsageError(f"{flag} applies only to {kinds}, and no configuration here is one",
                             hint=f"drop {flag}, or add {kinds} to the comparison")
        note(f"{flag} applies only to {kinds}; not applied to {', '.join(labels)}")


compare_command.__signature__ = multi.own_signature(COMPARE)


def register(app: typer.Typer) -> None:
    app.command("compare", cls=multi.KindsFirst, context_settings=multi.EXTRA,
                options_metavar="CONFIG... [OPTIONS]")(compare_command)
