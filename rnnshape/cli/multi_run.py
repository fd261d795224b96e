"""How `rnnshape compare` and `rnnshape sweep` measure their configurations: the shared timing engine,
one configuration after another behind a progress bar on stderr. Ctrl-C stops the measuring; the command
prints what was measured (marked interrupted) and exits 130.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rnnshape.cli.edge import INTERRUPTED
from rnnshape.cli.output import warn
from rnnshape.model.report import Report
from rnnshape.model.spec import Spec


@dataclass(frozen=True)
class Run:
    dry_run: bool
    min_time: float
    threads: int | None
    backward: bool = False
    deploy: bool = False  # compare only: each entry's deployed variants


def analyzer(run: Run) -> Callable[[Spec], Report]:
    """The shared timing engine, `rnnshape.api.analyze`, with this run's options."""
    from rnnshape import api

    kwargs: dict = dict(dry_run=run.dry_run, min_time=run.min_time, threads=run.threads, cli=True)
    if run.backward:
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


def warn_all(labelled: Sequence[tuple[str, Report]]) -> None:
    """Each report's warnings once, labelled with the first configuration that raised it."""
    seen: set[str] = set()
    for label, report in labelled:
        for w in report.warnings:
            if w not in seen:
                seen.add(w)
                warn([w], label)


def interrupted(done: int, total: int) -> int:
    shown = "nothing to show" if done == 0 else f"showing the {done} of {total} measured"
    sys.stderr.write(f"rnnshape: interrupted: {shown}\n")
    return INTERRUPTED
