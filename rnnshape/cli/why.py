"""`rnnshape why MESSAGE` (or `... | rnnshape why -`): a torch recurrent error message explained, without the model.

Thin: rnnshape.model.why decodes; this prints. Plain text, no Rich and no torch: it answers at once.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from typing import Annotated

import typer

from rnnshape.cli.edge import json_option
from rnnshape.cli.output import emit
from rnnshape.errors import RnnshapeError, UsageError

SCHEMA_VERSION = 1
LABEL = 11  # "torch said " and the labels' column


class Unrecognised(RnnshapeError):
    """The message is not one rnnshape knows (exit 1, like a "no")."""


def why_command(
    message: Annotated[list[str], typer.Argument(
        metavar="MESSAGE", help="torch's error message (quote it), or - to read it (or a whole traceback) "
                                "from stdin.", show_default=False)],
    json_out: Annotated[bool, json_option()] = False,
) -> int:
    """Explain a PyTorch RNN/LSTM/GRU error message without the model: which tensor, which dimension, the
    rule, the likely cause, the fix, and the rnnshape command that shows the right shapes.

    Examples:
      rnnshape why "Expected hidden[0] size (2, 4, 20), got [1, 4, 20]"
      rnnshape why --json "Expected hidden size (1, 3, 8), got [1, 4, 8]"
      rnnshape why - < traceback.txt

    A whole traceback works (the last line rnnshape knows is explained): python train.py 2>&1 | rnnshape why -
    """
    from rnnshape.model.why import decode

    text = sys.stdin.read() if message == ["-"] else " ".join(message)
    if not text.strip():
        raise UsageError("MESSAGE is empty (got nothing" + (" on stdin)" if message == ["-"] else ")"),
                         hint='quote torch\'s message: rnnshape why "Expected hidden size (2, 3, 8), got [1, 3, 8]"')
    found = decode(text)
    last = text.strip().splitlines()[-1].strip()
    if json_out:
        doc = {"schema_version": SCHEMA_VERSION, "recognised": found is not None}
        doc.update(vars(found) if found else {"said": last})
        emit(json.dumps(doc, indent=2, ensure_ascii=False))
    if found is None:
        shown = last if len(last) <= 120 else last[:117] + "..."
        raise Unrecognised(f"not a recurrent-module message rnnshape knows (got {shown!r})",
                           hint="run the model under rnnshape trace FILE.py:NAME --input SHAPE: it sees the tensors "
                                "of the failing call and explains them")
    if not json_out:
        emit(render(found, _width()))
    return 0


def render(w, width: int) -> str:
    """The explanation as text: the finding, then labelled lines; the command and torch's words never wrap."""
    wrap = max(width - LABEL, 30)
    lines = textwrap.wrap(w.message, width=max(width, 40))
    dim = "the last dimension" if w.dimension == -1 else f"dimension {w.dimension}"
    where = w.tensor + (f" · {dim} ({w.dimension_name})" if w.dimension is not None else "")
    lines.append("")
    for label, value in (("tensor", where), ("rule", w.rule), ("cause", w.cause), ("fix", w.fix)):
        body = textwrap.wrap(value, width=wrap) or [""]
        lines.append(f"{label:<{LABEL}}{body[0]}")
        lines += [" " * LABEL + b for b in body[1:]]
    if w.command:
        lines.append(f"{'shapes':<{LABEL}}{w.command}")
    if w.also:
        lines.append(f"{'or':<{LABEL}}{w.also}")
    lines.append(f"{'torch said':<{LABEL}}{w.said}")
    return "\n".join(line.rstrip() for line in lines)


def _width() -> int:
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        return shutil.get_terminal_size((80, 24)).columns


def register(app: typer.Typer) -> None:
    app.command("why")(why_command)
