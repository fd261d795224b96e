"""Reading what was typed: integer lists, and which options were given on the command line."""

from __future__ import annotations

import typer

from rnnshape.cli.click_compat import ParameterSource
from rnnshape.errors import UsageError, escape

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
