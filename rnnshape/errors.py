"""The domain errors, one per exit code. Only the CLI edge turns them into text and a status."""

from __future__ import annotations


class RnnshapeError(Exception):
    """Base class: a message for people, an optional hint, and the exit status the CLI uses."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(RnnshapeError, ValueError):
    """A value or a combination of options the user can fix (exit 2); a ValueError to Python callers."""

    exit_code = 2


class UsageTypeError(UsageError, TypeError):
    """A value of the wrong type (``num_layers="2"``); a TypeError to Python callers, exit 2 on the CLI."""


class EnvironmentUnfit(RnnshapeError):
    """This machine cannot run it: no such device, not enough memory, too slow on meta (exit 3)."""

    exit_code = 3


class WitnessMismatch(RnnshapeError):
    """The predictor and torch disagree: a bug in one of them, never resolved silently (exit 1)."""

    exit_code = 1


def one_line(err: BaseException) -> str:
    r"""A foreign exception as one line for a reason or a note: its type, its first line, colour codes gone.

    >>> one_line(RuntimeError("\x1b[31mboom\x1b[0m\n  at line 3"))
    'RuntimeError: boom'
    """
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()
    line = text[0] if text else ""
    line = f"{type(err).__name__}: {line}" if line else type(err).__name__
    return line if len(line) <= 200 else line[:197] + "..."
