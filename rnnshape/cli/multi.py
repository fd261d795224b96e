"""What compare and sweep share: their options (the option table's rows for them), and the step from typed
configurations to parsed options.

Each configuration is parsed by the real kind command (`rnnshape lstm ...`), so every option, default and
error is the kind command's own; the measuring lives in rnnshape.cli.multi_run.
"""

from __future__ import annotations

import shlex

import typer
from typer.core import TyperCommand

from rnnshape.cli.multi_run import Run
from rnnshape.cli.output import Output, warn
from rnnshape.cli.parse import given_flags
from rnnshape.errors import UsageError
from rnnshape.model import modes
from rnnshape.model.enums import Kind
from rnnshape.model.options import SPEC_NAMES, cli_name, for_command
from rnnshape.model.spec import check_run_bounds

KINDS = tuple(k.value for k in Kind)
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": ["-h", "--help"]}


def own_signature(command: str, leading: tuple = ()):
    """compare's and sweep's own options: the table's run and output rows for them. The configuration's
    options are not declared here: they stay words, parsed per configuration by the kind command."""
    import inspect

    from rnnshape.cli.kind import parameter

    ctx = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    return inspect.Signature([ctx, *leading, *(parameter(o, command) for o in for_command(command)
                                               if o.role != "spec")], return_annotation=int)


class KindsFirst(TyperCommand):
    """compare and sweep take configurations as free words: Tab offers the kinds where a word starts."""

    def shell_complete(self, ctx, incomplete: str):
        from rnnshape.cli.click_compat import CompletionItem

        found = super().shell_complete(ctx, incomplete)
        if incomplete.startswith("-"):
            return found
        return [CompletionItem(k) for k in KINDS if k.startswith(incomplete.lower())] + found


def run_options(ctx: typer.Context, params: dict) -> Run:
    """The run options compare and sweep were given (bounds checked, redundant ones warned)."""
    check_run_bounds(params["min_time"], params["threads"])
    warn(modes.ignored(given_flags(ctx), untimed=modes.untimed(dry_run=params["dry_run"]), name=cli_name))
    return Run(params["dry_run"], params["min_time"], params["threads"], params.get("backward", False),
               params.get("deploy", False))


def quiet(params: dict) -> None:
    """--quiet/-q: stderr keeps only errors, from here on."""
    if params.get("quiet"):
        from rnnshape.cli.output import configure

        configure(quiet=True)


def output(params: dict) -> Output:
    return Output(params["json"], params["csv"], params["markdown"], params["svg"], params["html"])


def words(token: str) -> list[str]:
    """A configuration as typed, split like a shell would, its kind (the first word) in lower case."""
    try:
        split = shlex.split(token)
    except ValueError as err:
        raise UsageError(f"cannot read {token!r}: {err}", hint="close the quotes") from None
    return [split[0].lower(), *split[1:]] if split and is_kind(split[0]) else split


def is_kind(word: str) -> bool:
    """Kind names are case-insensitive (rnnshape LSTM)."""
    return word.lower() in KINDS


def parse_configuration(kind: str, tokens: list[str], where: str) -> tuple[dict, dict[str, str]]:
    """The kind command's parse of ``tokens``; options that are not part of a configuration are refused."""
    from rnnshape.cli.kind import parse_kind_options

    params, given = parse_kind_options(kind, tokens)
    extra = [flag for name, flag in given.items() if name not in SPEC_NAMES]
    if extra:
        raise UsageError(f"{extra[0]} cannot be used {where}: it is not part of a configuration",
                         hint=f"rnnshape {kind} {extra[0]} shows it for one configuration")
    return params, given
