"""`rnnshape compare` and `rnnshape sweep`: several configurations, each parsed by the real kind command, measured
together in alternating rounds behind a progress bar on stderr, then printed in the chosen format.

Each configuration is parsed by the kind command (`rnnshape lstm ...`), so every option, default and error is
the kind command's own; compare's and sweep's own options are the option table's run and output rows for them.
Ctrl-C stops the measuring; the command prints what was measured (marked interrupted) and exits 130.
"""

from __future__ import annotations

import inspect
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from rnnshape.cli.edge import INTERRUPTED, Command, CompletionItem, given_flags
from rnnshape.cli.output import Output, env, note, say, warn
from rnnshape.errors import UsageError
from rnnshape.model import modes
from rnnshape.model.enums import Kind
from rnnshape.model.options import COMPARE, KIND_ONLY, SPEC, SPEC_NAMES, SWEEP, cli_name
from rnnshape.model.spec import Spec, check_run_bounds

if TYPE_CHECKING:  # --help and completion load this module: the result types are for a run
    from rnnshape.model.report import Report

KINDS = tuple(k.value for k in Kind)
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": ["-h", "--help"]}


# ---- what compare and sweep share: their options, and typed configurations -> parsed options

def own_signature(command: str, leading: tuple = ()):
    """compare's and sweep's own options: the table's run and output rows for them. The configuration's
    options are not declared here: they stay words, parsed per configuration by the kind command."""
    from rnnshape.cli.kind import signature

    return signature(command, leading=leading, configuration=False)


class KindsFirst(Command):
    """compare and sweep take configurations as free words: Tab offers the kinds where a word starts."""

    def shell_complete(self, ctx, incomplete: str):
        found = super().shell_complete(ctx, incomplete)
        if incomplete.startswith("-"):
            return found
        return [CompletionItem(k) for k in KINDS if k.startswith(incomplete.lower())] + found


def run_options(ctx: typer.Context, params: dict) -> Run:
    """The run options compare and sweep were given (bounds checked, redundant ones warned)."""
    check_run_bounds(params["min_time"], params["threads"])
    warn(modes.ignored(given_flags(ctx), untimed=modes.untimed(dry_run=params["dry_run"]), name=cli_name))
    return Run(params["dry_run"], params["min_time"], params["threads"], params.get("backward", False),
               params.get("deploy", False))


def formats(params: dict) -> Output:
    """The output formats compare and sweep were asked for."""
    return Output(params["json"], params["csv"], params["markdown"], params["svg"], params["html"])


def words(token: str) -> list[str]:
    """A configuration as typed, split like a shell would, its kind (the first word) in lower case."""
    try:
        split = shlex.split(token)
    except ValueError as err:
        raise UsageError(f"cannot read {token!r}: {err}", hint="close the quotes") from None
    return [split[0].lower(), *split[1:]] if split and is_kind(split[0]) else split


def is_kind(word: str) -> bool:
    """Kind names are case-insensitive (rnnshape LSTM)."""
    return word.lower() in KINDS


def parse_configuration(kind: str, tokens: list[str], where: str) -> tuple[dict, dict[str, str]]:
    """The kind command's parse of ``tokens``; options that are not part of a configuration are refused."""
    from rnnshape.cli.kind import parse_kind_options

    params, given = parse_kind_options(kind, tokens, within="sweep" if "sweep" in where else "compare")
    extra = [flag for name, flag in given.items() if name not in SPEC_NAMES]
    if extra:
        raise UsageError(f"{extra[0]} cannot be used {where}: it is not part of a configuration",
                         hint=f"rnnshape {kind} {extra[0]} shows it for one configuration")
    return params, given


def kind_options_help() -> str:
    """The help's list of the configuration options compare and sweep take, from the option table."""
    flags = ", ".join("/".join(o.flags) for o in SPEC)
    return f"The kind commands' options (`rnnshape KIND --help` explains each): {flags}."


# ---- measuring: the shared timing engine, every configuration in alternating rounds

@dataclass(frozen=True)
class Run:
    dry_run: bool
    min_time: float
    threads: int | None
    backward: bool = False
    deploy: bool = False  # compare only: each entry's deployed variants


def measure_all(labels: Sequence[str], specs: Sequence[Spec], run: Run) -> tuple[list[Report], bool]:
    """Build every spec, then time them together in alternating rounds (rnnshape.api.analyze_many).

    Rounds alternate the configurations (A, B, C, A, B, C, ...), so a change of load hits all of them
    alike and each ratio can be taken round by round (issue 12). On Ctrl-C keep what was measured and say
    so (second value True): after a full round that is every configuration, with fewer runs; before it,
    nothing.
    """
    from rnnshape import api
    from rnnshape.render.screen import progress_bar

    timed = not run.dry_run

    def building(i: int) -> str:
        return f"building {labels[i]}" if i < len(labels) else "timing, in alternating rounds"

    with progress_bar(len(specs) + timed, enabled=timed and not env().quiet) as step:
        try:
            reports = api.analyze_many(specs, dry_run=run.dry_run, min_time=run.min_time, threads=run.threads,
                                       backward=run.backward, step=lambda i: step(building(i)),
                                       deploy=run.deploy, note=note)
        except api.Interrupted as stop:
            return stop.reports, True
        except KeyboardInterrupt:
            return [], True
    return reports, False


def warn_all(labelled: Sequence[tuple[str, Report]]) -> None:
    """Each report's warnings once, labelled with the first configuration that raised it."""
    seen: set[str] = set()
    for label, report in labelled:
        for w in report.warnings:
            if w not in seen:
                seen.add(w)
                warn([w], label)


def stopped(done: int, total: int) -> int:
    if done == total:
        say(f"interrupted: showing all {total}, measured for fewer rounds than asked")
        return INTERRUPTED
    shown = "nothing to show" if done == 0 else f"showing the {done} of {total} measured"
    say(f"interrupted: {shown}")
    return INTERRUPTED


# ---- rnnshape compare

def compare_command(ctx: typer.Context, **params) -> int:
    """Compare configurations side by side: parameters, MACs, memory, time, shapes, each × the first.

    Examples:
      rnnshape compare rnn lstm gru --dry-run
      rnnshape compare rnn lstm gru --hidden-size 256 --layers 2
      rnnshape compare "lstm -H 256" "gru -H 320 --layers 2" --json
      rnnshape compare lstm "lstm --proj-size 64" --hidden-size 256 --csv

    CONFIG is a kind (rnn, lstm, gru), or a quoted kind with its own options, as `rnnshape KIND` takes them.
    Options of the kind commands given outside the quotes apply to every configuration; a kind-specific one
    (--proj-size, --nonlinearity) applies to the kinds that take it, and rnnshape says so.
    """
    labels, specs, shared = compare_specs(list(ctx.args))
    run = run_options(ctx, params)
    return compare_configurations(labels, specs, shared=shared, run=run, out=formats(params))


def compare_configurations(labels: Sequence[str], specs: Sequence[Spec], *, shared: str, run: Run,
                           out: Output, console=None) -> int:
    """Measure every configuration, then print the comparison in the chosen format."""
    from rnnshape.model.many import comparison
    from rnnshape.render import multi as render_multi

    out.check()
    if run.deploy and (out.csv or out.markdown):
        flag = "--csv" if out.csv else "--markdown"
        raise UsageError(f"--deploy shows in the table and in --json, not in {flag}", hint="drop one of them")
    reports, cut = measure_all(labels, specs, run)
    warn_all(list(zip(labels, reports)))
    if not reports:
        return stopped(0, len(specs))
    result = comparison(labels, reports, shared=shared, planned=len(specs), interrupted=cut)
    out.print(json=lambda: render_multi.compare_json(result), csv=lambda: render_multi.compare_csv(result),
              markdown=lambda: render_multi.compare_markdown(result), rich=lambda: _compare_view(result),
              console=console)
    return stopped(len(reports), len(specs)) if cut else 0


def _compare_view(result):
    from rnnshape.render.multi import render_comparison

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

    entries = [words(t) for t in tokens if t.split() and is_kind(t.split()[0])]
    shared = [t for t in tokens if not (t.split() and is_kind(t.split()[0]))]
    if not entries:
        raise UsageError(f"compare needs configurations: {', '.join(KINDS)}, or a quoted kind with options "
                         f"(got {' '.join(tokens) or 'none'})", hint="for example rnnshape compare rnn lstm gru")
    labels, specs, skipped, overridden = [], [], {}, {}
    for entry in entries:
        kind, label = entry[0], " ".join(entry)
        shared_params, shared_given = parse_configuration(kind, shared, "with compare")
        params, given = parse_configuration(kind, entry[1:], "in a compare entry")
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


compare_command.__signature__ = own_signature(COMPARE)
compare_command.__doc__ += "\n    " + kind_options_help()


# ---- rnnshape sweep

# What Tab offers after --vary: a whole OPTION=VALUES word, so that the space the shell adds after it is right
# (completing only "seq-len=" left "seq-len= ", which breaks the command).
VARY_EXAMPLES = {"seq-len": "16,64,256,1024", "batch": "1,8,32,128", "hidden-size": "64,128,256,512",
                 "input-size": "32,128,512", "layers": "1,2,4", "proj-size": "4,8,16"}


def _vary_values(incomplete: str) -> list[str]:
    from rnnshape.model.many import VARIABLES

    name = incomplete.partition("=")[0]
    return [f"{v}={VARY_EXAMPLES[v]}" for v in VARIABLES if v.startswith(name) and v in VARY_EXAMPLES
            and "=" not in incomplete] if "=" not in incomplete else []


Vary = Annotated[list[str], typer.Option("--vary", metavar="<option=v1,v2,...>", autocompletion=_vary_values,
                                         help="An integer option and its values: seq-len, batch, hidden-size, "
                                              "input-size, layers, proj-size. Repeat for a grid.")]


def sweep_command(ctx: typer.Context, vary: Vary = (), **params) -> int:
    """Measure one configuration over a range of values, chart it, and fit how time grows (time ∝ x^k).

    Examples:
      rnnshape sweep lstm --vary seq-len=16,64,256,1024 --dry-run
      rnnshape sweep lstm --vary seq-len=16,64,256,1024 --hidden-size 256
      rnnshape sweep gru --vary hidden-size=64,128,256 --vary batch=1,8 --csv

    The measured exponent stands next to the one the MACs predict: a smaller one means fixed overheads dominate.
    After the kind come its options, as `rnnshape KIND` takes them.
    """
    from rnnshape.model.many import grid, parse_vary

    varies = [parse_vary(v) for v in vary]
    if not varies:
        raise UsageError("sweep needs at least one --vary", hint="for example --vary seq-len=16,64,256,1024")
    points = grid(varies)
    specs = sweep_specs(list(ctx.args), varies, points)
    run = run_options(ctx, params)
    return sweep_configurations(varies, points, specs, run=run, out=formats(params))


def sweep_configurations(varies, points: Sequence[tuple[int, ...]], specs: Sequence[Spec], *, run: Run,
                         out: Output, console=None) -> int:
    """Measure every point, then print the sweep (table, chart, fit) in the chosen format."""
    from rnnshape.model.many import Point, sweep_result
    from rnnshape.render import multi as render_multi

    out.check()
    labels = [", ".join(f"{v.option}={x}" for v, x in zip(varies, values)) for values in points]
    reports, cut = measure_all(labels, specs, run)
    warn_all(list(zip(labels, reports)))
    if not reports:
        return stopped(0, len(specs))
    result = sweep_result(varies, [Point(v, r) for v, r in zip(points, reports)], planned=len(specs),
                          interrupted=cut)
    out.print(json=lambda: render_multi.sweep_json(result), csv=lambda: render_multi.sweep_csv(result),
              markdown=lambda: render_multi.sweep_markdown(result), rich=lambda: _sweep_view(result), console=console)
    return stopped(len(reports), len(specs)) if cut else 0


def _sweep_view(result):
    from rnnshape.render.multi import render_sweep

    return render_sweep(result)


def sweep_specs(tokens: list[str], varies, points):
    """Tokens (the kind first) and the grid -> one Spec per point, all validated before anything runs."""
    from rnnshape.cli.kind import spec_from_params
    from rnnshape.model.many import check_varies

    typed = (words(tokens[0]) if tokens else []) + tokens[1:]
    if not typed or typed[0] not in KINDS:
        raise UsageError(f"sweep needs a kind first: {', '.join(KINDS)} (got {typed[0] if typed else 'none'})",
                         hint="for example rnnshape sweep lstm --vary seq-len=16,64,256")
    kind = typed[0]
    params, given = parse_configuration(kind, typed[1:], "with sweep")
    check_varies(varies, given)
    specs = []
    for values in points:
        p = dict(params)
        for v, x in zip(varies, values):
            p[v.param] = x
        try:
            specs.append(spec_from_params(Kind(kind), p))
        except UsageError as err:
            at = ", ".join(f"{v.option}={x}" for v, x in zip(varies, values))
            raise err.within(f"at {at}: ") from None
    return specs



sweep_command.__doc__ += "\n    " + kind_options_help()
sweep_command.__signature__ = own_signature(SWEEP, (inspect.Parameter(
    "vary", inspect.Parameter.KEYWORD_ONLY, default=(), annotation=Vary),))


def register(app: typer.Typer) -> None:
    from rnnshape.cli.edge import exit_codes

    app.command("compare", cls=KindsFirst, context_settings=EXTRA, options_metavar="CONFIG... [OPTIONS]",
                epilog=exit_codes("compare"))(compare_command)
    app.command("sweep", cls=KindsFirst, context_settings=EXTRA, options_metavar="KIND [OPTIONS]",
                epilog=exit_codes("sweep"))(sweep_command)
