"""The rnn / lstm / gru commands: options become a Spec, rnnshape.api returns a Report, a renderer prints it.

Thin: the options are rows of the one option table (rnnshape.model.options), turned into Typer parameters
here; the value rules live in rnnshape.model.spec and the combination rules in rnnshape.model.modes. torch is
never imported here at module level.
"""

from __future__ import annotations

import inspect
from typing import Optional

import typer

from rnnshape.cli import output
from rnnshape.cli.edge import Command, click_exceptions, exit_codes, given_flags, int_list, usage_message
from rnnshape.cli.output import Output, emit, warn
from rnnshape.errors import UsageError
from rnnshape.model import modes
from rnnshape.model.enums import Kind
from rnnshape.model.options import KIND, SPEC, Ints, Option, cli_name, for_command, gate_names
from rnnshape.model.spec import check_run_bounds, make_spec

# Two to four commands each help starts with: real ones, which tests/test_help.py runs.
EXAMPLES = {
    "rnn": ("rnnshape rnn --dry-run",
            "rnnshape rnn -i 32 -H 64 --nonlinearity relu --batch-first",
            "rnnshape rnn --cell -H 30,20 --seq-len 5 --diagram",
            "rnnshape rnn --explain --gate h"),
    "lstm": ("rnnshape lstm --dry-run",
             "rnnshape lstm -H 256 --layers 2 --bidirectional --batch-first",
             "rnnshape lstm --lengths 10,7,3 --proj-size 8 --json",
             "rnnshape lstm --layers 2 --explain --layer 1 --gate f"),
    "gru": ("rnnshape gru --dry-run",
            "rnnshape gru -i 300 --input-shape 32,50,300 --batch-first",
            "rnnshape gru --cell -H 128 --code",
            "rnnshape gru --explain --gate z"),
}


def parameter(opt: Option, command: str = KIND, kind: str | None = None) -> inspect.Parameter:
    """One row of the option table as a Typer parameter of ``command`` (of ``kind``'s command, for help that
    differs by kind). A kind-specific option is hidden from the kinds that do not take it, but still accepted,
    so that `rnnshape gru --proj-size 64` gets the rule's own error and hint."""
    hint = {int: int, float: float, bool: bool, str: str, Ints: str}.get(opt.type, opt.type)
    text = opt.help.format(gates=" ".join(gate_names(kind))) if kind else opt.help
    shown = opt.shown_default
    if shown is None and opt.default is not None and opt.type is not bool:
        shown = getattr(opt.default, "value", opt.default)
    if shown is not None:  # one style for every default, stated or derived: [default: 10, or max(lengths)]
        text += f" \\[default: {shown}]"
    extra: dict = {"show_default": False}
    default = ",".join(map(str, opt.default)) if isinstance(opt.default, tuple) else opt.default
    if opt.type is Ints and isinstance(default, int):
        default = str(default)
    if opt.negate:  # the flag turns the option off (--no-bias is bias=False): Typer's flags only turn on
        default, extra["callback"] = False, _switched_off
    if opt.completions:
        extra["autocompletion"] = lambda: list(opt.completions)
    elif opt.name == "gate" and kind:  # the closed choice differs by kind: lstm i f g o c h, gru r z n h
        extra["autocompletion"] = lambda: list(gate_names(kind))
    info = typer.Option(default, *opt.flags, help=text, rich_help_panel=opt.panel, metavar=opt.metavar,
                        hidden=kind is not None and not opt.takes(kind), **extra)
    return inspect.Parameter(opt.name, inspect.Parameter.KEYWORD_ONLY, default=info,
                             annotation=Optional[hint] if opt.optional else hint)


def _switched_off(given: bool) -> bool:
    return not given


def signature(command: str, kind: str | None = None, leading: tuple[inspect.Parameter, ...] = (), *,
              configuration: bool = True) -> inspect.Signature:
    """A command's Typer signature: ``ctx``, then ``leading`` (its own arguments), then its rows of the table;
    ``configuration=False`` leaves out the Spec's options (compare and sweep read those as words)."""
    ctx = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    rows = (o for o in for_command(command) if configuration or o.role != "spec")
    return inspect.Signature([ctx, *leading, *(parameter(o, command, kind) for o in rows)], return_annotation=int)


def command_for(kind: Kind):
    """The Typer command of one kind; its parameters are the option table's rows for the kind commands."""

    def command(ctx: typer.Context, **params) -> int:
        return run_kind(kind, ctx, params)

    command.__signature__ = signature(KIND, kind.value)
    command.__doc__ = (
        f"Build {kind.info.title}, run a dummy batch through it, and show its parameters, tensor shapes, "
        f"counts and forward time.\n\nExamples:\n" + "\n".join("  " + e for e in EXAMPLES[kind.value])
    )
    return command


def run_kind(kind: Kind, ctx: typer.Context, o: dict) -> int:
    spec = spec_from_params(kind, o)
    typed = [n for n in given_flags(ctx) if n != "check"]
    untimed = modes.untimed(time=o["time"], dry_run=o["dry_run"], meta=spec.device == "meta")
    redundant = modes.ignored(typed, check=o["check"] is not None, code=o["code"], untimed=untimed, name=cli_name)
    if o["check"] is not None:
        from rnnshape.cli.inspect import check_checkpoint

        warn(redundant)
        return check_checkpoint(spec, o["check"], (ctx.obj or {}).get("prefix"), o["json"])
    modes.refuse_with_code(code=o["code"], json=o["json"],
                           extras=[n for n in ("explain", "diagram", "svg", "html") if o[n]])
    explain_focus = _focus(o)
    out = Output(json=o["json"], svg=o["svg"], html=o["html"])
    out.check(exported="the tables")
    check_run_bounds(o["min_time"], o["threads"])
    warn(redundant)  # only once every contradiction has been refused
    if o["code"]:
        from rnnshape.views.code import snippet

        emit(snippet(spec))
        return 0
    run = dict(time=o["time"], min_time=o["min_time"], threads=o["threads"], check_flops=o["check_flops"],
               backward=o["backward"], vs_loop=o["vs_loop"], deploy=o["deploy"], note=output.note)
    views = dict(explain=o["explain"], diagram=o["diagram"], explain_focus=explain_focus, onnx=o["onnx"])
    plain = (o["dry_run"] or o["json"] or not o["live"] or o["explain"] or o["diagram"] or o["svg"] or o["html"]
             or o["deploy"] or o["onnx"])
    if not plain and _live(spec, run):
        return 0
    from rnnshape.api import analyze

    report = analyze(spec, dry_run=o["dry_run"], **run)
    warn(report.warnings)
    out.print(json=lambda: _json(report, **views), rich=lambda: _tables(report, **views))
    return 0


def _focus(o: dict):
    """--layer/--reverse/--gate narrow --explain; alone they would do nothing, so they ask for it."""
    if not (o["explain"] or o["layer"] is not None or o["reverse"] or o["gate"] is not None):
        return None  # no explanation asked: the explain views stay unimported (start-up, issue 21)
    from rnnshape.views.explain import Focus

    f = Focus(o["layer"], o["reverse"], o["gate"])
    if f.active and not o["explain"]:
        name = "layer" if o["layer"] is not None else ("reverse" if o["reverse"] else "gate")
        raise UsageError(field=name, message="{%s} focuses {explain=True}, which was not given (got {%s} without "
                         "{explain=True})" % (name, name), hint="add {explain=True}" + (
                             "; for the number of layers use {num_layers}" if name == "layer" else ""))
    return f


def _json(report, *, explain: bool, diagram: bool, explain_focus, onnx: bool = False) -> str:
    from rnnshape.render.jsonout import dumps, report_dict

    doc = report_dict(report)
    if explain or diagram:
        from rnnshape.render.explain import json_extras

        doc.update(json_extras(report.prediction, explain=explain, diagram=diagram, explain_focus=explain_focus))
    if onnx:  # --deploy's "onnx" (read back from a real export) wins over the prediction
        from rnnshape.model.deploy import predicted_view
        from rnnshape.render.deploy import view_dict

        doc.setdefault("onnx", view_dict(predicted_view(report.prediction.spec.modules())))
    return dumps(doc)


def _tables(report, *, explain: bool, diagram: bool, explain_focus, onnx: bool = False):
    from rnnshape.render.tables import render

    renderable = render(report)
    if explain or diagram:
        from rnnshape.render.explain import with_views

        renderable = with_views(renderable, report.prediction, explain=explain, diagram=diagram,
                                explain_focus=explain_focus)
    if onnx:
        from rich.console import Group
        from rich.text import Text

        from rnnshape.model.deploy import predicted_view
        from rnnshape.render.deploy import onnx_view

        renderable = Group(renderable, Text(), onnx_view(predicted_view(report.prediction.spec.modules())))
    return renderable


def spec_from_params(kind: Kind, params: dict):
    """A command's parsed options (the table's names) -> the Spec; options that are not the spec's
    (``json``, ``min_time`` ...) are ignored here, so `compare` and `sweep` can pass a whole context."""
    given = {o.name: params[o.name] for o in SPEC if o.name in params}
    for o in SPEC:
        if o.type is Ints and isinstance(given.get(o.name), str):
            given[o.name] = int_list(given[o.name], o.name)
    return make_spec(kind, **given)


def _live(spec, run: dict) -> bool:
    """On a terminal: the predicted tables at once, settled by torch's verdict (rnnshape.render.screen)."""
    from rnnshape.render import screen as live  # the live display

    env = output.env()
    console = env.live_console()
    if not live.wanted(console):
        return False
    # the predicted tables without importing the API: it loads while they show
    from rnnshape.model.predict import dry_report

    predicted = dry_report(spec)
    warn(predicted.warnings)
    with env.above(console):  # notes print above the live display, which a bare write to the terminal would tear
        report = live.show(predicted, lambda: _analyze(spec, **run), console,
                           timed=run["time"] and spec.device != "meta")
    warn(w for w in report.warnings if w not in predicted.warnings)
    return True


def _analyze(spec, **run):
    from rnnshape.api import analyze

    return analyze(spec, **run)


def kind_command(kind: str):
    """The click command of `rnnshape KIND`, built from the same function the app registers."""
    single = typer.Typer(context_settings={"help_option_names": ["-h", "--help"]})
    single.command(kind)(command_for(Kind(kind)))
    return typer.main.get_command(single)


def parse_kind_options(kind: str, tokens: list[str], within: str | None = None) -> tuple[dict, dict[str, str]]:
    """Parse ``tokens`` with the real `rnnshape KIND` command: (every parameter's value, {name: flag} of
    those the tokens set). Parse errors become UsageError, as on the kind command itself. ``within``
    (compare, sweep) names the command whose words these are: a stray word there is most often a mistyped
    or second kind, which lstm's "unexpected extra argument" and its --help would not explain."""
    command = kind_command(kind)
    try:
        ctx = command.make_context(kind, list(tokens), resilient_parsing=False, allow_extra_args=within is not None)
    except click_exceptions.UsageError as err:
        raise UsageError(usage_message(err, list(tokens)), hint=f"see 'rnnshape {kind} --help'") from None
    if ctx.args:
        word = ctx.args[0]
        kinds = ", ".join(k.value for k in Kind)
        if word.lower() in kinds.split(", "):
            raise UsageError(f"{within}: one configuration has one kind (got {word!r} after {kind})",
                             hint=f"to set kinds side by side: rnnshape compare {kind} {word.lower()}")
        raise UsageError(f"{within}: {word!r} is not a kind ({kinds}) nor an option's value "
                         f"(got {' '.join(ctx.args)!r})", hint=f"the kinds are {kinds}; quote a kind with its "
                         "options: 'lstm --layers 2'")
    return dict(ctx.params), given_flags(ctx)


def register(app: typer.Typer) -> None:
    for kind in Kind:
        app.command(kind.value, cls=Command, epilog=exit_codes(kind.value))(command_for(kind))

