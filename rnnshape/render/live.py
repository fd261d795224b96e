"""The live terminal view: the predictor's tables at once, then torch's verdict in their place.

Importing torch costs over a second. On a terminal the predicted tables are painted first, marked as
predicted, while torch builds, runs and times the configuration in the same process; then one update
settles the display on the verified tables (issue 9). Only the status line is redrawn while torch works
(the tables are rendered once and cached): torch's import holds the GIL, and every redraw competes with it.

>>> from rich.console import Console
>>> from rnnshape.api import analyze
>>> predicted = analyze("gru", hidden_size=8, dry_run=True)
>>> console = Console(file=open("/dev/null", "w"), force_terminal=True)
>>> show(predicted, lambda: predicted, console, timed=False).verified  # verify returns the final Report
False
"""

from __future__ import annotations

from collections.abc import Callable

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.segment import Segment
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from rnnshape.errors import WitnessMismatch
from rnnshape.model.report import Report
from rnnshape.render.tables import render

VERIFYING = "predicted · verifying with torch…"
INTERRUPTED = "predicted only: interrupted before torch verified it"
REFRESH_PER_SECOND = 8


def wanted(console: Console) -> bool:
    """Live only where a person watches: a terminal that understands cursor movement (not TERM=dumb)."""
    return console.is_terminal and not console.is_dumb_terminal and not console.is_jupyter


def show(predicted: Report, verify: Callable[[], Report], console: Console, *, timed: bool) -> Report:
    """Paint ``predicted`` now, call ``verify`` (the torch run), then settle on what it returns.

    ``timed`` says whether the verified Report will carry a timing section (a placeholder holds its
    place meanwhile). Errors from ``verify`` propagate after the display is settled: a disagreement with
    torch replaces the tables with a red line naming both values; any other error leaves a clean screen.
    """
    status = _Status(predicted)
    with Live(_predicted_view(predicted, status, timed), console=console, transient=False,
              refresh_per_second=REFRESH_PER_SECOND, redirect_stdout=False, redirect_stderr=False) as live:
        try:
            report = verify()
        except WitnessMismatch as err:
            live.update(_mismatch_view(predicted, err), refresh=True)
            raise
        except KeyboardInterrupt:
            status.settle(Text(INTERRUPTED, style="yellow"))
            live.update(Group(*_parts(predicted, status, timed=False)))  # drawn in full as the display stops
            raise
        except BaseException:
            live.update(Text(""), refresh=True)
            live.transient = True  # the error goes to stderr; leave no half-finished screen behind
            raise
        live.update(render(report))  # drawn in full (past the screen's height) as the display stops
    return report


class _Status:
    """The header's second line, with a spinner until the verdict is in."""

    def __init__(self, predicted: Report) -> None:
        spec = predicted.prediction.spec
        self.facts = f"{spec.device} · {spec.dtype.value} · "
        self.spinner = Spinner("dots", style="yellow")
        self.final: Text | None = None

    def settle(self, text: Text) -> None:
        self.final = text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line = Text(self.facts)
        if self.final is not None:
            line.append_text(self.final)
        else:
            line.append_text(self.spinner.render(console.get_time()))
            line.append(" " + VERIFYING, style="yellow")
        yield line


def _predicted_view(predicted: Report, status: _Status, timed: bool) -> RenderableType:
    return _Frame(*_parts(predicted, status, timed))


def _parts(predicted: Report, status: _Status, timed: bool) -> tuple[RenderableType, RenderableType]:
    """The header with our status line, and everything below it as the tables module draws it."""
    placeholder = [Text(), _timing_placeholder()] if timed else []
    body = Group(render(predicted, with_header=False), *placeholder)
    return Group(Text(predicted.prediction.module_repr, style="bold"), status), body


def _timing_placeholder() -> Table:
    table = Table(title="Timing", title_justify="left", box=box.SIMPLE_HEAD, show_header=False, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column()
    table.add_row("forward", Text("measured once torch has verified the tables…", style="dim"))
    return table


def _mismatch_view(predicted: Report, err: WitnessMismatch) -> RenderableType:
    """Neither witness is shown when they disagree: only what they disagree on."""
    spec = predicted.prediction.spec
    line = Text(f"{spec.device} · {spec.dtype.value} · ")
    line.append(f"✗ NOT VERIFIED: {err.message}", style="bold red")
    return Group(
        Text(predicted.prediction.module_repr, style="bold"),
        line,
        Text("the predicted tables are withdrawn: neither witness can be trusted", style="red"),
    )


class _Frame:
    """The header, then the body cut to the screen's height, then a blank line for the cursor to rest on.

    The body is rendered once per width: the refresh thread redraws the spinner, not the tables (2.5 ms a
    refresh instead of 21 ms for the default command). Cutting it here, not in Rich's Live, keeps every line
    on screen so that the final update can rewrite all of them; the blank last line keeps a keystroke's
    echo (^C) from wrapping a full-width line and pushing the frame down by one.
    """

    def __init__(self, header: RenderableType, body: RenderableType) -> None:
        self.header = header
        self.body = body
        self._lines: dict[int, list[list[Segment]]] = {}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        header = console.render_lines(self.header, options, pad=False)
        body = self._lines.get(options.max_width)
        if body is None:
            body = self._lines[options.max_width] = console.render_lines(self.body, options, pad=False)
        room = max(1, options.size.height - len(header) - 1)
        if len(body) > room:
            more = Text(f"… {len(body) - room + 1} more lines", style="dim")
            body = body[: room - 1] + console.render_lines(more, options, pad=False)
        new_line = Segment.line()
        for line in (*header, *body):
            yield from line
            yield new_line
        yield Segment(" ")
