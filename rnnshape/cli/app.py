"""The application: the Typer app, its commands and the console-script entry point.

The commands live in their modules (kind: rnn, lstm, gru; multi: compare and sweep; inspect; trace) and never
import this one; every failure goes through rnnshape.cli.edge, and every help ends with its exit codes. Nothing
here imports torch at module level: --help, --version and shell completion (which re-imports this module on
every Tab) must stay fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from rnnshape import __version__
from rnnshape.cli import inspect, kind, multi, trace, why
from rnnshape.cli.edge import Command, Group, exit_codes

app = typer.Typer(
    cls=Group,
    name="rnnshape",
    help="See what a PyTorch RNN, LSTM or GRU does to your tensors: parameters, shapes, counts, time.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from rnnshape.cli.output import emit

        emit(f"rnnshape {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """See what a PyTorch RNN, LSTM or GRU does to your tensors: parameters, shapes, counts, time."""


kind.register(app)
multi.register(app)
inspect.register(app)
trace.register(app)
why.register(app)
for _info in app.registered_commands:  # help without trailing spaces when piped, ending with the exit codes
    _info.cls = Command if _info.cls in (None, typer.core.TyperCommand) else _info.cls
    _info.epilog = _info.epilog or exit_codes(_info.name or "")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point (``rnnshape``, ``python -m rnnshape``): the process is rnnshape's own."""
    import rnnshape.run

    rnnshape.run.FREEZE_AFTER_TORCH_IMPORT = True  # see rnnshape.run.build.load_torch
    return typer.main.get_command(app).main(argv, prog_name="rnnshape", standalone_mode=False)
