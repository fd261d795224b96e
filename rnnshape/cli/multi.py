"""`rnnshape compare` and `rnnshape sweep`: the options, and the step from typed configurations to Specs.

Each configuration is parsed by the real kind command (`rnnshape lstm ...`), so every option, default and
error is the kind command's own. Part of the CLI layer with rnnshape.cli.app; no torch at module level.
"""

from __future__ import annotations

import shlex
import sys
from typing import Annotated, Optional

import typer

from rnnshape.errors import UsageError
from rnnshape.model.spec import Kind
from rnnshape.run.measure import DEFAULT_MIN_TIME

KINDS = tuple(k.value for k in Kind)
PANEL = "Measure and print"
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": ["-h", "--help"]}

Backward = Annotated[bool, typer.Option("--backward", help="Also time the backward pass.", rich_help_panel=PANEL)]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Predict only, without torch: no times.",
                                      rich_help_panel=PANEL)]
MinTime = Annotated[float, typer.Option("--min-time", metavar="SECONDS", help="Measure each at least this long.",
                                        rich_help_panel=PANEL)]
Threads = Annotated[Optional[int], typer.Option("--threads", help="torch threads (default: torch's).",
                                                rich_help_panel=PANEL)]
Deploy = Annotated[bool, typer.Option("--deploy", help="Also run each deployed (bfloat16, float16, int8, "
                                      "torch.compile, ONNX Runtime) against its eager float32.", rich_help_panel=PANEL)]
Json = Annotated[bool, typer.Option("--json", "-j", help="One JSON document on stdout (times in seconds).",
                                    rich_help_panel=PANEL)]
Csv = Annotated[bool, typer.Option("--csv", help="CSV on stdout, one row each, raw numbers.", rich_help_panel=PANEL)]
Markdown = Annotated[bool, typer.Option("--markdown", help="A Markdown table on stdout.", rich_help_panel=PANEL)]
Svg = Annotated[Optional[str], typer.Option("--svg", metavar="FILE", help="Also save the output as SVG.",
                                            rich_help_panel=PANEL)]
Html = Annotated[Optional[str], typer.Option("--html", metavar="FILE", help="Also save the output as HTML.",
                                             rich_help_panel=PANEL)]


def compare_command(
    ctx: typer.Context, backward: Backward = False, dry_run: DryRun = False, min_time: MinTime = DEFAULT_MIN_TIME,
    threads: Threads = None, json_out: Json = False, csv_out: Csv = False, markdown: Markdown = False,
    svg: Svg = None, html: Html = None, deploy: Deploy = False,
) -> int:
    """Compare configurations side by side: parameters, MACs, memory, time, shapes, each × the first.

    CONFIG is a kind (rnn, lstm, gru), or a quoted kind with its own options, as `rnnshape KIND` takes them.

    Options of the kind commands given outside the quotes apply to every configuration.

    A kind-specific one (--proj-size, --nonlinearity) applies to the kinds that take it, and rnnshape says so.

      rnnshape compare rnn lstm gru --hidden-size 256 --layers 2

      rnnshape compare "lstm --hidden-size 256" "gru --hidden-size 320 --layers 2"
    """
    from rnnshape.cli import multi_run as multi_cmd

    labels, specs, shared = compare_specs(list(ctx.args))
    run = _run(ctx, dry_run, min_time, threads, backward, deploy)
    out = multi_cmd.Output(json_out, csv_out, markdown, svg, html)
    return multi_cmd.compare(labels, specs, shared=shared, run=run, out=out)


def sweep_command(
    ctx: typer.Context,
    vary: Annotated[list[str], typer.Option("--vary", metavar="OPTION=V1,V2,...",
                                            help="An integer option and its values: seq-len, batch, hidden-size, "
                                                 "input-size, layers, proj-size. Repeat for a grid.")] = (),
    dry_run: DryRun = False, min_time: MinTime = DEFAULT_MIN_TIME, threads: Threads = None,
    json_out: Json = False, csv_out: Csv = False, markdown: Markdown = False, svg: Svg = None, html: Html = None,
) -> int:
    """Measure one configuration over a range of values, chart it, and fit how time grows (time ∝ x^k).

    The measured exponent stands next to the one the MACs predict: a smaller one means fixed overheads dominate.

    The other options are the kind command's (`rnnshape KIND --help`).

      rnnshape sweep lstm --vary seq-len=16,64,256,1024 --hidden-size 256
    """
    from rnnshape.cli import multi_run as multi_cmd
    from rnnshape.model.sweep import grid, parse_vary

    varies = [parse_vary(v) for v in vary]
    if not varies:
        raise UsageError("sweep needs at least one --vary", hint="for example --vary seq-len=16,64,256,1024")
    points = grid(varies)
    specs = sweep_specs(list(ctx.args), varies, points)
    run = _run(ctx, dry_run, min_time, threads, False)
    return multi_cmd.sweep(varies, points, specs, run=run, out=multi_cmd.Output(json_out, csv_out, markdown, svg, html))


def _run(ctx: typer.Context, dry_run: bool, min_time: float, threads: int | None, backward: bool,
         deploy: bool = False):
    from rnnshape.cli.kind import check_run_options, given_flags
    from rnnshape.cli.multi_run import Run

    check_run_options(min_time, threads)
    timing = {n: f for n, f in given_flags(ctx).items() if n in ("min_time", "threads", "backward")}
    if dry_run and timing:
        flag = next(iter(timing.values()))
        raise UsageError(f"{flag} has no effect with --dry-run: nothing is timed", hint=f"drop {flag}")
    return Run(dry_run, min_time, threads, backward, deploy)


def _spec_params() -> set[str]:
    import inspect

    from rnnshape.cli.kind import spec_from_options

    return {n for n, p in inspect.signature(spec_from_options).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


def _words(token: str) -> list[str]:
    try:
        return shlex.split(token)
    except ValueError as err:
        raise UsageError(f"cannot read {token!r}: {err}", hint="close the quotes") from None


def _parse(kind: str, tokens: list[str], where: str) -> tuple[dict, dict[str, str]]:
    """The kind command's parse of ``tokens``; options that are not part of a configuration are refused."""
    from rnnshape.cli.kind import parse_kind_options

    params, given = parse_kind_options(kind, tokens)
    extra = [flag for name, flag in given.items() if name not in _spec_params()]
    if extra:
        raise UsageError(f"{extra[0]} cannot be used {where}: it is not part of a configuration",
                         hint=f"rnnshape {kind} {extra[0]} shows it for one configuration")
    return params, given


def compare_specs(tokens: list[str]):
    """Tokens -> (labels, specs, shared options as typed). A token whose first word is a kind is an entry."""
    from rnnshape.cli.kind import spec_from_options
    from rnnshape.model.comparison import KIND_ONLY

    entries = [_words(t) for t in tokens if t.split() and t.split()[0] in KINDS]
    shared = [t for t in tokens if not (t.split() and t.split()[0] in KINDS)]
    if not entries:
        raise UsageError(f"compare needs configurations: {', '.join(KINDS)}, or a quoted kind with options "
                         f"(got {' '.join(tokens) or 'none'})", hint="for example rnnshape compare rnn lstm gru")
    labels, specs, skipped, overridden = [], [], {}, {}
    for words in entries:
        kind, label = words[0], " ".join(words)
        shared_params, shared_given = _parse(kind, shared, "with compare")
        params, given = _parse(kind, words[1:], "in a compare entry")
        for name in shared_given:
            if name in given:
                overridden.setdefault(shared_given[name], []).append(label)
                continue
            if name in KIND_ONLY and Kind(kind) not in KIND_ONLY[name]:
                skipped.setdefault(shared_given[name], (KIND_ONLY[name], []))[1].append(label)
                continue
            params[name] = shared_params[name]
        try:
            specs.append(spec_from_options(Kind(kind), **params))
        except UsageError as err:
            raise UsageError(f"{label}: {err.message}", hint=err.hint) from None
        labels.append(label)
    _note_skipped(skipped, len(entries))
    for flag, where in overridden.items():
        sys.stderr.write(f"rnnshape: note: {flag} outside the quotes does not apply to {', '.join(where)}, "
                         f"which set{'s' if len(where) == 1 else ''} its own\n")
    return labels, specs, " ".join(shlex.quote(t) for t in shared)


def _note_skipped(skipped: dict[str, tuple], entries: int) -> None:
    import sys

    for flag, (kinds, labels) in skipped.items():
        kinds = " and ".join(k.value for k in kinds)
        if len(labels) == entries:
            raise UsageError(f"{flag} applies only to {kinds}, and no configuration here is one",
                             hint=f"drop {flag}, or add {kinds} to the comparison")
        sys.stderr.write(f"rnnshape: note: {flag} applies only to {kinds}; not applied to {', '.join(labels)}\n")


def sweep_specs(tokens: list[str], varies, points):
    """Tokens (the kind first) and the grid -> one Spec per point, all validated before anything runs."""
    from rnnshape.cli.kind import spec_from_options
    from rnnshape.model.sweep import check_varies

    words = (_words(tokens[0]) if tokens else []) + tokens[1:]
    if not words or words[0] not in KINDS:
        raise UsageError(f"sweep needs a kind first: {', '.join(KINDS)} (got {words[0] if words else 'none'})",
                         hint="for example rnnshape sweep lstm --vary seq-len=16,64,256")
    kind = words[0]
    params, given = _parse(kind, words[1:], "with sweep")
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
    app.command("compare", context_settings=EXTRA, options_metavar="CONFIG... [OPTIONS]")(compare_command)
    app.command("sweep", context_settings=EXTRA, options_metavar="KIND [OPTIONS]")(sweep_command)
