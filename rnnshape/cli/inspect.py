"""`rnnshape inspect FILE`: the recurrent modules in a checkpoint, and why one won't load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from rnnshape.errors import UsageError
from rnnshape.model.spec import Kind


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect_command)


def inspect_command(
    file: Annotated[Path, typer.Argument(
        metavar="<file>", show_default=False,
        help="A model file: torch.save (.pt/.pth/.bin/.ckpt), TorchScript, .safetensors, .onnx, Keras "
             "(.keras/.h5/.weights.h5) or NumPy (.npz/.npy), or a Hugging Face model folder.")],
    against: Annotated[Optional[str], typer.Option("--against", metavar="<'kind options'>",
                                                   help="Compare this configuration with the checkpoint, "
                                                        "e.g. 'lstm --hidden-size 256 --layers 2'.")] = None,
    prefix: Annotated[Optional[str], typer.Option("--prefix", metavar="<name>",
                                                  help="Only the module under this name (e.g. encoder.rnn).")] = None,
    json_out: Annotated[bool, typer.Option("--json", "-j", help="One JSON document on stdout.")] = False,
) -> int:
    """Find the recurrent modules in a checkpoint, recover their configuration, and say why one won't load.

    Examples:
      rnnshape inspect model.pt
      rnnshape inspect model.safetensors --prefix encoder.rnn --json
      rnnshape inspect model.pt --against 'lstm --hidden-size 1024 --layers 2'

    Nothing in the file runs: objects other than tensors become inert stand-ins.

    With --against: exit 0 when the checkpoint would load, 1 when it would not.
    """
    file = str(file)  # a Path only so that Tab completes file names
    if against is None:
        from rnnshape.cli.inspect_run import show

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
    from rnnshape.cli.kind import kind_command

    sub = kind_command(args[0])
    extra = ["--check", file] + (["--json"] if json_out else [])
    try:
        return sub.main(args[1:] + extra, prog_name=args[0], standalone_mode=False,
                        obj={"prefix": prefix})
    except click_exceptions.UsageError as err:
        raise UsageError(f"--against: {usage_message(err, args)}") from None
