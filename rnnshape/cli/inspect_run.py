"""What `rnnshape inspect` and `--check FILE` do once the CLI has parsed them: read, recover, print.

No Typer here (the CLI module owns the options); stdout carries the result, stderr the notes.
"""

from __future__ import annotations

from rnnshape.cli.output import emit, note
from rnnshape.cli.output import show as show_renderable
from rnnshape.model.spec import Spec


def show(file: str, prefix: str | None, json_out: bool, console=None) -> int:
    """Print every recurrent module of ``file`` (or the one under ``prefix``); exit status 0."""
    from rnnshape.checkpoint.inspection import inspect_checkpoint

    ins = inspect_checkpoint(file, prefix)
    if not ins.modules:
        note(f"{file} holds no recurrent module "
             f"({len(ins.checkpoint.entries)} tensors, none named like weight_ih_l0 or weight_ih)")
    if json_out:
        from rnnshape.render.inspect_json import inspection_dict
        from rnnshape.render.jsonout import dumps

        emit(dumps(inspection_dict(ins)))
    else:
        from rnnshape.render.inspect_tables import render_inspection

        show_renderable(render_inspection(ins), console=console)
    return 0


def check_checkpoint(spec: Spec, file: str, prefix: str | None, json_out: bool, console=None) -> int:
    """Compare ``spec`` with the checkpoint's module; exit status 0 when it would load, 1 when not (like diff)."""
    from rnnshape.checkpoint.against import load_check
    from rnnshape.checkpoint.inspection import inspect_checkpoint

    ins = inspect_checkpoint(file, prefix)
    comparison = load_check(spec, ins.modules, ins.checkpoint.file)
    if json_out:
        from rnnshape.render.inspect_json import load_check_dict
        from rnnshape.render.jsonout import dumps

        emit(dumps(load_check_dict(comparison)))
    else:
        from rnnshape.render.inspect_tables import render_load_check

        show_renderable(render_load_check(comparison), console=console)
    return 0 if comparison.match else 1
