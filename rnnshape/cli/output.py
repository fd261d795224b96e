"""The one output seam: every command chooses its format here and writes through it.

stdout carries the result (one JSON/CSV/Markdown document, or the Rich tables), stderr everything else
(warnings, notes, "saved FILE"). SVG and HTML save what the terminal shows, so they combine with the
tables and not with a document format; export paths are checked before anything runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rnnshape.errors import UsageError


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
            from rnnshape.render.export import check_path  # Rich's export machinery, only when exporting

            check_path(flag, path)

    def print(self, *, rich: Callable[[], object], json: Callable[[], str] | None = None,
              csv: Callable[[], str] | None = None, markdown: Callable[[], str] | None = None,
              console=None) -> None:
        """Write the chosen document, or print the tables (and save the exports)."""
        for on, text in ((self.json, json), (self.csv, csv), (self.markdown, markdown)):
            if on and text is not None:
                emit(text())
                return
        show(rich(), svg=self.svg, html=self.html, console=console)


def emit(text: str) -> None:
    """One document on stdout, ending in exactly one newline."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def show(renderable, *, svg: str | None = None, html: str | None = None, console=None) -> None:
    """Print a Rich renderable on stdout (no line cut, no trailing spaces) and save it as SVG/HTML at the
    terminal's width."""
    from rnnshape.render.screen import print_to, stdout_console

    console = console or stdout_console()
    print_to(console, renderable)
    for path, fmt in ((svg, "svg"), (html, "html")):
        if path:
            from rnnshape.render.export import export

            export(renderable, path, width=console.width, fmt=fmt)
            sys.stderr.write(f"rnnshape: saved {path}\n")


_QUIET = [False]


def configure(*, quiet: bool = False) -> None:
    """--quiet/-q: warnings and notes stay off stderr (errors never do; warnings stay in the JSON)."""
    _QUIET[0] = quiet


def warn(warnings: Iterable[str], label: str | None = None) -> None:
    if _QUIET[0]:
        return
    for w in warnings:
        sys.stderr.write(f"rnnshape: warning: {label + ': ' if label else ''}{w}\n")


def note(text: str) -> None:
    if _QUIET[0]:
        return
    sys.stderr.write(f"rnnshape: note: {text}\n")
