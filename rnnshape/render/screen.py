"""Where renderables go: the terminal (no line cut at the edge, no trailing spaces), the live display while
torch verifies, a progress bar on stderr, SVG/HTML files and a notebook cell.

Printing
--------

Rich crops each line at the console's width and pads table rows to it. Cropping would cut a command
meant to be copied (``fix: rnnshape lstm ... --proj-size 128``); the padding leaves trailing spaces in a
redirected file. So lines run past the edge (the terminal wraps them softly, and copies them whole) and
every line loses its trailing blanks on the way out, colour codes kept.

>>> from rich.table import Table
>>> t = Table("name", "shape")
>>> t.add_row("h_n", "(1, 3, 20)")
>>> text = plain(t, width=40)
>>> any(line != line.rstrip() for line in text.splitlines())
False
"""

from __future__ import annotations

import inspect
import io
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.text import Text

from rnnshape.errors import UsageError, WitnessMismatch
from rnnshape.model.report import Report

# rich.live, rich.progress and the tables are imported where they are used: every command prints through
# this module, few show a live display or a progress bar.

_TRAILING = re.compile(r"(?:[ \t]|\x1b\[[0-9;]*m)+$")


def trim(line: str) -> str:
    """``line`` less its trailing blanks; the colour codes among them stay, in order."""
    m = _TRAILING.search(line)
    if not m:
        return line
    return line[: m.start()] + "".join(re.findall(r"\x1b\[[0-9;]*m", m.group()))


class TrimmedFile(io.TextIOBase):
    """A text stream that writes whole lines to ``file``, each without trailing blanks."""

    def __init__(self, file: TextIO) -> None:
        self.file = file
        self._pending = ""

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        if lines:
            self.file.write("".join(trim(line) + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.file.write(trim(self._pending))
            self._pending = ""
        self.file.flush()

    def isatty(self) -> bool:
        return self.file.isatty()

    def fileno(self) -> int:
        return self.file.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.file, "encoding", "utf-8")


def console(file: TextIO, **kwargs) -> Console:
    """A Console writing trimmed lines to ``file`` (Rich's other settings as given)."""
    return Console(file=TrimmedFile(file), **kwargs)


def print_to(target: Console, renderable: RenderableType) -> None:
    """Print with no line cropped at the console's width (see the module docstring)."""
    target.print(Group(renderable), crop=False)  # a bare Text would be re-joined, losing its no_wrap
    target.file.flush()


def plain(renderable: RenderableType, width: int = 80) -> str:
    """The text a ``width``-column terminal without colours shows: what golden files and the API hold."""
    out = io.StringIO()
    target = console(out, width=width, color_system=None, force_terminal=False, legacy_windows=False)
    print_to(target, renderable)
    return out.getvalue()


def stdout_console() -> Console:
    """The console for the result on stdout (Rich takes its width from the terminal, or from COLUMNS)."""
    import sys

    return console(sys.stdout)


# The live display: the predictor's tables at once, then torch's verdict in their place (issue 9).
# Importing torch costs over a second: on a terminal the predicted tables are painted first, marked as predicted,
# while torch builds, runs and times the configuration in the same process; then one update settles the display
# on the verified tables. Only the status line is redrawn while torch works (the tables are rendered once and
# cached): torch's import holds the GIL, and every redraw competes with it.

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

    >>> from rnnshape.api import analyze
    >>> predicted = analyze("gru", hidden_size=8, dry_run=True)
    >>> console = Console(file=open(os.devnull, "w"), force_terminal=True)
    >>> show(predicted, lambda: predicted, console, timed=False).verified  # verify returns the final Report
    False
    """
    from rich.live import Live

    from rnnshape.render.tables import render

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
        # The frame goes, and the verified tables are printed as every command prints: in full (past the
        # screen's height), with no line cut at the edge (Live crops each line to the width).
        live.update(Text(""), refresh=True)
        live.transient = True
    print_to(console, render(report))
    return report


class _Status:
    """The header's second line, with a spinner until the verdict is in."""

    def __init__(self, predicted: Report) -> None:
        spec = predicted.prediction.spec
        self.facts = f"{spec.device} · {spec.dtype.value} · "
        from rich.spinner import Spinner

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
    from rnnshape.render.tables import render

    placeholder = [Text(), _timing_placeholder()] if timed else []
    body = Group(render(predicted, with_header=False), *placeholder)
    return Group(Text(predicted.prediction.module_repr, style="bold"), status), body


def _timing_placeholder():
    from rich import box
    from rich.table import Table

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


# A progress bar on stderr while several configurations are measured; silent when stderr is not a terminal


@contextmanager
def progress_bar(total: int, *, enabled: bool, console: Console | None = None) -> Iterator[Callable[[str], None]]:
    """Yield ``step(label)``: call it before each item; the bar shows the label and how many are done.

    The bar is transient: it disappears when the work ends, leaving stdout and stderr clean.
    """
    console = console or Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield lambda label: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

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


# SVG and HTML files: any renderable the way it looks in a terminal of a given width

FORMATS = ("svg", "html")
_GAPS = re.compile(r"(^ +| {2,}| +$)")
# Fonts every desktop has, widest glyph coverage first (box drawing, arrows, σ, ⊙ from one font keep the
# columns aligned); no web font, so a file opened offline renders the same.
MONOSPACE = ("'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, 'Noto Sans Mono', 'Courier New', "
             "ui-monospace, monospace")


def _template(method) -> str:
    """The page template a Console export method writes by default (its public ``code_format`` argument)."""
    return inspect.signature(method).parameters["code_format"].default


def _svg_format() -> str:
    """Rich's SVG template without its Fira Code @font-face rules (fetched from a CDN) and with our stack."""
    head, rest = _template(Console.save_svg).split("@font-face", 1)
    rest = rest[rest.index(".{unique_id}-matrix"):]
    return (head + rest).replace("font-family: Fira Code, monospace;", f"font-family: {MONOSPACE};")


def _html_format() -> str:
    """Rich's HTML template with our stack (its own names two fonts that lack σ and ⊙ on most machines)."""
    return _template(Console.save_html).replace("Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace", MONOSPACE)


def check_path(flag: str, path: str | None) -> None:
    """Refuse an export path before anything runs, not after the tables are printed."""
    if path is None:
        return
    if not path:
        raise UsageError(f"{flag} needs a file name (got {path!r})")
    if os.path.isdir(path):
        raise UsageError(f"{flag} needs a file name, not a folder (got {path})")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f"{flag} cannot write there: {folder} is not a writable folder (got {path})")


def export(renderable: RenderableType, path: str | os.PathLike, *, width: int = 80, fmt: str | None = None,
           title: str = "rnnshape") -> None:
    """Render at `width` columns and write `path`; the format is `fmt` or the file's suffix (.svg, .html).

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "hello.svg")
    >>> export(Text("hello"), path, width=40)
    >>> open(path, encoding="utf-8").read().startswith("<svg")
    True
    """
    fmt = fmt or Path(path).suffix.lstrip(".").lower()
    if fmt == "htm":
        fmt = "html"
    if fmt not in FORMATS:
        raise UsageError(f"cannot tell the export format of {str(path)!r}: use a .svg or .html file name")
    with open(os.devnull, "w", encoding="utf-8") as sink:
        console = Console(record=True, width=width, file=sink, force_terminal=True, color_system="truecolor")
        console.print(_SpacesApart(renderable), crop=False)
    # Laid out for `width`, but a line to copy that runs past the edge (a command) stays whole in the SVG's
    # frame, which would otherwise clip it.
    longest = max((cell_len(line) for line in console.export_text(clear=False).splitlines()), default=0)
    console.width = max(width, longest)
    try:
        if fmt == "svg":
            console.save_svg(str(path), title=title, code_format=_svg_format())
        else:
            console.save_html(str(path), code_format=_html_format())
    except OSError as err:
        raise UsageError(f"cannot write {str(path)!r}: {err.strerror or err}") from None


class _SpacesApart:
    """Runs of spaces (leading, trailing, or two and more inside) as segments of their own. Rich writes each
    segment as one SVG <text> at its own column; librsvg (rsvg-convert, many previewers) drops a <text>'s
    leading spaces, and a fallback font narrower than the one Rich measured for bunches a long <text> to
    the left (the sweep chart's axis labels). A segment of spaces only is written as nothing, and keeps
    its place, so every word is placed by its column."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console, options):
        for seg in console.render(self.renderable, options):
            if seg.control or "  " not in f" {seg.text} ":
                yield seg
                continue
            for part in _GAPS.split(seg.text):
                if part:
                    yield Segment(part, seg.style)


# A notebook cell: the terminal's tables as HTML, colours inline, monospace

NOTEBOOK_WIDTH = 120  # columns a notebook cell renders the tables at

# The exports' monospace stack (above): it lines the columns up without web fonts.
_PRE = '<pre style="font-family: ' + MONOSPACE + '; line-height: 1.25">{code}</pre>'


def html(renderable: RenderableType, width: int = NOTEBOOK_WIDTH) -> str:
    """What a notebook cell shows (``_repr_html_``).

    >>> html(Text("h_n (2, 3, 20)")).count("h_n (2, 3, 20)")
    1
    """
    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor")
    console.print(renderable, crop=False)  # a line to copy runs past the edge rather than being cut
    return console.export_html(inline_styles=True, code_format=_PRE)
