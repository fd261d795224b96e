"""What `rnnshape compare` and `rnnshape sweep` do once the CLI has built their specs: measure, print.

No Typer here (the CLI modules own the options). stdout carries the result, stderr the notes and the
progress bar. Ctrl-C stops the measuring, prints what was measured (marked interrupted) and exits 130.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rnnshape.errors import UsageError
from rnnshape.model.report import Report
from rnnshape.model.spec import Spec

INTERRUPTED = 130


@dataclass(frozen=True)
class Run:
    dry_run: bool
    min_time: float
    threads: int | None
    backward: bool = False
    deploy: bool = False  # compare only: each entry's deployed variants


@dataclass(frozen=True)
class Output:
    json: bool = False
    csv: bool = False
    markdown: bool = False
    svg: str | None = None
    html: str | None = None

    def check(self) -> None:
        docs = [flag for flag, on in (("--json", self.json), ("--csv", self.csv), ("--markdown", self.markdown))
                if on]
        if len(docs) > 1:
            raise UsageError(f"{docs[0]} and {docs[1]} cannot be combined: each prints its own document on stdout")
        for flag, path in (("--svg", self.svg), ("--html", self.html)):
            if path is None:
                continue
            if docs:
                raise UsageError(f"{flag} cannot be combined with {docs[0]}: it saves what the terminal shows "
                                 f"(got {flag} {path})", hint=f"drop {docs[0]} to export the table")
            from rnnshape.render.export import check_path  # Rich's export machinery, only when exporting

            check_path(flag, path)


def analyzer(run: Run) -> Callable[[Spec], Report]:
    """The shared timing engine, `rnnshape.api.analyze`, with this run's options."""
    from rnnshape import api

    kwargs: dict = dict(dry_run=run.dry_run, min_time=run.min_time, threads=run.threads)
    if run.backward:
        if run.dry_run:
            raise UsageError("--backward measures time, and --dry-run does not run torch", hint="drop one of them")
        kwargs["backward"] = True
    if run.deploy:
        kwargs["deploy"] = True  # analyze refuses it with --dry-run, naming the flag
    return lambda spec: api.analyze(spec, **kwargs)


def measure_all(labels: Sequence[str], specs: Sequence[Spec], measure: Callable[[Spec], Report], *,
                timed: bool) -> tuple[list[Report], bool]:
    """Measure each spec in turn; on Ctrl-C keep what was done and say so (second value True).

    A timed run first measures the first spec once and discards it: the first measurement of a process
    runs cold (thread pool, allocator, kernel selection) and was up to 300x slow here, and the first entry
    is everyone's baseline.
    """
    from rnnshape.render.progress import progress_bar

    reports: list[Report] = []
    with progress_bar(len(specs) + timed, enabled=timed) as step:
        try:
            if timed and specs:
                step("warm-up")
                measure(specs[0])
            for label, spec in zip(labels, specs):
                step(label)
                reports.append(measure(spec))
        except KeyboardInterrupt:
            return reports, True
    return reports, False


def warn(labelled: Sequence[tuple[str, Report]]) -> None:
    seen: set[str] = set()
    for label, report in labelled:
        for w in report.warnings:
            if w not in seen:
                seen.add(w)
                sys.stderr.write(f"rnnshape: warning: {label}: {w}\n")


def compare(labels: Sequence[str], specs: Sequence[Spec], *, shared: str, run: Run, out: Output, console=None) -> int:
    from rnnshape.model.comparison import comparison
    from rnnshape.render import multi_export

    out.check()
    if run.deploy and (out.csv or out.markdown):
        flag = "--csv" if out.csv else "--markdown"
        raise UsageError(f"--deploy shows in the table and in --json, not in {flag}", hint="drop one of them")
    reports, interrupted = measure_all(labels, specs, analyzer(run), timed=not run.dry_run)
    warn(list(zip(labels, reports)))
    if not reports:
        return _interrupted(0, len(specs))
    result = comparison(labels, reports, shared=shared, planned=len(specs), interrupted=interrupted)
    _print(out, console, json=lambda: multi_export.compare_json(result), csv=lambda: multi_export.compare_csv(result),
           markdown=lambda: multi_export.compare_markdown(result), rich=lambda: _compare_view(result))
    return _interrupted(len(reports), len(specs)) if interrupted else 0


def sweep(varies, points: Sequence[tuple[int, ...]], specs: Sequence[Spec], *, run: Run, out: Output,
          console=None) -> int:
    from rnnshape.render import multi_export
    from rnnshape.model.sweep import Point, sweep_result

    out.check()
    labels = [", ".join(f"{v.option}={x}" for v, x in zip(varies, values)) for values in points]
    reports, interrupted = measure_all(labels, specs, analyzer(run), timed=not run.dry_run)
    warn(list(zip(labels, reports)))
    if not reports:
        return _interrupted(0, len(specs))
    result = sweep_result(varies, [Point(v, r) for v, r in zip(points, reports)], planned=len(specs),
                          interrupted=interrupted)
    _print(out, console, json=lambda: multi_export.sweep_json(result), csv=lambda: multi_export.sweep_csv(result),
           markdown=lambda: multi_export.sweep_markdown(result), rich=lambda: _sweep_view(result))
    return _interrupted(len(reports), len(specs)) if interrupted else 0


def _compare_view(result):
    from rnnshape.render.compare_view import render_comparison

    if any(e.report.deploy for e in result.entries):
        from rich.console import Group
        from rich.text import Text

        from rnnshape.render.deploy import deploy_columns

        return Group(render_comparison(result), Text(),
                     deploy_columns([(e.label, e.report.deploy) for e in result.entries]))
    return render_comparison(result)


def _sweep_view(result):
    from rnnshape.render.sweep_view import render_sweep

    return render_sweep(result)


def _print(out: Output, console, *, json, csv, markdown, rich) -> None:
    for on, text in ((out.json, json), (out.csv, csv), (out.markdown, markdown)):
        if on:
            sys.stdout.write(text())
            sys.stdout.flush()
            return
    from rich.console import Console

    from rnnshape.render.export import export

    console = console or Console()
    renderable = rich()
    console.print(renderable)
    for path, fmt in ((out.svg, "svg"), (out.html, "html")):
        if path:
            export(renderable, path, width=console.width, fmt=fmt)
            sys.stderr.write(f"rnnshape: saved {path}\n")


def _interrupted(done: int, total: int) -> int:
    shown = "nothing to show" if done == 0 else f"showing the {done} of {total} measured"
    sys.stderr.write(f"rnnshape: interrupted: {shown}\n")
    return INTERRUPTED
