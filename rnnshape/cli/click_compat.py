"""Click as Typer ships it: vendored as typer._click since Typer 0.26, the click package before that.

rnnshape pins typer>=0.26,<0.29, but a machine with its own Typer (a GPU image, say) may run the
working tree on PYTHONPATH; this keeps the CLI working there too.
"""

try:
    from typer._click import exceptions
    from typer._click.core import ParameterSource
    from typer._click.shell_completion import CompletionItem
except ImportError:  # pragma: no cover - only with Typer < 0.26
    from click import exceptions
    from click.core import ParameterSource
    from click.shell_completion import CompletionItem

__all__ = ["CompletionItem", "ParameterSource", "exceptions"]
