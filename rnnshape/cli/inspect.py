"""`rnnshape inspect FILE`: the recurrent modules in a checkpoint, why one won't load, and the file torch loads.

The command only translates options; reading, comparing and converting live in rnnshape.checkpoint. stdout
carries the result, stderr the notes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from rnnshape.cli.edge import json_option
from rnnshape.cli.output import emit, note
from rnnshape.cli.output import show as show_renderable
from rnnshape.errors import UsageError
from rnnshape.model.spec import Kind, Spec


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect_command)


def inspect_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(
        metavar="<file>", show_default=False,
        help="A model file: torch.save (.pt/.pth/.bin/.ckpt), TorchScript, .safetensors, .onnx, Keras "
             "(.keras/.h5/.weights.h5) or NumPy (.npz/.npy), or a Hugging Face model folder.")],
    against: Annotated[Optional[str], typer.Option("--against", metavar="<'kind options'>",
                                                   help="Compare this configuration with the checkpoint, "
                                                        "e.g. 'lstm --hidden-size 256 --layers 2'.")] = None,
    prefix: Annotated[Optional[str], typer.Option("--prefix", "--module", metavar="<name>",
                                                  help="Only the module under this name (e.g. encoder.rnn).")] = None,
    save_state_dict: Annotated[Optional[Path], typer.Option(
        "--save-state-dict", metavar="<out>", show_default=False,
        help="Write each recurrent module's weights, torch-named, in torch's gate order, to a .safetensors or "
             ".pt file that load_state_dict(strict=True) takes (checked against the source where it runs here).")
    ] = None,
    trust: Annotated[bool, typer.Option(
        "--trust", help="With --save-state-dict: run a TorchScript file's own code to compare outputs.")] = False,
    json_out: Annotated[bool, json_option()] = False,
) -> int:
    """Find the recurrent modules in a checkpoint, recover their configuration, and say why one won't load.

    Examples:
      rnnshape inspect model.pt
      rnnshape inspect model.safetensors --prefix encoder.rnn --json
      rnnshape inspect model.pt --against 'lstm --hidden-size 1024 --layers 2'
      rnnshape inspect model.onnx --save-state-dict model.safetensors

    Nothing in the file runs: objects other than tensors become inert stand-ins.

    With --against: exit 0 when the checkpoint would load, 1 when it would not.
    With --save-state-dict: exit 0 when written, 1 when the conversion cannot be exact (nothing written).
    """
    file = str(file)  # a Path only so that Tab completes file names
    if save_state_dict is not None:
        if against is not None:
            raise UsageError("--save-state-dict and --against cannot be combined: convert first, then compare",
                             hint=f"rnnshape inspect {save_state_dict} --against ...")
        return convert(file, str(save_state_dict), prefix, trust, json_out)
    if trust:
        raise UsageError("--trust only applies to --save-state-dict (got --trust alone)",
                         hint="add --save-state-dict OUT.safetensors, or drop --trust")
    if against is None:
        return show(file, prefix, json_out)
    import shlex

    try:
        args = shlex.split(against)
    except ValueError as err:  # an unclosed quote
        raise UsageError(f"--against must be a command line: {err} (got {against!r})",
                         hint="for example --against 'lstm --hidden-size 256 --layers 2'") from None
    inside = [a.split("=")[0] for a in args if a.split("=")[0] in ("--check", "--json", "-j")]
    if inside:
        raise UsageError(f"{inside[0]} does not belong inside --against (got {against!r})",
                         hint="--against takes a configuration; give --json to inspect itself")
    kinds = [k.value for k in Kind]
    if args and args[0].lower() in kinds:
        args[0] = args[0].lower()  # kind names are case-insensitive
    if not args or args[0] not in kinds:
        raise UsageError(f"--against must start with {', '.join(kinds)} (got {against!r})",
                         hint="for example --against 'lstm --hidden-size 256 --layers 2'")
    from rnnshape.cli.edge import click_exceptions, usage_message

    group = ctx.parent  # the kind commands are the app's: asked of it, so that this module never imports them
    sub = group.command.get_command(group, args[0]) if group is not None else None
    if sub is None:
        raise UsageError(f"--against: the {args[0]} command is not available here")
    extra = ["--check", file] + (["--json"] if json_out else [])
    try:
        return sub.main(args[1:] + extra, prog_name=args[0], standalone_mode=False,
                        obj={"prefix": prefix})
    except click_exceptions.UsageError as err:
        raise UsageError(f"--against: {usage_message(err, args)}", hint=_kind_hint(err, args[0])) from None


def _kind_hint(err, kind: str) -> str:
    """The kind's help, and the closest of its options when click found some (--num-layer -> --num-layers)."""
    import difflib

    see = f"see 'rnnshape {kind} --help'"
    close = difflib.get_close_matches(getattr(err, "option_name", "") or "", getattr(err, "possibilities", None) or [],
                                      n=1, cutoff=0)
    return f"did you mean {close[0]}? {see}" if close else f"{see} for its options"


def show(file: str, prefix: str | None, json_out: bool, console=None) -> int:
    """Print every recurrent module of ``file`` (or the one under ``prefix``); exit status 0."""
    from rnnshape.checkpoint.inspection import inspect_checkpoint
    from rnnshape.render.fmt import counted

    ins = inspect_checkpoint(file, prefix)
    if not ins.modules:
        note(f"{file} holds no recurrent module "
             f"({counted(len(ins.checkpoint.entries), 'tensor')}, none named like weight_ih_l0 or weight_ih)")
    if json_out:
        from rnnshape.render.inspect import inspection_dict
        from rnnshape.render.jsonout import dumps

        emit(dumps(inspection_dict(ins)))
    else:
        from rnnshape.render.inspect import render_inspection

        show_renderable(render_inspection(ins), console=console)
    return 0


def check_checkpoint(spec: Spec, file: str, prefix: str | None, json_out: bool, console=None) -> int:
    """Compare ``spec`` with the checkpoint's module; exit status 0 when it would load, 1 when not (like diff)."""
    from rnnshape.checkpoint.against import load_check
    from rnnshape.checkpoint.inspection import inspect_checkpoint

    ins = inspect_checkpoint(file, prefix)
    comparison = load_check(spec, ins.modules, ins.checkpoint.file, ins.checkpoint)
    if json_out:
        from rnnshape.render.inspect import load_check_dict
        from rnnshape.render.jsonout import dumps

        emit(dumps(load_check_dict(comparison)))
    else:
        from rnnshape.render.inspect import render_load_check

        show_renderable(render_load_check(comparison), console=console)
    return 0 if comparison.match else 1


def convert(file: str, out: str, prefix: str | None, trust: bool, json_out: bool, console=None) -> int:
    """Write the torch state_dict file; exit status 0 (a conversion that cannot be exact raises, exit 1)."""
    from rnnshape.checkpoint.convert import save_state_dict

    done = save_state_dict(file, out, prefix, trust=trust)
    for text in done.notes:
        note(text)
    if json_out:
        from rnnshape.render.inspect import conversion_dict
        from rnnshape.render.jsonout import dumps

        emit(dumps(conversion_dict(done)))
    else:
        from rnnshape.render.inspect import render_conversion

        show_renderable(render_conversion(done), console=console)
    return 0
