"""The command line. Thin: options become a Spec, a Report comes back, a renderer prints it.

The application, its one error edge (every failure becomes one line and an exit status) and the entry
point; the commands live in cli_kind (rnn, lstm, gru), cli_multi (compare, sweep) and cli_inspect. Only
the cli modules import Typer, and none imports torch at module level: --help, --version and shell
completion (which re-imports this module on every Tab) must stay fast.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from rnnshape import __version__
from rnnshape.cli.click_compat import exceptions as click_exceptions
from rnnshape.errors import RnnshapeError


class _Group(TyperGroup):
    """Every exit goes through one place: our errors and click's become one line and a status."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        code = _guarded(
            lambda: super(_Group, self).main(
                argv, prog_name or "rnnshape", complete_var, standalone_mode=False, **extra
            ),
            argv,
        )
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=_Group,
    name="rnnshape",
    help="See what a PyTorch RNN, LSTM or GRU does to your tensors: parameters, shapes, counts, time.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"rnnshape {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """See what a PyTorch RNN, LSTM or GRU does to your tensors: parameters, shapes, counts, time."""


def _error(err: RnnshapeError | Exception, hint: str | None = None) -> None:
    message = getattr(err, "message", None) or str(err)
    sys.stderr.write(f"rnnshape: error: {message}\n")
    hint = hint or getattr(err, "hint", None)
    if hint:
        sys.stderr.write(f"hint: {hint}\n")


def _guarded(fn, argv: list[str]) -> int:
    try:
        rv = fn()
        return rv if isinstance(rv, int) else 0
    except RnnshapeError as err:
        _error(err)
        return err.exit_code
    except click_exceptions.NoArgsIsHelpError:
        return 0  # `rnnshape` alone: the help has been printed, and that is the answer
    except click_exceptions.UsageError as err:
        cmd = "rnnshape" + (f" {argv[0]}" if argv and argv[0] in _commands() else "")
        _error(_usage_message(err, argv), hint=f"see '{cmd} --help'")
        return 2
    except click_exceptions.ClickException as err:
        _error(err)
        return err.exit_code
    except (KeyboardInterrupt, typer.Abort):
        sys.stderr.write("rnnshape: interrupted\n")
        return 130
    except BrokenPipeError:
        return _quiet_pipe()
    except Exception as err:  # a bug: one line, and the way to see more
        if os.environ.get("RNNSHAPE_DEBUG"):
            raise
        _error(
            f"internal error: {type(err).__name__}: {err}",
            hint="this is a bug in rnnshape; please report it. Set RNNSHAPE_DEBUG=1 for the traceback",
        )
        return 1


def _usage_message(err: click_exceptions.UsageError, argv: list[str]) -> str:
    """Click's parse errors in rnnshape's formula: the flag, the rule, the value."""
    param = getattr(err, "param", None)
    if isinstance(err, click_exceptions.MissingParameter):
        what = param.human_readable_name if param is not None else "an argument"
        return f"{argv[0] if argv else 'rnnshape'} needs {what} (got none)"
    if not isinstance(err, click_exceptions.BadParameter) or param is None or not param.opts:
        return err.format_message()
    flag = next((o for o in param.opts if o.startswith("--")), param.opts[0])  # as declared: --layers
    value = _raw_value(argv, param.opts)
    text = err.message
    if "valid int" in text:
        rule = "must be an integer"
    elif "valid number" in text or "valid float" in text:
        rule = "must be a number"
    elif "is not one of" in text:
        choices = text.split("is not one of", 1)[1].strip(" .").replace("'", "")
        rule = f"must be one of {choices}"
    else:
        rule = "is invalid: " + text.removeprefix("Value error, ")
    return f"{flag} {rule}" + (f" (got {value!r})" if value is not None else "")


def _commands() -> set[str]:
    return set(typer.main.get_command(app).commands)


def _raw_value(argv: list[str], opts: list[str]) -> str | None:
    value = None
    for i, tok in enumerate(argv):
        for opt in opts:
            if tok == opt and i + 1 < len(argv):
                value = argv[i + 1]
            elif tok.startswith(opt + "=") and opt.startswith("--"):
                value = tok[len(opt) + 1 :]
    return value


def _quiet_pipe() -> int:
    """The reader went away (`rnnshape lstm | head -1`): stop without a word."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 0


from rnnshape.cli import inspect as cli_inspect
from rnnshape.cli import kind as cli_kind
from rnnshape.cli import multi as cli_multi  # noqa: E402  (they register on `app`)
from rnnshape.cli import trace as cli_trace

cli_kind.register(app)
cli_multi.register(app)
cli_inspect.register(app)
cli_trace.register(app)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    return typer.main.get_command(app).main(argv, prog_name="rnnshape", standalone_mode=False)
