"""How soon does a person see the answer? The default command, in a pseudo-terminal (issue 9).

Run:  python tests/benchmarks/bench_live.py [--reps 7] [--json]

Each repetition runs, interleaved so that machine load hits all alike:
  torch      python -c "import torch"                          (wall time: the yardstick)
  live       rnnshape lstm --layers 4 --bidirectional          on a pty: first table, verified, exit
  no-live    the same with --no-live                           on a pty: first table (= verified), exit
  dry-run    the same with --dry-run                           on a pty: first table, exit (the floor)
"First table" is the first time b"Parameters" has reached the terminal; "verified" the first time
b"verified by torch" has; "longest redraw gap" the longest the terminal received nothing in between.
Every figure is reported as a median and as a ratio to the median torch import. Bytecode is cached, as an
installed package has it (see bench_startup.py: one PYTHONPYCACHEPREFIX, PYTHONDONTWRITEBYTECODE cleared); the
first repetition is a warm-up that fills the cache and is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pty_util import PYTHON, spawn  # noqa: E402

COMMAND = ["lstm", "--layers", "4", "--bidirectional"]
VARIANTS = {"live": [], "no-live": ["--no-live"], "dry-run": ["--dry-run"]}
PYCACHE = str(Path.home() / ".cache" / "rnnshape-bench-pycache")
BYTECODE = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": PYCACHE}  # "" is unset for Python


def import_torch_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([PYTHON, "-c", "import torch"], check=True, env={**os.environ, **BYTECODE})
    return time.perf_counter() - start


def one_rep() -> dict:
    row = {"torch": import_torch_seconds()}
    for name, extra in VARIANTS.items():
        run = spawn([PYTHON, "-m", "rnnshape", *COMMAND, *extra], rows=60, cols=100, env=BYTECODE)
        if run.code != 0:
            raise SystemExit(f"{name}: exit {run.code}\n{run.data.decode(errors='replace')[-2000:]}")
        row[f"{name} first table"] = run.first(b"Parameters")
        if name != "dry-run":
            row[f"{name} verified"] = run.first(b"verified by torch")
        if name == "live":
            row["live longest redraw gap"] = longest_gap(run, row["live first table"], row["live verified"])
        row[f"{name} exit"] = run.wall
    return row


def longest_gap(run, start: float, end: float) -> float:
    """The longest the spinner stood still while torch worked (the GIL can starve the refresh thread)."""
    times = [start, *(t for t, _ in run.chunks if start < t < end), end]
    return max(b - a for a, b in zip(times, times[1:]))


def _load() -> str:
    import os

    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def summarise(rows: list[dict]) -> dict:
    medians = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
    torch = medians["torch"]
    return {key: {"median_s": m, "ratio_to_import_torch": m / torch} for key, m in medians.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    before = _load()
    one_rep()  # the warm-up: fills the bytecode cache
    rows = [one_rep() for _ in range(args.reps)]
    summary = summarise(rows)
    load = f"load average before {before}, after {_load()}"
    if args.json:
        print(json.dumps({"reps": args.reps, "command": ["rnnshape", *COMMAND], "load": load, "summary": summary,
                          "samples": rows}, indent=2))
        return
    print(f"rnnshape {' '.join(COMMAND)} in a 100x60 pty, {args.reps} interleaved reps, medians ({load})")
    print(f"{'':24} {'seconds':>9} {'× import torch':>15}")
    for key, s in summary.items():
        print(f"{key:24} {s['median_s']:9.3f} {s['ratio_to_import_torch']:15.3f}")


if __name__ == "__main__":
    main()
