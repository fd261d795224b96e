"""The command line: the Typer app and its error edge, one output seam, and one module per command.

Only this package imports Typer. Nothing here imports torch at module level (--help and completion).
"""

from rnnshape.cli.app import app, main

__all__ = ["app", "main"]
