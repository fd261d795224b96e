"""Which options mean something in which mode: every combination rule of the commands, stated once.

The rule (README, "Options that combine"): an option the chosen mode ignores is
- *redundant* when it only tunes something that will not happen (how long or on how many threads to
  time, whether to show the live display, not to time or not to run what runs nothing anyway): a
  one-line warning, and the run goes on;
- a *contradiction* when it asks for something the mode will not produce (a backward or loop timing, a
  view, an export, a FLOP cross-check): a usage error naming both.
The CLI, compare, sweep and the Python API all ask here. Value rules live in rnnshape.model.spec.
Options are named by the option table's names; each edge words them (``name``: flags for the CLI).

>>> untimed(time=True, dry_run=True)
'{dry_run=True}'
>>> ignored(["threads"], untimed=untimed(dry_run=True))
['threads has no effect with dry_run=True: nothing is timed']
>>> ignored(["vs_loop"], untimed="{time=False}")
Traceback (most recent call last):
...
rnnshape.errors.UsageError: vs_loop has no effect with time=False: nothing is timed
>>> ignored(["backward"], untimed="{dry_run=True}")
[]
"""

from __future__ import annotations

from collections.abc import Iterable

from rnnshape.errors import Namer, UsageError, fill, python_name

TIMING = frozenset({"min_time", "threads", "backward", "vs_loop"})
# Everything a shape comparison (--check FILE) ignores: it runs nothing and prints its own answer.
OUTPUT = TIMING | {"code", "dry_run", "explain", "diagram", "svg", "html", "time", "check_flops", "live",
                   "deploy", "layer", "reverse", "gate"}
# Asked of an untimed run, these are answered from the predictor: --backward gives the training step's memory
# estimate and its parts (rnnshape.model.memory), which needs no run (issue 24).
PREDICTED = frozenset({"backward"})
# Options that only tune what would not happen: ignoring them loses nothing.
REDUNDANT = frozenset({"min_time", "threads", "time", "dry_run", "live"})
_SWITCHED = {"time": "{time=False}", "live": "{live=False}"}  # the options whose flag turns something off


def untimed(*, time: bool = True, dry_run: bool = False, meta: bool = False) -> str | None:
    """What makes this run untimed (an option, as a ``{name=value}`` template), or None when it is timed."""
    return "{time=False}" if not time else "{dry_run=True}" if dry_run else "{device=meta}" if meta else None


def ignored(given: Iterable[str], *, check: bool = False, code: bool = False, untimed: str | None = None,
            name: Namer = python_name) -> list[str]:
    """``given`` names each option typed. Returns a warning (worded by ``name``) for each redundant one the mode
    ignores; raises a UsageError for the first contradiction."""
    warnings = []
    for option in given:
        said = _SWITCHED.get(option, "{%s}" % option)
        why = None
        if check and option in OUTPUT:
            why = said + " has no effect with {check}, which compares shapes and runs nothing"
        elif code and option in TIMING | {"check_flops", "live", "dry_run", "time", "deploy"}:
            why = said + " has no effect with {code=True}, which prints code and runs nothing"
        elif untimed and option in TIMING - PREDICTED:
            why = said + f" has no effect with {untimed}: nothing is timed"
        if why and option in REDUNDANT:
            warnings.append(fill(why, name))
        elif why:
            raise UsageError(field=option, message=why, hint="drop " + said)
    return warnings


def refuse_with_code(*, code: bool, json: bool, extras: Iterable[str]) -> None:
    """--code prints a script: it takes no document format and no other view (``extras``: the views given)."""
    if code and json:
        raise UsageError(field="code", message="{code=True} and {json=True} cannot be combined: each prints its own "
                         "document on stdout")
    given = [e for e in extras if not isinstance(extras, dict) or extras[e]]
    if code and given:
        raise UsageError(field="code", message="{code=True} cannot be combined with {%s}: {code=True} prints only "
                         "the code" % given[0].lstrip("-").replace("-", "_"))


def refuse_deploy(*, dry_run: bool, device: str, dtype: str) -> None:
    """--deploy runs every deployed form from eager float32 on a real device."""
    if dry_run:
        raise UsageError(field="deploy", message="{deploy=True} runs every deployed form with torch, so it cannot be "
                         "combined with {dry_run=True}", hint="drop {dry_run=True}")
    if device == "meta":
        raise UsageError(field="deploy", message="{deploy=True} needs a real device: meta runs compute nothing to "
                         "compare (got {device=meta})", hint="use {device=cpu} or cuda")
    if dtype != "float32":
        raise UsageError(field="deploy", message="{deploy=True} starts from eager float32 and adds the bfloat16 and "
                         "float16 rows itself (got {dtype=%s})" % dtype, hint="drop {dtype}")
