"""What compare and sweep share: their options, and the step from typed configurations to parsed options.

Each configuration is parsed by the real kind command (`rnnshape lstm ...`), so every option, default and
error is the kind command's own; the measuring lives in rnnshape.cli.multi_run.
"""

from __future__ import annotations

import inspect
import shlex
from typing import Annotated, Optional

import typer
from typer.core import TyperCommand

from rnnshape.cli.multi_run import Run
from rnnshape.cli.output import warn
from rnnshape.cli.parse import given_flags
from rnnshape.errors import UsageError
from rnnshape.model import modes
from rnnshape.model.enums import Kind
from rnnshape.model.rules import check_run_bounds

KINDS = tuple(k.value for k in Kind)
PANEL = "Measure and print"
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": ["-h", "--help"]}

Backward = Annotated[bool, typer.Option("--backward", help="Also time forward+backward (a training step); with "
                                                            "--dry-run, predict its memory.", rich_help_panel=PANEL)]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Predict only, without torch: no times.",
                                      rich_help_panel=PANEL)]
MinTime = Annotated[float, typer.Option("--min-time", metavar="<seconds>", help="Measure each at least this long.",
                                        rich_help_panel=PANEL)]
Threads = Annotated[Optional[int], typer.Option("--threads", help="torch threads (default: fastest in a probe).",
                                                rich_help_panel=PANEL)]
Deploy = Annotated[bool, typer.Option("--deploy", help="Also run each deployed (bfloat16, float16, int8, "
                                      "torch.compile, ONNX Runtime) against its eager float32.", rich_help_panel=PANEL)]
Json = Annotated[bool, typer.Option("--json", "-j", help="One JSON document on stdout (times in seconds).",
                                    rich_help_panel=PANEL)]
Csv = Annotated[bool, typer.Option("--csv", help="CSV on stdout, one row each, raw numbers.", rich_help_panel=PANEL)]
Markdown = Annotated[bool, typer.Option("--markdown", help="A Markdown table on stdout.", rich_help_panel=PANEL)]
Svg = Annotated[Optional[str], typer.Option("--svg", metavar="<file>", help="Also save the output as SVG.",
                                            rich_help_panel=PANEL)]
Html = Annotated[Optional[str], typer.Option("--html", metavar="<file>", help="Also save the output as HTML.",
                                             rich_help_panel=PANEL)]


class KindsFirst(TyperCommand):
    """compare and sweep take configurations as free words: Tab offers the kinds where a word starts."""

    def shell_complete(self, ctx, incomplete: str):
        from rnnshape.cli.click_compat import CompletionItem

        found = super().shell_complete(ctx, incomplete)
        if incomplete.startswith("-"):
            return found
        return [CompletionItem(k) for k in KINDS if k.startswith(incomplete.lower())] + found


def run_options(ctx: typer.Context, dry_run: bool, min_time: float, threads: int | None, backward: bool,
                deploy: bool = False) -> Run:
    check_run_bounds(min_time, threads)
    warn(modes.ignored(given_flags(ctx), untimed=modes.untimed(dry_run=dry_run)))
    return Run(dry_run, min_time, threads, backward, deploy)


def _spec_params() -> set[str]:
    from rnnshape.cli.kind import spec_from_options

    return {n for n, p in inspect.signature(spec_from_options).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


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
    extra = [flag for name, flag in given.items() if name not in _spec_params()]
    if extra:
        raise UsageError(f"{extra[0]} cannot be used {where}: it is not part of a configuration",
                         hint=f"rnnshape {kind} {extra[0]} shows it for one configuration")
    return params, given
