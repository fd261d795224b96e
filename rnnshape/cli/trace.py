"""`rnnshape trace TARGET`: run the user's own model and show every recurrent call inside it.

Thin: options go to rnnshape.api.trace.trace, a renderer prints the Trace. torch is imported only when it runs.
"""

from __future__ import annotations

import warnings
from typing import Annotated, Optional

import typer

from rnnshape.cli.edge import json_option
from rnnshape.errors import RnnshapeError, UsageError


class ForwardFailed(RnnshapeError):
    """The user's forward raised (exit 1); the message explains it."""


def trace_command(
    target: Annotated[str, typer.Argument(metavar="TARGET",
                                          help="path/to/file.py:NAME or package.module:NAME. NAME is an nn.Module "
                                               "class built with no arguments, or a function returning a module "
                                               "or (module, example_args).")],
    inputs: Annotated[Optional[list[str]], typer.Option(
        "--input", metavar="SHAPE[:DTYPE]",
        help="One positional argument of the forward: 32,50:long is zeros of that shape (integer dtypes), "
             "7,4,16 is randn (float dtypes, default float32). Repeat for several arguments.")] = None,
    calls: Annotated[int, typer.Option("--calls", metavar="N", help="Run the forward N times, to expose state carried "
                                                        "between calls.")] = 1,
    train: Annotated[bool, typer.Option("--train", help="Run in training mode (default: model.eval()).")] = False,
    batch: Annotated[Optional[int], typer.Option(
        "--batch", help="Your input's batch size, so a module that reads it as time is flagged (without it, "
                        "only witnesses inside the run count: a fresh h_0, other calls' batch, a lengths "
                        "vector; a token-id shape alone never does).")] = None,
    device: Annotated[str, typer.Option("--device", metavar="cpu|cuda|cuda:N",
                                        help="Move the model and the inputs here first.")] = "cpu",
    json_out: Annotated[bool, json_option()] = False,
    example: Annotated[bool, typer.Option(
        "--example", help="TARGET is a model shipped with rnnshape: seq2seq:Seq2Seq, bptt:LanguageModel, "
                          "bptt:Carried (no clone needed).")] = False,
) -> int:
    """Trace your own model: import TARGET, run its forward, and show every recurrent call inside it
    (shapes as torch saw them, the rnnshape command that rebuilds each module, silent pitfalls).

    Examples:
      rnnshape trace my_model.py:Seq2Seq --input 8,15:long
      rnnshape trace my_model.py:LanguageModel --input 4,35:long --calls 2
      rnnshape trace mypackage.models:build --json

    This imports and runs your own code, as `python` would: trace only code you trust.
    """
    from rnnshape.api.trace import trace
    from rnnshape.cli import output

    if example:
        target = example_target(target)
    env = output.env()
    # the user's own prints go to stderr: they must not mix with the result (--json)
    with warnings.catch_warnings():
        if env.quiet:  # --quiet: Python's warnings (torch's, the user's) are warnings too
            warnings.simplefilter("ignore")
        result = trace(target, inputs or (), calls=calls, train=train, batch=batch, device=device, echo=env.stderr)
    env.warn(result.warnings)
    if json_out:
        from rnnshape.render.jsonout import dumps
        from rnnshape.render.trace import trace_dict

        env.emit(dumps(trace_dict(result)))
    else:
        from rnnshape.render.trace import render_trace

        env.show(render_trace(result))  # no line cut, no trailing spaces
    if result.error is not None:
        raise ForwardFailed(result.error.message, hint=result.error.hint)
    return 0


def example_target(target: str) -> str:
    """``--example NAME:OBJECT`` as a file target. The examples are tests/examples/NAME.py; the wheel carries
    them as rnnshape/examples/NAME.py (pyproject's force-include), so an installed user has them too.

    >>> example_target("seq2seq:Seq2Seq").rpartition("examples")[2][1:]
    'seq2seq.py:Seq2Seq'
    """
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent
    folder = next((f for f in (package / "examples", package.parent / "tests" / "examples") if f.is_dir()), None)
    shipped = {}
    for path in sorted(folder.glob("*.py")) if folder else ():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        shipped[path.stem] = [n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))]
    name, _, obj = target.partition(":")
    if name in shipped and obj in shipped[name]:
        return f"{folder / name}.py:{obj}"
    choices = ", ".join(f"{stem}:{o}" for stem, objs in shipped.items() for o in objs) or "none (this install has none)"
    raise UsageError(f"--example TARGET must be one of {choices} (got {target!r})",
                     hint="for example rnnshape trace --example seq2seq:Seq2Seq --input 8,15:long")


def register(app: typer.Typer) -> None:
    app.command("trace")(trace_command)
