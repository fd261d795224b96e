"""Which options mean something in which mode: every combination rule of the kind commands, stated once.

An option the chosen mode would silently ignore is refused, named, with the mode that ignores it (the
CLI, compare, sweep and the Python API all ask here). Value rules live in rnnshape.model.rules.

>>> untimed(no_time=False, dry_run=True)
'--dry-run'
>>> refuse_ignored({"threads": "--threads"}, untimed=untimed(dry_run=True))
Traceback (most recent call last):
...
rnnshape.errors.UsageError: --threads has no effect with --dry-run: nothing is timed
"""

from __future__ import annotations

from collections.abc import Mapping

from rnnshape.errors import UsageError

TIMING = frozenset({"min_time", "threads", "backward", "vs_loop"})
# Everything a shape comparison (--check FILE) ignores: it runs nothing and prints its own answer.
OUTPUT = TIMING | {"code", "dry_run", "explain", "diagram", "svg", "html", "no_time", "check_flops", "no_live",
                   "deploy"}


def untimed(*, no_time: bool = False, dry_run: bool = False, meta: bool = False) -> str | None:
    """The flag that makes this run untimed, or None when it is timed."""
    return "--no-time" if no_time else "--dry-run" if dry_run else "--device meta" if meta else None


def refuse_ignored(given: Mapping[str, str], *, check: bool = False, code: bool = False,
                   untimed: str | None = None) -> None:
    """``given`` maps each option typed ({parameter name: flag}); refuse the first one the mode ignores."""
    for name, flag in given.items():
        if check and name in OUTPUT:
            raise UsageError(f"{flag} has no effect with --check, which compares shapes and runs nothing",
                             hint=f"drop {flag}")
        if code and name in TIMING | {"check_flops", "no_live", "deploy"}:
            raise UsageError(f"{flag} has no effect with --code, which prints code and runs nothing",
                             hint=f"drop {flag}")
        if untimed and name in TIMING:
            raise UsageError(f"{flag} has no effect with {untimed}: nothing is timed", hint=f"drop {flag}")


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
