"""The CLI's one error edge: every failure becomes one line on stderr and an exit status (CONTRACT.md).

Our domain errors carry their status; click's parse errors are rewritten in rnnshape's formula (the flag,
the rule, the value); a closed pipe ends quietly; anything else is a bug, shown as one line unless
RNNSHAPE_DEBUG is set.
"""

from __future__ import annotations

import os
import sys

from typer import Abort
from typer.core import TyperGroup

from rnnshape.cli.click_compat import exceptions as click_exceptions
from rnnshape.errors import EnvironmentUnfit, RnnshapeError

INTERRUPTED = 130


class Group(TyperGroup):
    """Every exit goes through :func:`guarded`; command names are case-insensitive (rnnshape LSTM)."""

    def get_command(self, ctx, cmd_name: str):
        return super().get_command(ctx, cmd_name) or super().get_command(ctx, cmd_name.lower())

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Typer turns it into a silent exit 130: say why first
            sys.stderr.write("rnnshape: interrupted\n")
            raise

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
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
    message = getattr(err, "message", None) or str(err)
    sys.stderr.write(f"rnnshape: error: {message}\n")
    hint = hint or getattr(err, "hint", None)
    if hint:
        sys.stderr.write(f"hint: {hint}\n")


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
        sys.stderr.write("rnnshape: interrupted\n")
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
