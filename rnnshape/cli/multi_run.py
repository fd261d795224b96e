"""How `rnnshape compare` and `rnnshape sweep` measure their configurations: the shared timing engine,
all of them in alternating rounds behind a progress bar on stderr. Ctrl-C stops the measuring; the
command prints what was measured (marked interrupted) and exits 130.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rnnshape.cli import output
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


def measure_all(labels: Sequence[str], specs: Sequence[Spec], run: Run) -> tuple[list[Report], bool]:
    """Build every spec, then time them together in alternating rounds (rnnshape.api.analyze_many).

    Rounds alternate the configurations (A, B, C, A, B, C, ...), so a change of load hits all of them
    alike and each ratio can be taken round by round (issue 12). On Ctrl-C keep what was measured and say
    so (second value True): after a full round that is every configuration, with fewer runs; before it,
    nothing.
    """
    from rnnshape import api
    from rnnshape.render.progress import progress_bar

    timed = not run.dry_run

    def building(i: int) -> str:
        return f"building {labels[i]}" if i < len(labels) else "timing, in alternating rounds"

    with progress_bar(len(specs) + timed, enabled=timed and not output.env().quiet) as step:
        try:
            reports = api.analyze_many(specs, dry_run=run.dry_run, min_time=run.min_time, threads=run.threads,
                                       backward=run.backward, step=lambda i: step(building(i)), cli=True,
                                       deploy=run.deploy, note=output.note)
        except api.Interrupted as stop:
            return stop.reports, True
        except KeyboardInterrupt:
            return [], True
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
    if done == total:
        output.say(f"interrupted: showing all {total}, measured for fewer rounds than asked")
        return INTERRUPTED
    shown = "nothing to show" if done == 0 else f"showing the {done} of {total} measured"
    output.say(f"interrupted: {shown}")
    return INTERRUPTED
