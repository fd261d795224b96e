"""Benchmark (not a test): is rnnshape's timing right at its defaults, idle and beside a CPU-bound process?

Issue 12's check, on the machine it runs on:
1. torch.utils.benchmark medians of nn.RNN/LSTM/GRU(100, 512, 2), seq 10, batch 3, on 1 thread, on torch's
   default count and on the physical core count (the issue's table, one row for this machine state);
2. `rnnshape compare rnn lstm gru --hidden-size 512 --layers 2 --json` at its defaults, REPS times: each
   forward median against the fastest median torch.utils.benchmark reached for that module at any thread
   count (goal: within 1.5 × idle, 2 × busy), and each ratio against the true one (goal: within 2 ×);
3. the wall time of `rnnshape lstm` on a configuration whose forward takes about 0.3 s, against
   4 forwards + 3 s (and its --no-time wall time, for the startup it shares).

Run:  python tests/benchmarks/bench_timing.py [--busy] [--reps 3]
      python tests/benchmarks/bench_timing.py --long-only [--reps 3]   (part 3 alone, REPS times: medians)
--busy starts one CPU-bound process (`while True: pass`) for the whole run and stops it at the end.
The reference medians are taken before and after the rnnshape runs; the faster of the two counts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

KINDS = ("RNN", "LSTM", "GRU")
IDLE_LIMIT, BUSY_LIMIT, RATIO_LIMIT = 1.5, 2.0, 2.0


def rnnshape() -> list[str]:
    exe = shutil.which("rnnshape")
    return [exe] if exe else [sys.executable, "-m", "rnnshape"]


def reference(min_time: float, device: str = "cpu") -> dict[str, dict[int, float]]:
    """torch.utils.benchmark medians per kind and thread count (seconds)."""
    import torch
    import torch.utils.benchmark as benchmark

    from rnnshape.run.measure import usable_cores

    counts = sorted({1, torch.get_num_threads(), usable_cores() or 1})
    torch.manual_seed(0)
    out: dict[str, dict[int, float]] = {}
    for kind in KINDS:
        m = getattr(torch.nn, kind)(100, 512, 2).eval().to(device)
        x = torch.randn(10, 3, 100, device=device)
        out[kind] = {}
        for n in counts:
            timer = benchmark.Timer(stmt="with torch.no_grad(): m(x)", globals={"m": m, "x": x, "torch": torch},
                                    num_threads=n)
            out[kind][n] = timer.blocked_autorange(min_run_time=min_time).median
    return out


def compare_run(device: str = "cpu") -> tuple[dict[str, float], dict[str, float], float, list[str]]:
    """rnnshape compare at its defaults: medians, ratios (× rnn), wall seconds, warnings."""
    cmd = rnnshape() + ["compare", "rnn", "lstm", "gru", "--hidden-size", "512", "--layers", "2", "--json"]
    cmd += ["--device", device] if device != "cpu" else []
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    doc = json.loads(proc.stdout)
    medians = {e["label"].upper(): e["timing"]["forward"]["median_s"] for e in doc["entries"]}
    ratios = {e["label"].upper(): e["relative"]["forward"] for e in doc["entries"]}
    return medians, ratios, wall, [w for w in proc.stderr.splitlines() if w]


def long_forward(target: float = 0.3) -> tuple[list[str], float]:
    """An LSTM configuration whose forward takes about ``target`` seconds here, and that forward's time."""
    import torch

    m = torch.nn.LSTM(512, 512, 2).eval()
    seq = 25
    with torch.no_grad():
        x = torch.randn(seq, 32, 512)
        m(x)
        best = min(_once(m, x) for _ in range(2))
        seq = max(2, round(seq * target / best))
        x = torch.randn(seq, 32, 512)
        forward = min(_once(m, x) for _ in range(2))
    args = ["lstm", "-i", "512", "-H", "512", "-l", "2", "-L", str(seq), "-N", "32", "--no-live"]
    return args, forward


def _once(m, x) -> float:
    start = time.perf_counter()
    m(x)
    return time.perf_counter() - start


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--busy", action="store_true", help="run one CPU-bound process beside everything")
    ap.add_argument("--reps", type=int, default=3, help="rnnshape compare runs")
    ap.add_argument("--min-time", type=float, default=0.5, help="torch.utils.benchmark min_run_time per count")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (Timer synchronises CUDA itself; part 3 is CPU only)")
    ap.add_argument("--long-only", action="store_true", help="only part 3 (the long forward), --reps times")
    args = ap.parse_args()
    if args.long_only:
        return long_only(args.reps)
    import torch

    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        if hog:
            time.sleep(1.0)
        state = "busy (one CPU-bound process beside it)" if hog else "idle"
        print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, torch default {torch.get_num_threads()} threads, "
              f"{state}, load average {os.getloadavg()[0]:.2f}")
        before = reference(args.min_time, args.device)
        runs = [compare_run(args.device) for _ in range(args.reps)]
        after = reference(args.min_time, args.device)
        cfg, fwd, long_wall, no_time = [], 0.0, 0.0, 0.0
        if args.device == "cpu":
            cfg, fwd = long_forward()
            long_wall = wall(rnnshape() + cfg)
            no_time = wall(rnnshape() + cfg + ["--no-time"])
    finally:
        if hog:
            hog.terminate()
            hog.wait()
    report(before, after, runs, cfg, fwd, long_wall, no_time, BUSY_LIMIT if args.busy else IDLE_LIMIT)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def long_only(reps: int) -> None:
    """Part 3 alone: the long forward's whole command, its --no-time run and `import torch`, interleaved."""
    import statistics

    load = os.getloadavg()[0]
    cfg, fwd = long_forward()
    rows = [(wall(rnnshape() + cfg), wall(rnnshape() + cfg + ["--no-time"]),
             wall([sys.executable, "-c", "import torch"])) for _ in range(reps)]
    whole, no_time, torch_s = (statistics.median(r[i] for r in rows) for i in range(3))
    budget = 4 * fwd + 3
    print(f"3. rnnshape {' '.join(cfg)}: one forward {fwd:.3f} s here; medians of {reps}, load average "
          f"{load:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"   whole command {whole:.2f} s (--no-time {no_time:.2f} s, import torch {torch_s:.2f} s); "
          f"budget 4 forwards + 3 s = {budget:.2f} s: {'met' if whole < budget else 'NOT met'}; "
          f"timing cost {whole - no_time:.2f} s = {(whole - no_time) / fwd:.1f} forwards")


def report(before, after, runs, cfg, fwd, long_wall, no_time, limit) -> None:
    counts = sorted(before["RNN"])
    print("\n1. torch.utils.benchmark medians (ms), before / after the rnnshape runs")
    for kind in KINDS:
        cells = " · ".join(f"{n} thread{'s' if n > 1 else ''} {before[kind][n] * 1e3:.2f} / {after[kind][n] * 1e3:.2f}"
                           for n in counts)
        print(f"   {kind:<5} {cells}")
    best = {k: min(min(before[k].values()), min(after[k].values())) for k in KINDS}
    true = {k: best[k] / best["RNN"] for k in KINDS}
    print("   fastest at any count: " + ", ".join(f"{k} {best[k] * 1e3:.2f} ms" for k in KINDS)
          + "; true ratios " + ", ".join(f"{k} ×{true[k]:.2f}" for k in KINDS[1:]))
    print(f"\n2. rnnshape compare rnn lstm gru --hidden-size 512 --layers 2 (defaults), {len(runs)} runs")
    ok = True
    for i, (medians, ratios, wall_s, warnings) in enumerate(runs, 1):
        over = {k: medians[k] / best[k] for k in KINDS}
        off = {k: max(ratios[k] / true[k], true[k] / ratios[k]) for k in KINDS[1:]}
        good = all(v <= limit for v in over.values()) and all(v <= RATIO_LIMIT for v in off.values())
        ok &= good
        print(f"   run {i} ({wall_s:.1f} s): " + ", ".join(
            f"{k} {medians[k] * 1e3:.2f} ms = {over[k]:.2f} × best" for k in KINDS)
            + "; ratios " + ", ".join(f"{k} ×{ratios[k]:.2f} ({off[k]:.2f} × off)" for k in KINDS[1:])
            + ("  OK" if good else "  MISSED"))
        for w in warnings:
            print(f"      {w}")
    print(f"   goal: every median within {limit} × best, every ratio within {RATIO_LIMIT} × the true one: "
          f"{'met' if ok else 'NOT met'}")
    if not cfg:
        return
    budget = 4 * fwd + 3
    print(f"\n3. rnnshape {' '.join(cfg)}: one forward {fwd:.3f} s here")
    print(f"   whole command {long_wall:.2f} s (--no-time {no_time:.2f} s); budget 4 forwards + 3 s = {budget:.2f} s: "
          f"{'met' if long_wall < budget else 'NOT met'}")


if __name__ == "__main__":
    main()
