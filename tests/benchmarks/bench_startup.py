"""Whole-process wall time of rnnshape commands against `python -c "import torch"`, side by side.

Run: python tests/benchmarks/bench_startup.py [--repeat 9] [--tree DIR ...]
The machine is shared and noisy, so the commands are interleaved round by round and the ratio of
medians is what counts, never an absolute time; the load average before and after is printed with them.
Beside wall time, each command's CPU time (user + system, all its threads) is reported the same way: on a
loaded machine it moves far less than wall time, so its ratio is the steadier estimate of what a quiet
machine would show (it counts a second thread's work twice, which wall time does not).
``--tree DIR`` also runs every command from another source tree (say, main exported with
``git archive main rnnshape | tar -x -C DIR``), interleaved with this one, for a before/after on one machine.
Targets (issue 21, on a quiet machine):
  default command   <= 1.15x import torch
  --dry-run --json  <= 0.08x import torch
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

BASELINE = [sys.executable, "-c", "import torch"]
# `python -m rnnshape` from a given source tree, whatever the installed (editable) rnnshape points to
FROM_TREE = ("import runpy, sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
             "sys.path.insert(0, sys.argv.pop(1)); sys.argv[0] = 'rnnshape'; "
             "runpy.run_module('rnnshape', run_name='__main__', alter_sys=True)")
ARGS = {
    "rnnshape lstm --layers 4 --bidirectional": ["lstm", "--layers", "4", "--bidirectional"],
    "... --threads 1": ["lstm", "--layers", "4", "--bidirectional", "--threads", "1"],
    "... --no-time": ["lstm", "--layers", "4", "--bidirectional", "--no-time"],
    "... --dry-run --json": ["lstm", "--layers", "4", "--bidirectional", "--dry-run", "--json"],
    "rnnshape --help": ["--help"],
}


def commands(trees: list[str]) -> dict[str, list[str]]:
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = {"import torch": BASELINE}
    for name, args in ARGS.items():
        out[name] = [sys.executable, "-c", FROM_TREE, here, *args]
        for i, tree in enumerate(trees):
            out[f"{name} [tree {i + 1}]"] = [sys.executable, "-c", FROM_TREE, tree, *args]
    return out


def wall(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--tree", action="append", default=[], help="another source tree to run interleaved")
    args = parser.parse_args()
    cmds = commands(args.tree)
    before = load()
    for cmd in cmds.values():  # warm the file cache
        wall(cmd)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for _ in range(args.repeat):
        for name, cmd in cmds.items():
            times[name].append(wall(cmd))
    base = [statistics.median(t[k] for t in times["import torch"]) for k in (0, 1)]
    print(f"{'command':52} {'wall':>9} {'ratio':>6} {'cpu':>9} {'ratio':>6}   (medians of {args.repeat} interleaved "
          f"rounds; load average before {before}, after {load()}; {os.cpu_count()} CPUs)")
    for i, tree in enumerate(args.tree):
        print(f"  [tree {i + 1}] = {tree}")
    for name, ts in times.items():
        w, c = (statistics.median(t[k] for t in ts) for k in (0, 1))
        print(f"{name:52} {w * 1000:6.0f} ms {w / base[0]:5.2f}x {c * 1000:6.0f} ms {c / base[1]:5.2f}x")


if __name__ == "__main__":
    main()
