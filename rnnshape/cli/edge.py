"""The CLI's one edge: every failure becomes one line on stderr and an exit status (CONTRACT.md), every help
ends with those statuses, and what was typed is read here (integer lists, which options were given).

Our domain errors carry their status and are worded with the command line's flags; click's parse errors are
rewritten in rnnshape's formula (the flag, the rule, the value); a closed pipe ends quietly; anything else is a
bug, shown as one line unless RNNSHAPE_DEBUG is set.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys

import typer
from typer import Abort
from typer.core import TyperCommand, TyperGroup

from rnnshape.cli import output
from rnnshape.errors import EnvironmentUnfit, RnnshapeError, UsageError, escape
from rnnshape.model.options import OPTIONS, cli_name

try:  # Click as Typer ships it: vendored as typer._click since Typer 0.26, the click package before that
    from typer._click import exceptions as click_exceptions
    from typer._click.core import ParameterSource
    from typer._click.shell_completion import CompletionItem
except ImportError:  # pragma: no cover - only with Typer < 0.26 (a machine's own Typer on PYTHONPATH)
    from click import exceptions as click_exceptions
    from click.core import ParameterSource
    from click.shell_completion import CompletionItem

__all__ = ["CompletionItem", "click_exceptions"]

INTERRUPTED = 130
# What each command's exit status means (CONTRACT.md, "Exit codes"); every help ends with its own.
_ENVIRONMENT = "3    it cannot run here: no such device, not enough memory, no torch"
_INTERNAL = "an internal error (a bug)"
EXIT_CODES = {
    "kind": ("0    success; with --check: the checkpoint would load",
             f"1    with --check: it would not load; or {_INTERNAL}",
             "2    a usage error: a value, a combination, an unreadable --check file",
             _ENVIRONMENT, "130  interrupted"),
    "compare": ("0    success", f"1    {_INTERNAL}", "2    a usage error: a value, a combination",
                _ENVIRONMENT, "130  interrupted: what was measured is shown"),
    "inspect": ("0    read (also when it holds no recurrent module); with --against: it would load",
                f"1    with --against: it would not load; or {_INTERNAL}",
                "2    a usage error, or a file that is not a readable checkpoint",
                "3    an optional extra the file needs is not installed", "130  interrupted"),
    "trace": ("0    traced", f"1    your model's forward raised (explained above); or {_INTERNAL}",
              "2    a usage error: a target or --input that cannot be read", _ENVIRONMENT, "130  interrupted"),
}
EXIT_CODES["sweep"] = EXIT_CODES["compare"]
EXIT_CODES["why"] = ("0    explained", "1    not a message rnnshape knows (rnnshape trace sees the tensors)",
                     "2    a usage error: no message", "130  interrupted")


def exit_codes(command: str) -> str | None:
    """The help's last words: what each exit status of ``command`` means."""
    codes = EXIT_CODES.get("kind" if command in ("rnn", "lstm", "gru") else command)
    return None if codes is None else "Exit codes:\n" + "\n".join(codes)


_TRAILING = re.compile(r"(?:\s|\x1b\[[0-9;]*m)+$")  # a line's end: spaces, and the colour codes among them
_CODE = re.compile(r"\x1b\[[0-9;]*m")


def plain_help(show) -> None:
    """Help on a terminal as Rich draws it; piped or redirected, the same text without trailing spaces."""
    env = output.env()
    if env.stdout_isatty:
        show()
        return
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        show()
    # Spaces before a line's end, or before the colour codes that end it (FORCE_COLOR keeps them when piped).
    env.emit("".join(_TRAILING.sub(lambda end: "".join(_CODE.findall(end[0])), line) + "\n"
                     for line in buffer.getvalue().splitlines()))


class Command(TyperCommand):
    """Every command: its help without trailing spaces when piped."""

    def format_help(self, ctx, formatter):
        plain_help(lambda: super(Command, self).format_help(ctx, formatter))


def _quiet(ctx, param, value: bool) -> bool:
    if value:
        output.configure(quiet=True)
    return value


def json_option(help: str = "One JSON document on stdout."):
    """--json/-j with the option table's flags, for the commands outside the table (inspect, trace, why)."""
    return typer.Option(*OPTIONS["json"].flags, help=help)


def quiet_option():
    """--quiet/-q as the option table declares it, for a command that does not take it as a parameter."""
    from typer.core import TyperOption

    opt = OPTIONS["quiet"]
    return TyperOption(param_decls=[opt.name, *opt.flags], is_flag=True, default=False, expose_value=False,
                       callback=_quiet, help=opt.help, rich_help_panel=opt.panel)


class Group(TyperGroup):
    """Every exit goes through :func:`guarded`; command names are case-insensitive (rnnshape LSTM); every
    command takes --quiet/-q (the table's row, added here to those that do not declare it)."""

    def get_command(self, ctx, cmd_name: str):
        command = super().get_command(ctx, cmd_name) or super().get_command(ctx, cmd_name.lower())
        if command is not None and not any(p.name == "quiet" for p in command.params):
            command.params.append(quiet_option())
        return command

    def format_help(self, ctx, formatter):
        plain_help(lambda: super(Group, self).format_help(ctx, formatter))

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Typer turns it into a silent exit 130: say why first
            output.say("interrupted")
            raise

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        output.configure(quiet=False)  # each run starts loud; its --quiet/-q says otherwise
        code = guarded(
            lambda: super(Group, self).main(argv, prog_name or "rnnshape", complete_var, standalone_mode=False,
                                            **extra),
            argv,
            set(self.commands),
        )
        if standalone_mode:
            sys.exit(code)
        return code


def error(err: RnnshapeError | Exception | str, hint: str | None = None) -> None:
    """One line on stderr (and a hint), through the output object; a structured error names its options as
    the command line's flags."""
    if isinstance(err, RnnshapeError):
        message, hint = err.worded(cli_name), hint or err.worded_hint(cli_name)
    else:
        message = getattr(err, "message", None) or str(err)
    output.error(message, hint)


def guarded(fn, argv: list[str], commands: set[str]) -> int:
    try:
        rv = fn()
        return rv if isinstance(rv, int) else 0
    except RnnshapeError as err:
        error(err)
        return err.exit_code
    except click_exceptions.NoArgsIsHelpError:
        return 0  # `rnnshape` alone: the help has been printed, and that is the answer
    except click_exceptions.UsageError as err:
        cmd = "rnnshape" + (f" {argv[0]}" if argv and argv[0] in commands else "")
        error(usage_message(err, argv), hint=f"see '{cmd} --help'")
        return 2
    except click_exceptions.ClickException as err:
        error(err)
        return err.exit_code
    except (KeyboardInterrupt, Abort):
        output.say("interrupted")
        return INTERRUPTED
    except BrokenPipeError:
        return quiet_pipe()
    except SystemExit as stop:
        if stop.code == 1 and _stdout_is_devnull():  # Rich met a closed pipe: it points stdout at devnull, exits 1
            return quiet_pipe()
        raise
    except Exception as err:  # a bug: one line, and the way to see more
        if os.environ.get("RNNSHAPE_DEBUG"):
            raise
        if (unfit := torch_unfit(err)) is not None:  # not a bug: this Python has no working torch (exit 3)
            error(unfit)
            return unfit.exit_code
        error(
            f"internal error: {type(err).__name__}: {err}",
            hint="this is a bug in rnnshape; please report it. Set RNNSHAPE_DEBUG=1 for the traceback",
        )
        return 1


def usage_message(err: click_exceptions.UsageError, argv: list[str]) -> str:
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


def _raw_value(argv: list[str], opts: list[str]) -> str | None:
    value = None
    for i, tok in enumerate(argv):
        for opt in opts:
            if tok == opt and i + 1 < len(argv):
                value = argv[i + 1]
            elif tok.startswith(opt + "=") and opt.startswith("--"):
                value = tok[len(opt) + 1 :]
    return value


def _stdout_is_devnull() -> bool:
    try:
        return os.path.samestat(os.fstat(sys.stdout.fileno()), os.stat(os.devnull))
    except (OSError, ValueError):
        return False


def quiet_pipe() -> int:
    """The reader went away (`rnnshape lstm | head -1`): stop without a word."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 0


_EXAMPLES = {"lengths": "10,7,3", "input_shape": "10,3,100", "hidden_size": "30,20"}


def int_list(text: str, name: str) -> tuple[int, ...]:
    """``"30,20"`` -> ``(30, 20)``; anything else is a usage error about the option ``name``.

    >>> int_list("30, 20", "hidden_size")
    (30, 20)
    """
    parts = [p.strip() for p in text.split(",")]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise UsageError(field=name, rule="must be an integer or a comma-separated list of integers",
                         got=escape(repr(text)),
                         hint="for example {%s=%s}" % (name, _EXAMPLES.get(name, "30,20"))) from None


def _flag(param) -> str:
    return next((o for o in param.opts if o.startswith("--")), param.opts[0])  # as declared: --layers


def given_flags(ctx: typer.Context) -> dict[str, str]:
    """{parameter name: its flag as declared} for the options typed on the command line."""
    return {p.name: _flag(p) for p in ctx.command.params
            if p.opts and ctx.get_parameter_source(p.name) is ParameterSource.COMMANDLINE}


# The CPU build: a bare `pip install torch` on Linux pulls the multi-GB CUDA build (README, "Install").
TORCH_INSTALL = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


def torch_unfit(err: BaseException) -> EnvironmentUnfit | None:
    """A missing or broken torch met by a command that runs it: the environment's fault, with the install command.

    Missing: the ImportError names torch. Broken: ``import torch`` itself raised (a missing shared library, a
    half-removed install), seen as a frame of torch's own ``__init__`` in the traceback.

    >>> torch_unfit(ModuleNotFoundError("No module named 'torch'", name="torch")).exit_code
    3
    >>> torch_unfit(ValueError("bad")) is None
    True
    """
    tb = err.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "<module>" and code.co_filename.endswith(os.path.join("torch", "__init__.py")):
            from rnnshape.errors import one_line

            return EnvironmentUnfit(f"torch is installed but fails to import ({one_line(err)}); reinstall it: "
                                    f"pip uninstall -y torch && {TORCH_INSTALL}",
                                    hint="--dry-run answers without torch")
        tb = tb.tb_next
    if isinstance(err, ModuleNotFoundError) and err.name == "torch":
        return EnvironmentUnfit(f"this needs torch, which is not installed in this Python: {TORCH_INSTALL}",
                                hint="that is the CPU build, tested with torch 2.13; --dry-run answers without torch")
    return None
