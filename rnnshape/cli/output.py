"""The one output seam: every command chooses its format here and writes through one object.

stdout carries the result (one JSON/CSV/Markdown document, or the Rich tables), stderr everything else
(warnings, notes, "saved FILE", errors). :class:`Environment` holds the two streams, whether each is a
terminal, whether colours are wanted, the program's name and ``quiet`` (httpie's ``Environment`` is the
model): commands, warnings, notes and the error edge all print through the one instance, so a test replaces
it (:func:`using`) instead of patching ``sys``. ``--quiet``/``-q`` (:func:`configure`) silences warnings and
notes on stderr, never errors; warnings stay in the JSON.

SVG and HTML save what the terminal shows, so they combine with the tables and not with a document format;
export paths are checked before anything runs.

>>> import io
>>> out, err = io.StringIO(), io.StringIO()
>>> with using(Environment(stdout=out, stderr=err, quiet=True)):
...     emit('{"schema_version": 1}')
...     warn(["the machine was busy"])
...     error("--layers must be >= 1 (got 0)", hint="use --layers 1")
>>> out.getvalue(), err.getvalue()
('{"schema_version": 1}\\n', 'rnnshape: error: --layers must be >= 1 (got 0)\\nhint: use --layers 1\\n')
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from rnnshape.errors import UsageError


class Environment:
    """Where a run's output goes, and how: the streams, their terminal flags, colours, name and quietness.

    ``stdout``/``stderr`` left as None follow ``sys.stdout``/``sys.stderr`` as they are when written to
    (pytest and click's runner swap them); the terminal flags and colours left as None are read from the
    stream (colours: a terminal, and ``NO_COLOR`` unset).
    """

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None, *,
                 stdout_isatty: bool | None = None, stderr_isatty: bool | None = None, colors: bool | None = None,
                 program_name: str = "rnnshape", quiet: bool = False) -> None:
        self._stdout, self._stderr = stdout, stderr
        self._stdout_isatty, self._stderr_isatty, self._colors = stdout_isatty, stderr_isatty, colors
        self.program_name = program_name
        self.quiet = quiet
        self._above: list[Callable[[str, str | None], None]] = []  # a live display's printer, while it runs

    @property
    def stdout(self) -> TextIO:
        return self._stdout if self._stdout is not None else sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self._stderr if self._stderr is not None else sys.stderr

    @property
    def stdout_isatty(self) -> bool:
        return self._stdout_isatty if self._stdout_isatty is not None else _isatty(self.stdout)

    @property
    def stderr_isatty(self) -> bool:
        return self._stderr_isatty if self._stderr_isatty is not None else _isatty(self.stderr)

    @property
    def colors(self) -> bool:
        if self._colors is not None:
            return self._colors
        return self.stdout_isatty and "NO_COLOR" not in os.environ

    # -- stdout: the result

    def emit(self, text: str) -> None:
        """One document on stdout, ending in exactly one newline."""
        self.stdout.write(text if text.endswith("\n") else text + "\n")
        self.stdout.flush()

    def console(self):
        """A Rich console on stdout that trims trailing spaces (Rich reads the width from the terminal or COLUMNS)."""
        from rnnshape.render.screen import console

        return console(self.stdout)

    def live_console(self):
        """A plain Rich console on stdout, for the live display (which redraws in place)."""
        from rich.console import Console

        return Console(file=self.stdout)

    def show(self, renderable, *, svg: str | None = None, html: str | None = None, console=None) -> None:
        """Print a Rich renderable on stdout (no line cut, no trailing spaces) and save it as SVG/HTML at the
        terminal's width."""
        from rnnshape.render.screen import print_to

        console = console or self.console()
        print_to(console, renderable)
        for path, fmt in ((svg, "svg"), (html, "html")):
            if path:
                from rnnshape.render.screen import export

                export(renderable, path, width=console.width, fmt=fmt)
                self.info(f"saved {path}")

    # -- stderr: everything else

    def say(self, text: str) -> None:
        """A line on stderr that --quiet keeps, as it keeps errors ("interrupted")."""
        self._line(f"{self.program_name}: {text}", None)

    def info(self, text: str) -> None:
        """What was done beside the result ("saved FILE"; silenced by --quiet)."""
        if not self.quiet:
            self._line(f"{self.program_name}: {text}", None)

    def warn(self, warnings: Iterable[str], label: str | None = None) -> None:
        """Each warning on its own line (silenced by --quiet; a report's warnings stay in its JSON)."""
        for w in warnings:
            if not self.quiet:
                self._line(f"{self.program_name}: warning: {label + ': ' if label else ''}{w}", "yellow")

    def note(self, text: str) -> None:
        """What the run is doing or will cost (silenced by --quiet)."""
        if not self.quiet:
            self._line(f"{self.program_name}: note: {text}", "yellow")

    def error(self, message: str, hint: str | None = None) -> None:
        """One line naming the flag, the rule and the value, then the hint; never silenced."""
        self._line(f"{self.program_name}: error: {message}", None)
        if hint:
            self._line(f"hint: {hint}", None)

    @contextmanager
    def above(self, console) -> Iterator[None]:
        """While a live display runs on ``console``, print stderr's lines above it (a bare write to the
        terminal would tear the display)."""
        def line(text: str, style: str | None) -> None:
            console.print(text, style=style, markup=False, highlight=False)

        self._above.append(line)
        try:
            yield
        finally:
            self._above.remove(line)

    def _line(self, text: str, style: str | None) -> None:
        if self._above:
            self._above[-1](text, style)
            return
        self.stderr.write(text + "\n")
        self.stderr.flush()


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or a fake stream
        return False


ENV = Environment()  # the process's; commands reach it through the functions below


def env() -> Environment:
    """The environment every command prints through."""
    return ENV


@contextmanager
def using(environment: Environment) -> Iterator[Environment]:
    """Print through ``environment`` for the duration (tests: capture output without patching sys)."""
    global ENV
    saved, ENV = ENV, environment
    try:
        yield environment
    finally:
        ENV = saved


def configure(quiet: bool = False) -> None:
    """``--quiet``/``-q``: keep stderr to errors (warnings stay in the JSON). Each command sets it afresh."""
    ENV.quiet = quiet


# The module-level functions every command calls (thin wrappers over the one Environment).


def emit(text: str) -> None:
    ENV.emit(text)


def show(renderable, *, svg: str | None = None, html: str | None = None, console=None) -> None:
    ENV.show(renderable, svg=svg, html=html, console=console)


def warn(warnings: Iterable[str], label: str | None = None) -> None:
    ENV.warn(warnings, label)


def note(text: str) -> None:
    ENV.note(text)


def say(text: str) -> None:
    ENV.say(text)


def info(text: str) -> None:
    ENV.info(text)


def error(message: str, hint: str | None = None) -> None:
    ENV.error(message, hint)


@dataclass(frozen=True)
class Output:
    """The formats a command was asked for: at most one document on stdout, plus files to export."""

    json: bool = False
    csv: bool = False
    markdown: bool = False
    svg: str | None = None
    html: str | None = None

    @property
    def document(self) -> str | None:
        """The document format's flag (--json ...), or None for the Rich tables."""
        return next((flag for flag, on in self._documents() if on), None)

    def _documents(self) -> tuple[tuple[str, bool], ...]:
        return ("--json", self.json), ("--csv", self.csv), ("--markdown", self.markdown)

    def check(self, exported: str = "the table") -> None:
        """Refuse two documents on stdout, an export of a document, an unwritable export path."""
        docs = [flag for flag, on in self._documents() if on]
        if len(docs) > 1:
            raise UsageError(f"{docs[0]} and {docs[1]} cannot be combined: each prints its own document on stdout")
        for flag, path in (("--svg", self.svg), ("--html", self.html)):
            if path is None:
                continue
            if docs:
                raise UsageError(f"{flag} cannot be combined with {docs[0]}: it saves what the terminal shows "
                                 f"(got {flag} {path})", hint=f"drop {docs[0]} to export {exported}")
            from rnnshape.render.screen import check_path  # Rich only when exporting

            check_path(flag, path)

    def print(self, *, rich: Callable[[], object], json: Callable[[], str] | None = None,
              csv: Callable[[], str] | None = None, markdown: Callable[[], str] | None = None,
              console=None) -> None:
        """Write the chosen document, or print the tables (and save the exports)."""
        for on, text in ((self.json, json), (self.csv, csv), (self.markdown, markdown)):
            if on and text is not None:
                ENV.emit(text())
                return
        ENV.show(rich(), svg=self.svg, html=self.html, console=console)
