"""Benchmark (not a test): is rnnshape's timing trustworthy, and is the default command cheap?

Prints two ratios, each measured side by side in one run:
1. rnnshape's reported forward median / torch.utils.benchmark run directly on the same configuration,
   in the same process, alternating (should be close to 1);
2. whole-process wall time of `rnnshape lstm --layers 4 --bidirectional` / `python -c "import torch"`,
   interleaved, several repetitions, median of the per-pair ratios (the goal: about 1.3 or less).

Run:  PYTHONPATH=$PWD python tests/benchmarks/bench_timing.py [--reps 9] [--threads N]

Read ratio 1 with the load average: on a busy machine torch's own block-size probe picks 100-call blocks
(about 50 ms each) that average in the CPU time other processes take, while rnnshape's capped blocks
(one call each here) let the median skip them; then rnnshape's median is the lower, uncontended one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def in_process(reps: int, threads: int, min_time: float, device: str = "cpu") -> list[tuple[float, float]]:
    import torch
    import torch.utils.benchmark as benchmark

    from rnnshape import analyze, run
    from rnnshape.model.spec import make_spec

    spec = make_spec("lstm", num_layers=4, bidirectional=True, device=device)
    built = run.build(spec)
    x = built.inputs["input"]
    pairs = []
    for _ in range(reps):
        ours = analyze(spec, min_time=min_time, threads=threads).timing.forward.median
        timer = benchmark.Timer(stmt="with torch.no_grad(): m(x)", globals={"m": built.module, "x": x, "torch": torch},
                                num_threads=threads)
        direct = timer.blocked_autorange(min_run_time=min_time).median
        pairs.append((ours, direct))
    return pairs


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def processes(reps: int) -> list[tuple[float, float]]:
    py = sys.executable
    ours = [py, "-m", "rnnshape", "lstm", "--layers", "4", "--bidirectional"]
    base = [py, "-c", "import torch"]
    wall(base), wall(ours)  # page cache warm-up, not counted
    return [(wall(ours), wall(base)) for _ in range(reps)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--threads", type=int, default=None, help="default: torch's thread count")
    ap.add_argument("--min-time", type=float, default=0.5, help="for ratio 1, both sides")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (Timer synchronises CUDA itself)")
    args = ap.parse_args()
    import torch

    threads = args.threads or torch.get_num_threads()
    print(f"torch {torch.__version__}, {args.device}, {threads} threads, load average {os.getloadavg()[0]:.2f}")

    pairs = in_process(args.reps, threads, args.min_time, args.device)
    ratios = [a / b for a, b in pairs]
    print(f"1. forward median, rnnshape / torch.utils.benchmark direct (min_time {args.min_time} s each, "
          f"{args.reps} alternating pairs):")
    for a, b in pairs:
        print(f"     {a * 1e6:8.1f} µs / {b * 1e6:8.1f} µs = {a / b:.3f}")
    print(f"   median ratio {statistics.median(ratios):.3f}")

    pairs = processes(args.reps)
    ratios = [a / b for a, b in pairs]
    print(f"2. wall time, `rnnshape lstm --layers 4 --bidirectional` / `python -c 'import torch'` "
          f"({args.reps} interleaved pairs):")
    print(f"     rnnshape median {statistics.median(a for a, _ in pairs):.3f} s, "
          f"import torch median {statistics.median(b for _, b in pairs):.3f} s")
    print(f"   median ratio {statistics.median(ratios):.3f}  (goal: <= 1.3)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
