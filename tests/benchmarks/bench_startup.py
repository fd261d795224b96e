"""Whole-process wall time of rnnshape commands against `python -c "import torch"`, side by side.

Run: python tests/benchmarks/bench_startup.py [--repeat 9]
The machine is shared and noisy, so the commands are interleaved round by round and the ratio of
medians is what counts, never an absolute time. Targets (issues 2 and 4):
  default command   <= ~1.3x import torch
  --dry-run --json  <= 0.15x import torch
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

BASELINE = [sys.executable, "-c", "import torch"]


def commands() -> dict[str, list[str]]:
    exe = shutil.which("rnnshape")
    base = [exe] if exe else [sys.executable, "-m", "rnnshape"]
    return {
        "import torch": BASELINE,
        "rnnshape lstm --layers 4 --bidirectional": base + ["lstm", "--layers", "4", "--bidirectional"],
        "... --threads 1": base + ["lstm", "--layers", "4", "--bidirectional", "--threads", "1"],
        "... --no-time": base + ["lstm", "--layers", "4", "--bidirectional", "--no-time"],
        "... --dry-run --json": base + ["lstm", "--layers", "4", "--bidirectional", "--dry-run", "--json"],
        "rnnshape --help": base + ["--help"],
    }


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    cmds = commands()
    for cmd in cmds.values():  # warm the file cache
        wall(cmd)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(args.repeat):
        for name, cmd in cmds.items():
            times[name].append(wall(cmd))
    base = statistics.median(times["import torch"])
    print(f"{'command':45} {'median':>9} {'ratio':>7}   (interleaved, {args.repeat} rounds)")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:45} {med * 1000:7.0f} ms {med / base:6.2f}x")


if __name__ == "__main__":
    main()
