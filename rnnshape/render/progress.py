"""A progress bar on stderr while several configurations are measured; silent when stderr is not a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


@contextmanager
def progress_bar(total: int, *, enabled: bool, console: Console | None = None) -> Iterator[Callable[[str], None]]:
    """Yield ``step(label)``: call it before each item; the bar shows the label and how many are done.

    The bar is transient: it disappears when the work ends, leaving stdout and stderr clean.
    """
    console = console or Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield lambda label: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("measuring", total=total)
        started = [False]

        def step(label: str) -> None:
            if started[0]:
                progress.advance(task)
            started[0] = True
            progress.update(task, description=f"measuring {label}")

        yield step
