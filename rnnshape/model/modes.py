"""Which options mean something in which mode: every combination rule of the commands, stated once.

The rule (README, "Options that combine"): an option the chosen mode ignores is
- *redundant* when it only tunes something that will not happen (how long or on how many threads to
  time, whether to show the live display, not to time or not to run what runs nothing anyway): a
  one-line warning, and the run goes on;
- a *contradiction* when it asks for something the mode will not produce (a backward or loop timing, a
  view, an export, a FLOP cross-check): a usage error naming both.
The CLI, compare, sweep and the Python API all ask here. Value rules live in rnnshape.model.rules.

>>> untimed(no_time=False, dry_run=True)
'--dry-run'
>>> ignored({"threads": "--threads"}, untimed=untimed(dry_run=True))
['--threads has no effect with --dry-run: nothing is timed']
>>> ignored({"vs_loop": "--vs-loop"}, untimed="--no-time")
Traceback (most recent call last):
...
rnnshape.errors.UsageError: --vs-loop has no effect with --no-time: nothing is timed
>>> ignored({"backward": "--backward"}, untimed="--dry-run")
[]
"""

from __future__ import annotations

from collections.abc import Mapping

from rnnshape.errors import UsageError

TIMING = frozenset({"min_time", "threads", "backward", "vs_loop"})
# Everything a shape comparison (--check FILE) ignores: it runs nothing and prints its own answer.
OUTPUT = TIMING | {"code", "dry_run", "explain", "diagram", "svg", "html", "no_time", "check_flops", "no_live",
                   "deploy", "layer", "reverse", "gate"}
# Asked of an untimed run, these are answered from the predictor: --backward gives the training step's memory
# estimate and its parts (rnnshape.model.memory), which needs no run (issue 24).
PREDICTED = frozenset({"backward"})
# Options that only tune what would not happen: ignoring them loses nothing.
REDUNDANT = frozenset({"min_time", "threads", "no_time", "dry_run", "no_live"})


def untimed(*, no_time: bool = False, dry_run: bool = False, meta: bool = False) -> str | None:
    """The flag that makes this run untimed, or None when it is timed."""
    return "--no-time" if no_time else "--dry-run" if dry_run else "--device meta" if meta else None


def ignored(given: Mapping[str, str], *, check: bool = False, code: bool = False,
            untimed: str | None = None) -> list[str]:
    """``given`` maps each option typed ({parameter name: flag}) to its flag. Returns a warning for each
    redundant one the mode ignores; raises a UsageError for the first contradiction."""
    warnings = []
    for name, flag in given.items():
        why = None
        if check and name in OUTPUT:
            why = f"{flag} has no effect with --check, which compares shapes and runs nothing"
        elif code and name in TIMING | {"check_flops", "no_live", "dry_run", "no_time", "deploy"}:
            why = f"{flag} has no effect with --code, which prints code and runs nothing"
        elif untimed and name in TIMING - PREDICTED:
            why = f"{flag} has no effect with {untimed}: nothing is timed"
        if why and name in REDUNDANT:
            warnings.append(why)
        elif why:
            raise UsageError(why, hint=f"drop {flag}")
    return warnings


def refuse_with_code(*, code: bool, json: bool, extras: Mapping[str, bool]) -> None:
    """--code prints a script: it takes no document format and no other view."""
    if code and json:
        raise UsageError("--code and --json cannot be combined: each prints its own document on stdout")
    given = [flag for flag, on in extras.items() if on]
    if code and given:
        raise UsageError(f"--code cannot be combined with {given[0]}: --code prints only the code")


def refuse_deploy(*, dry_run: bool, device: str, dtype: str) -> None:
    """--deploy runs every deployed form from eager float32 on a real device."""
    if dry_run:
        raise UsageError("--deploy runs every deployed form with torch, so it cannot be combined with --dry-run",
                         hint="drop --dry-run")
    if device == "meta":
        raise UsageError("--deploy needs a real device: meta runs compute nothing to compare (got --device meta)",
                         hint="use --device cpu or cuda")
    if dtype != "float32":
        raise UsageError(f"--deploy starts from eager float32 and adds the bfloat16 and float16 rows itself "
                         f"(got --dtype {dtype})", hint="drop --dtype")
