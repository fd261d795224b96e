"""The rnn / lstm / gru commands: options become a Spec, rnnshape.api returns a Report, a renderer prints it.

Thin: the options are declared in rnnshape.cli.options, the value rules live in rnnshape.model.rules and
the combination rules in rnnshape.model.modes. torch is never imported here at module level.
"""

from __future__ import annotations

import typer

from rnnshape.cli import options
from rnnshape.cli.click_compat import exceptions as click_exceptions
from rnnshape.cli.edge import usage_message
from rnnshape.cli.output import Output, emit, warn
from rnnshape.cli.parse import given_flags, int_list
from rnnshape.errors import UsageError
from rnnshape.model import modes
from rnnshape.model.enums import Dtype, InitState, Kind
from rnnshape.model.rules import check_run_bounds
from rnnshape.model.spec import make_spec
from rnnshape.run.measure import DEFAULT_MIN_TIME


def command_for(kind: Kind):
    """The Typer command of one kind; its parameters are the options (rnnshape.cli.options)."""

    def command(
        ctx: typer.Context,
        input_size: options.InputSize = 100,
        hidden_size: options.HiddenSize = "20",
        layers: options.Layers = None,
        bidirectional: options.Bidirectional = False,
        proj_size: int = 0,
        no_bias: options.NoBias = False,
        batch_first: options.BatchFirst = False,
        dropout: options.Dropout = 0.0,
        nonlinearity: str | None = None,
        cell: options.Cell = False,
        seq_len: options.SeqLen = None,
        batch: options.Batch = None,
        unbatched: options.Unbatched = False,
        lengths: options.Lengths = None,
        input_shape: options.InputShape = None,
        init_state: options.InitStateChoice = InitState.NONE,
        device: options.Device = "cpu",
        dtype: options.DtypeChoice = Dtype.FLOAT32,
        no_time: options.NoTime = False,
        min_time: options.MinTime = DEFAULT_MIN_TIME,
        threads: options.Threads = None,
        backward: options.Backward = False,
        vs_loop: options.VsLoop = False,
        dry_run: options.DryRun = False,
        check_flops: options.CheckFlops = False,
        deploy: options.Deploy = False,
        json_out: options.JsonOut = False,
        code: options.Code = False,
        check: options.Check = None,
        explain: options.Explain = False,
        layer: options.ExplainLayer = None,
        reverse: options.ExplainReverse = False,
        gate: options.ExplainGate = None,
        diagram: options.Diagram = False,
        svg: options.Svg = None,
        html: options.Html = None,
        no_live: options.NoLive = False,
    ) -> int:
        given = {name: value for name, value in locals().items() if name not in ("ctx", "kind")}
        return run_kind(kind, ctx, given)

    command.__annotations__.update(options.kind_specific(kind.info.takes_proj_size, kind.info.takes_nonlinearity))
    command.__doc__ = (
        f"Build {kind.info.title}, run a dummy batch through it, and show its parameters, tensor shapes, "
        f"counts and forward time."
    )
    return command


def run_kind(kind: Kind, ctx: typer.Context, o: dict) -> int:
    spec = spec_from_options(kind, **o)
    typed = {n: f for n, f in given_flags(ctx).items() if n != "check"}
    untimed = modes.untimed(no_time=o["no_time"], dry_run=o["dry_run"], meta=spec.device == "meta")
    redundant = modes.ignored(typed, check=o["check"] is not None, code=o["code"], untimed=untimed)
    if o["check"] is not None:
        from rnnshape.cli.inspect import check_checkpoint

        warn(redundant)
        return check_checkpoint(spec, o["check"], (ctx.obj or {}).get("prefix"), o["json_out"])
    modes.refuse_with_code(code=o["code"], json=o["json_out"], extras={
        "--explain": o["explain"], "--diagram": o["diagram"], "--svg": o["svg"], "--html": o["html"]})
    explain_focus = _focus(o)
    out = Output(json=o["json_out"], svg=o["svg"], html=o["html"])
    out.check(exported="the tables")
    check_run_bounds(o["min_time"], o["threads"])
    warn(redundant)  # only once every contradiction has been refused
    if o["code"]:
        from rnnshape.views.code import snippet

        emit(snippet(spec))
        return 0
    from rnnshape.api import analyze

    run = dict(time=not o["no_time"], min_time=o["min_time"], threads=o["threads"], check_flops=o["check_flops"],
               backward=o["backward"], vs_loop=o["vs_loop"], deploy=o["deploy"], cli=True)
    views = dict(explain=o["explain"], diagram=o["diagram"], explain_focus=explain_focus)
    plain = (o["dry_run"] or o["json_out"] or o["no_live"] or o["explain"] or o["diagram"] or o["svg"] or o["html"]
             or o["deploy"])
    if not plain and _live(spec, run):
        return 0
    report = analyze(spec, dry_run=o["dry_run"], **run)
    warn(report.warnings)
    out.print(json=lambda: _json(report, **views), rich=lambda: _tables(report, **views))
    return 0


def _focus(o: dict):
    """--layer/--reverse/--gate narrow --explain; alone they would do nothing, so they ask for it."""
    from rnnshape.views.explain_focus import Focus

    f = Focus(o["layer"], o["reverse"], o["gate"])
    if f.active and not o["explain"]:
        flag = "--layer" if o["layer"] is not None else ("--reverse" if o["reverse"] else "--gate")
        raise UsageError(f"{flag} focuses --explain, which was not given (got {flag} without --explain)",
                         hint="add --explain; for the number of layers use --layers")
    return f


def _json(report, *, explain: bool, diagram: bool, explain_focus) -> str:
    from rnnshape.render.jsonout import dumps, report_dict

    doc = report_dict(report)
    if explain or diagram:
        from rnnshape.render.views import json_extras

        doc.update(json_extras(report.prediction, explain=explain, diagram=diagram, explain_focus=explain_focus))
    return dumps(doc)


def _tables(report, *, explain: bool, diagram: bool, explain_focus):
    from rnnshape.render.tables import render

    renderable = render(report)
    if explain or diagram:
        from rnnshape.render.views import with_views

        renderable = with_views(renderable, report.prediction, explain=explain, diagram=diagram,
                                explain_focus=explain_focus)
    return renderable


def spec_from_options(
    kind: Kind, *, input_size, hidden_size, layers, bidirectional, proj_size, no_bias, batch_first, dropout,
    nonlinearity, cell, seq_len, batch, unbatched, lengths, init_state, dtype, device, input_shape, **_other,
):
    """A kind command's parsed options (its parameter names) -> the Spec; options that are not the spec's
    (``--json``, ``--min-time`` ...) are ignored here, so `compare` and `sweep` can pass a whole context."""
    return make_spec(
        kind,
        cell=cell,
        input_size=input_size,
        hidden_size=int_list(hidden_size, "--hidden-size"),
        num_layers=layers,
        bidirectional=bidirectional,
        proj_size=proj_size,
        bias=not no_bias,
        batch_first=batch_first,
        dropout=dropout,
        nonlinearity=getattr(nonlinearity, "value", nonlinearity),  # an enum from Typer, a str from a context
        seq_len=seq_len,
        batch=batch,
        unbatched=unbatched,
        lengths=int_list(lengths, "--lengths") if lengths is not None else None,
        init_state=init_state,
        dtype=dtype,
        device=device,
        input_shape=int_list(input_shape, "--input-shape") if input_shape is not None else None,
    )


def _live(spec, run: dict) -> bool:
    """On a terminal: the predicted tables at once, settled by torch's verdict (rnnshape.render.live)."""
    from rich.console import Console

    from rnnshape.api import analyze
    from rnnshape.render import live

    console = Console()
    if not live.wanted(console):
        return False
    predicted = analyze(spec, dry_run=True, cli=True)
    warn(predicted.warnings)

    def note(text: str) -> None:  # above the live display, which a bare write to the terminal would tear
        console.print(f"rnnshape: note: {text}", style="yellow", markup=False, highlight=False)

    report = live.show(predicted, lambda: analyze(spec, note=note, **run), console,
                       timed=run["time"] and spec.device != "meta")
    warn(w for w in report.warnings if w not in predicted.warnings)
    return True


def kind_command(kind: str):
    """The click command of `rnnshape KIND`, built from the same function the app registers."""
    single = typer.Typer(context_settings={"help_option_names": ["-h", "--help"]})
    single.command(kind)(command_for(Kind(kind)))
    return typer.main.get_command(single)


def parse_kind_options(kind: str, tokens: list[str]) -> tuple[dict, dict[str, str]]:
    """Parse ``tokens`` with the real `rnnshape KIND` command: (every parameter's value, {name: flag} of
    those the tokens set). Parse errors become UsageError, as on the kind command itself."""
    command = kind_command(kind)
    try:
        ctx = command.make_context(kind, list(tokens), resilient_parsing=False)
    except click_exceptions.UsageError as err:
        raise UsageError(usage_message(err, list(tokens)), hint=f"see 'rnnshape {kind} --help'") from None
    return dict(ctx.params), given_flags(ctx)


def register(app: typer.Typer) -> None:
    for kind in Kind:
        app.command(kind.value)(command_for(kind))

