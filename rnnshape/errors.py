"""The domain errors, one per exit code. Only the edges turn them into text and a status.

A usage error is structured: the option it is about (``field``, the Spec field / Python keyword), the rule it
broke, the value it got and a hint. Each edge words the options its own way: the command line as flags
(``--proj-size``, from the option table), Python as keyword arguments (``proj_size``). Rules and hints name
options as ``{name}`` or ``{name=value}`` placeholders, never as flags:

>>> err = UsageError(field="proj_size", rule="must be smaller than {hidden_size}", value=(20, 20),
...                  hint="use {proj_size=0} to disable the projection")
>>> str(err), err.hint
('proj_size must be smaller than hidden_size (got 20 and 20)', 'use proj_size=0 to disable the projection')
>>> flag = lambda name, value: "--" + name.replace("_", "-") + ("" if value is None else f" {value}")
>>> err.worded(flag), err.worded_hint(flag)
('--proj-size must be smaller than --hidden-size (got 20 and 20)', 'use --proj-size 0 to disable the projection')

A plain ``UsageError(message, hint=None)`` is shown as written.
"""

from __future__ import annotations

import string
from collections.abc import Callable

# name, value (None for a bare {name}) -> the words an edge uses for that option
Namer = Callable[[str, "str | None"], str]
_NOTHING = object()


def python_name(name: str, value: str | None) -> str:
    """Python's wording: the keyword argument, ``num_layers`` or ``bias=False``."""
    return name if value is None else f"{name}={value}"


def shown(value) -> str:
    """A value as an error quotes it: strings quoted, pairs joined by 'and', integers as written."""
    if isinstance(value, tuple) and len(value) == 2:
        return " and ".join(shown(v) for v in value)
    return repr(value) if isinstance(value, str) else str(value)


def fill(template: str | None, name: Namer) -> str | None:
    """A template's ``{option}`` / ``{option=value}`` placeholders worded by ``name``; ``{{`` is a brace."""
    if template is None:
        return None
    out = []
    for literal, field, spec, _conversion in string.Formatter().parse(template):
        out.append(literal)
        if field is not None:
            field = field + (":" + spec if spec else "")  # {device=cuda:0}
            key, eq, value = field.partition("=")
            out.append(name(key.strip(), value.strip() if eq else None))
    return "".join(out)


def escape(text) -> str:
    """A value put into a template as literal text."""
    return str(text).replace("{", "{{").replace("}", "}}")


class RnnshapeError(Exception):
    """Base class: a message for people, an optional hint, and the exit status the CLI uses.

    ``RnnshapeError(message, hint=None)``, shown as written; or structured: ``field`` and ``rule`` (with
    ``value``, or ``got``: the value as it should read, a template), or ``field`` and a ``message`` template.
    ``message`` and ``str()`` are in Python's words; :meth:`worded` takes an edge's.
    """

    exit_code = 1

    def __init__(self, message: str | None = None, hint: str | None = None, *, field: str | None = None,
                 rule: str | None = None, value=_NOTHING, got: str | None = None) -> None:
        self.field, self.rule, self.value = field, rule, None if value is _NOTHING else value
        self.structured = field is not None
        if rule is not None:
            if value is not _NOTHING or got is not None:
                rule += " (got " + (got if got is not None else escape(shown(value))) + ")"  # got: a template
            message = "{" + field + "} " + rule
        if message is None:
            raise TypeError("an error needs a message, or a field and a rule")
        self.template, self.hint_template, self.prefix = message, hint, ""
        self.message = self.worded(python_name)
        self.hint = self.worded_hint(python_name)
        super().__init__(self.message)

    def worded(self, name: Namer) -> str:
        """The message, each option worded by ``name`` (the CLI edge passes its flags)."""
        return self.prefix + (fill(self.template, name) if self.structured else self.template)

    def worded_hint(self, name: Namer) -> str | None:
        return fill(self.hint_template, name) if self.structured else self.hint_template

    def within(self, prefix: str):
        """The same error said about one configuration of several: ``"lstm -H 0: "`` before it."""
        self.prefix = prefix + self.prefix
        self.message = prefix + self.message
        self.args = (self.message,)
        return self


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
