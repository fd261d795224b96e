"""The rnn / lstm / gru commands: their options, the Spec they build, and how the result is shown.

Thin, like all of the CLI: options become a Spec (rules live in rnnshape.model.rules), rnnshape.api returns a
Report, a renderer prints it. torch is never imported here at module level.
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from rnnshape.errors import UsageError
from rnnshape.model.spec import Dtype, InitState, Kind, Nonlinearity, make_spec
from rnnshape.run.measure import DEFAULT_MIN_TIME

_EXAMPLES = {"--lengths": "10,7,3", "--input-shape": "10,3,100", "--hidden-size": "30,20"}


def _int_list(text: str, flag: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise UsageError(
            f"{flag} must be an integer or a comma-separated list of integers (got {text!r})",
            hint=f"for example {flag} {_EXAMPLES.get(flag, '30,20')}",
        ) from None
    return values


HELP_MODEL = "Model"
HELP_INPUT = "Input"
HELP_RUN = "Run"
HELP_OUTPUT = "Output"


def _command(kind: Kind):
    def command(
        ctx: typer.Context,
        input_size: Annotated[int, typer.Option("--input-size", "-i", help="H_in: features per time step.",
                                                rich_help_panel=HELP_MODEL)] = 100,
        hidden_size: Annotated[str, typer.Option("--hidden-size", "-H", metavar="INT[,INT...]",
                                                 help="H. A list stacks modules (or cells with --cell): 30,20.",
                                                 rich_help_panel=HELP_MODEL)] = "20",
        layers: Annotated[Optional[int], typer.Option("--layers", "--num-layers", "-l",
                                                      help="num_layers (default 1).",
                                                      rich_help_panel=HELP_MODEL)] = None,
        bidirectional: Annotated[bool, typer.Option("--bidirectional", "-b", help="Two directions (D=2).",
                                                    rich_help_panel=HELP_MODEL)] = False,
        proj_size: Annotated[int, typer.Option("--proj-size", help="LSTM only: project h to this width.",
                                               rich_help_panel=HELP_MODEL)] = 0,
        no_bias: Annotated[bool, typer.Option("--no-bias", help="bias=False.", rich_help_panel=HELP_MODEL)] = False,
        batch_first: Annotated[bool, typer.Option("--batch-first", help="Input and output are (N, L, ·).",
                                                  rich_help_panel=HELP_MODEL)] = False,
        dropout: Annotated[float, typer.Option("--dropout", help="Between layers (train mode only).",
                                               rich_help_panel=HELP_MODEL)] = 0.0,
        nonlinearity: Annotated[Optional[Nonlinearity], typer.Option("--nonlinearity",
                                                                     help="RNN only (default tanh).",
                                                                     rich_help_panel=HELP_MODEL)] = None,
        cell: Annotated[bool, typer.Option("--cell", help="Use the Cell module, looped over the time steps.",
                                           rich_help_panel=HELP_MODEL)] = False,
        seq_len: Annotated[Optional[int], typer.Option("--seq-len", "-L", help="L (default 10, or max(lengths)).",
                                                       rich_help_panel=HELP_INPUT)] = None,
        batch: Annotated[Optional[int], typer.Option("--batch", "-N", help="N (default 3, or the number of lengths).",
                                                     rich_help_panel=HELP_INPUT)] = None,
        unbatched: Annotated[bool, typer.Option("--unbatched", help="2-D input, no batch dimension.",
                                                rich_help_panel=HELP_INPUT)] = False,
        lengths: Annotated[Optional[str], typer.Option("--lengths", metavar="INT,INT...",
                                                       help="Variable lengths, run as a PackedSequence.",
                                                       rich_help_panel=HELP_INPUT)] = None,
        input_shape: Annotated[Optional[str], typer.Option(
            "--input-shape", metavar="INT,INT[,INT]",
            help="The tensor you have: rnnshape says how torch reads it (which dim is time, which batch) "
                 "and the fix when it does not fit. Sets --seq-len and --batch.",
            rich_help_panel=HELP_INPUT)] = None,
        init_state: Annotated[InitState, typer.Option("--init-state", help="Pass h_0/c_0 explicitly, or not.",
                                                      rich_help_panel=HELP_INPUT)] = InitState.NONE,
        device: Annotated[str, typer.Option("--device", metavar="auto|cpu|cuda|cuda:N|meta",
                                            help="meta runs torch without allocating memory.",
                                            rich_help_panel=HELP_RUN)] = "cpu",
        dtype: Annotated[Dtype, typer.Option("--dtype", rich_help_panel=HELP_RUN)] = Dtype.FLOAT32,
        no_time: Annotated[bool, typer.Option("--no-time", help="Build and run, but do not time.",
                                              rich_help_panel=HELP_RUN)] = False,
        min_time: Annotated[float, typer.Option("--min-time", metavar="SECONDS",
                                                help="Measure at least this long (more is more precise).",
                                                rich_help_panel=HELP_RUN)] = DEFAULT_MIN_TIME,
        threads: Annotated[Optional[int], typer.Option("--threads", help="torch threads (default: torch's).",
                                                       rich_help_panel=HELP_RUN)] = None,
        backward: Annotated[bool, typer.Option("--backward", help="Also time forward+backward (a training step).",
                                               rich_help_panel=HELP_RUN)] = False,
        vs_loop: Annotated[bool, typer.Option("--vs-loop", help="Also time the same weights as a per-step cell loop.",
                                              rich_help_panel=HELP_RUN)] = False,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Answer from the predictor, without torch.",
                                              rich_help_panel=HELP_RUN)] = False,
        check_flops: Annotated[bool, typer.Option(
            "--check-flops",
            help="Cross-check the analytic FLOPs with torch's FlopCounterMode on a meta copy. rnnshape counts "
                 "analytically because dispatch-based counters read 0 for CPU LSTMs, whose fused oneDNN "
                 "kernel hides the matmuls.",
            rich_help_panel=HELP_RUN)] = False,
        deploy: Annotated[bool, typer.Option("--deploy", help="Also run it deployed: bfloat16, float16, int8 "
                                             "(quantize_dynamic), torch.compile, ONNX Runtime; each against "
                                             "eager: difference, weight bytes, forward time.",
                                             rich_help_panel=HELP_RUN)] = False,
        json_out: Annotated[bool, typer.Option("--json", "-j", help="One JSON document on stdout.",
                                               rich_help_panel=HELP_OUTPUT)] = False,
        code: Annotated[bool, typer.Option("--code", help="Print the PyTorch code for this configuration.",
                                           rich_help_panel=HELP_OUTPUT)] = False,
        check: Annotated[Optional[str], typer.Option("--check", metavar="FILE",
                                                     help="Compare with the recurrent module in this checkpoint "
                                                          "and say why it would not load.",
                                                     rich_help_panel=HELP_OUTPUT)] = None,
        explain: Annotated[bool, typer.Option("--explain", help="The equations, with every term's shape and rows.",
                                              rich_help_panel=HELP_OUTPUT)] = False,
        diagram: Annotated[bool, typer.Option("--diagram", help="Draw the network unrolled over time.",
                                              rich_help_panel=HELP_OUTPUT)] = False,
        svg: Annotated[Optional[str], typer.Option("--svg", metavar="FILE", help="Also save the output as SVG.",
                                                   rich_help_panel=HELP_OUTPUT)] = None,
        html: Annotated[Optional[str], typer.Option("--html", metavar="FILE", help="Also save the output as HTML.",
                                                    rich_help_panel=HELP_OUTPUT)] = None,
        no_live: Annotated[bool, typer.Option("--no-live", help="Wait for torch, then print once (on a terminal "
                                              "the predicted tables otherwise show at once).",
                                              rich_help_panel=HELP_OUTPUT)] = False,
    ) -> int:
        spec = spec_from_options(
            kind, input_size=input_size, hidden_size=hidden_size, layers=layers, bidirectional=bidirectional,
            proj_size=proj_size, no_bias=no_bias, batch_first=batch_first, dropout=dropout,
            nonlinearity=nonlinearity, cell=cell, seq_len=seq_len, batch=batch, unbatched=unbatched,
            lengths=lengths, init_state=init_state, dtype=dtype, device=device, input_shape=input_shape,
        )
        _no_effect(ctx, check=check, code=code, no_time=no_time, dry_run=dry_run, meta=spec.device == "meta")
        if check is not None:
            from rnnshape.cli.inspect_run import check as check_file

            return check_file(spec, check, (ctx.obj or {}).get("prefix"), json_out)
        if code and json_out:
            raise UsageError("--code and --json cannot be combined: each prints its own document on stdout")
        _check_extras(code=code, json_out=json_out, explain=explain, diagram=diagram, svg=svg, html=html)
        check_run_options(min_time, threads)
        if code:
            from rnnshape.views.code import snippet

            _emit(snippet(spec))
            return 0
        from rnnshape.api import analyze

        options = dict(time=not no_time, min_time=min_time, threads=threads, check_flops=check_flops,
                       backward=backward, vs_loop=vs_loop, deploy=deploy)
        plain = dry_run or json_out or no_live or explain or diagram or svg or html or deploy
        if not plain and _live(spec, options):
            return 0
        report = analyze(spec, dry_run=dry_run, **options)
        _warn(report.warnings)
        if json_out:
            from rnnshape.render.jsonout import dumps, report_dict

            doc = report_dict(report)
            if explain or diagram:
                from rnnshape.render.views import json_extras

                doc.update(json_extras(report.prediction, explain=explain, diagram=diagram))
            _emit(dumps(doc))
        else:
            from rich.console import Console

            from rnnshape.render.tables import render

            console = Console()
            renderable = render(report)
            if explain or diagram:
                from rnnshape.render.views import with_views

                renderable = with_views(renderable, report.prediction, explain=explain, diagram=diagram)
            console.print(renderable)
            _export(renderable, svg=svg, html=html, width=console.width)
        return 0

    what = {"rnn": "an Elman RNN (nn.RNN)", "lstm": "an LSTM (nn.LSTM)", "gru": "a GRU (nn.GRU)"}[kind.value]
    command.__doc__ = (
        f"Build {what}, run a dummy batch through it, and show its parameters, tensor shapes, "
        f"counts and forward time."
    )
    return command


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
        hidden_size=_int_list(hidden_size, "--hidden-size"),
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
        lengths=_int_list(lengths, "--lengths") if lengths is not None else None,
        init_state=init_state,
        dtype=dtype,
        device=device,
        input_shape=_int_list(input_shape, "--input-shape") if input_shape is not None else None,
    )


def check_run_options(min_time: float, threads: int | None) -> None:
    from rnnshape.run.measure import check_bounds

    check_bounds(min_time, threads)


def parse_kind_options(kind: str, tokens: list[str]) -> tuple[dict, dict[str, str]]:
    """Parse ``tokens`` with the real `rnnshape KIND` command: (every parameter's value, {name: flag} of
    those the tokens set). Parse errors become UsageError, as on the kind command itself."""
    from rnnshape.cli.app import _usage_message, app
    from rnnshape.cli.click_compat import ParameterSource
    from rnnshape.cli.click_compat import exceptions as click_exceptions

    command = typer.main.get_command(app).commands[kind]
    try:
        ctx = command.make_context(kind, list(tokens), resilient_parsing=False)
    except click_exceptions.UsageError as err:
        raise UsageError(_usage_message(err, list(tokens)), hint=f"see 'rnnshape {kind} --help'") from None
    flags = {p.name: next((o for o in p.opts if o.startswith("--")), p.opts[0]) for p in command.params if p.opts}
    given = {name: flags.get(name, name) for name in ctx.params
             if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE}
    return dict(ctx.params), given


def given_flags(ctx: typer.Context) -> dict[str, str]:
    """{parameter name: its flag as declared} for the options typed on the command line."""
    from rnnshape.cli.click_compat import ParameterSource

    return {p.name: next((o for o in p.opts if o.startswith("--")), p.opts[0]) for p in ctx.command.params
            if p.opts and ctx.get_parameter_source(p.name) is ParameterSource.COMMANDLINE}


def _no_effect(ctx: typer.Context, *, check, code, no_time, dry_run, meta) -> None:
    """An option the chosen mode would silently ignore is a usage error, named."""
    flag = {name: f for name, f in given_flags(ctx).items() if name != "check"}
    output = {"code", "dry_run", "explain", "diagram", "svg", "html", "no_time", "min_time", "threads",
              "backward", "vs_loop", "check_flops", "no_live", "deploy"}
    timing = {"min_time", "threads", "backward", "vs_loop"}
    for name in flag:
        if check is not None and name in output:
            raise UsageError(f"{flag[name]} has no effect with --check, which compares shapes and runs nothing",
                             hint=f"drop {flag[name]}")
        if code and name in timing | {"check_flops", "no_live", "deploy"}:
            raise UsageError(f"{flag[name]} has no effect with --code, which prints code and runs nothing",
                             hint=f"drop {flag[name]}")
        if (no_time or dry_run or meta) and name in timing:
            mode = "--no-time" if no_time else ("--dry-run" if dry_run else "--device meta")
            raise UsageError(f"{flag[name]} has no effect with {mode}: nothing is timed", hint=f"drop {flag[name]}")


def _check_extras(*, code, json_out, explain, diagram, svg, html) -> None:
    given = [flag for flag, on in (("--explain", explain), ("--diagram", diagram), ("--svg", svg),
                                   ("--html", html)) if on]
    if code and given:
        raise UsageError(f"--code cannot be combined with {given[0]}: --code prints only the code")
    files = [(flag, v) for flag, v in (("--svg", svg), ("--html", html)) if v is not None]
    if json_out and files:
        raise UsageError(f"{files[0][0]} cannot be combined with --json: it saves what the terminal shows "
                         f"(got {files[0][0]} {files[0][1]})", hint="drop --json to export the tables")
    if files:
        from rnnshape.render.export import check_path  # Rich's export machinery, only when exporting

        for flag, path in files:
            check_path(flag, path)


def _export(renderable, *, svg: str | None, html: str | None, width: int) -> None:
    from rnnshape.render.export import export

    for path, fmt in ((svg, "svg"), (html, "html")):
        if path:
            export(renderable, path, width=width, fmt=fmt)
            sys.stderr.write(f"rnnshape: saved {path}\n")


def _live(spec, options: dict) -> bool:
    """On a terminal: the predicted tables at once, settled by torch's verdict (rnnshape.render.live)."""
    from rich.console import Console

    from rnnshape.api import analyze
    from rnnshape.render import live

    console = Console()
    if not live.wanted(console):
        return False
    predicted = analyze(spec, dry_run=True)
    _warn(predicted.warnings)
    report = live.show(predicted, lambda: analyze(spec, **options), console,
                       timed=options["time"] and spec.device != "meta")
    _warn(w for w in report.warnings if w not in predicted.warnings)
    return True


def _warn(warnings) -> None:
    for w in warnings:
        sys.stderr.write(f"rnnshape: warning: {w}\n")


def _emit(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    for kind in Kind:
        app.command(kind.value)(_command(kind))
