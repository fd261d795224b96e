"""What does ``rnnshape.watch()`` cost? Peak memory and time of an evaluation loop, with and without it (issue 23).

Run:  python tests/benchmarks/bench_watch.py [--steps 800] [--reps 3] [--size 256] [--json]
      python tests/benchmarks/bench_watch.py --one watch|plain --steps 800   (one process, prints one JSON line)

The loop is word_language_model's evaluate() without ``torch.no_grad()`` (a common slip): an LSTM(size, size, 2)
language model, 35 × 20 token batches, the hidden repackaged each step, the output dropped. Each variant runs in
a fresh process (peak RSS, ``ru_maxrss``, is per process); the variants alternate, so machine load hits both.
Per-call overhead is measured where the module's own work does not drown it: a tiny LSTM(8, 16) on (5, 2, 8),
``--calls`` calls per block, plain and watched blocks alternating in one process, single-threaded; the figure
is median(watched) - median(plain) per call, with the blocks' ranges.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def loop(steps: int, watched: bool, size: int = 256) -> dict:
    import torch
    from torch import nn

    torch.manual_seed(0)
    torch.set_num_threads(1)

    class LM(nn.Module):
        def __init__(self, vocab=1000, size=256):
            super().__init__()
            self.embed = nn.Embedding(vocab, size)
            self.rnn = nn.LSTM(size, size, 2)
            self.out = nn.Linear(size, vocab)

        def forward(self, x, hidden):
            out, hidden = self.rnn(self.embed(x), hidden)
            return self.out(out), hidden

    model = LM(size=size).eval()
    data = torch.randint(0, 1000, (35, 20))
    hidden = (torch.zeros(2, 20, size), torch.zeros(2, 20, size))
    model(data, hidden)  # warm-up, outside the measurement
    import contextlib

    import rnnshape
    import rnnshape.api.trace
    import rnnshape.model.predict  # both variants pay the same imports: the comparison is of the loop

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    context = rnnshape.watch(model) if watched else contextlib.nullcontext()
    start = time.perf_counter()
    with context as t:
        for _ in range(steps):
            hidden = tuple(h.detach() for h in hidden)
            output, hidden = model(data, hidden)
            loss = output.float().mean()  # evaluate() sums a loss; no backward
    seconds = time.perf_counter() - start
    calls = sum(c.count for c in t.calls) if watched else steps
    del loss
    return {"variant": "watch" if watched else "plain", "steps": steps, "calls": calls, "seconds": seconds,
            "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "rss_before_kib": before}


def per_call(calls: int = 1000, blocks: int = 7) -> dict:
    """Seconds per call of a tiny LSTM, plain and watched, in alternating blocks."""
    import contextlib

    import torch
    from torch import nn

    import rnnshape

    torch.set_num_threads(1)
    module, x = nn.LSTM(8, 16).eval(), torch.randn(5, 2, 8)

    def block(watched: bool) -> float:
        h = None
        start = time.perf_counter()
        with rnnshape.watch(module) if watched else contextlib.nullcontext():
            for _ in range(calls):
                _, h = module(x, h)
                h = tuple(s.detach() for s in h)
        return (time.perf_counter() - start) / calls

    block(False), block(True)  # warm-up
    plain, watched = [], []
    for _ in range(blocks):
        plain.append(block(False))
        watched.append(block(True))
    return {"plain_s": plain, "watched_s": watched, "calls_per_block": calls,
            "overhead_s": statistics.median(watched) - statistics.median(plain)}


def one(variant: str, steps: int, size: int = 256) -> dict:
    """One variant in a fresh process (what tests/test_trace_watch.py calls)."""
    out = subprocess.run([sys.executable, __file__, "--one", variant, "--steps", str(steps), "--size", str(size)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--size", type=int, default=256, help="embedding and hidden size")
    parser.add_argument("--one", choices=("watch", "plain"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(loop(args.steps, args.one == "watch", args.size)))
        return
    rows = {"plain": [], "watch": []}
    for _ in range(args.reps):
        for variant in ("plain", "watch"):
            rows[variant].append(one(variant, args.steps, args.size))
    summary = {}
    for variant, runs in rows.items():
        summary[variant] = {"peak_rss_mib": statistics.median(r["peak_rss_kib"] for r in runs) / 1024,
                            "seconds": statistics.median(r["seconds"] for r in runs),
                            "seconds_range": [min(r["seconds"] for r in runs), max(r["seconds"] for r in runs)],
                            "calls": runs[0]["calls"], "runs": len(runs)}
    extra = summary["watch"]["seconds"] - summary["plain"]["seconds"]
    summary["overhead_per_call_s"] = extra / max(summary["watch"]["calls"], 1)
    summary["memory_ratio"] = summary["watch"]["peak_rss_mib"] / summary["plain"]["peak_rss_mib"]
    summary["tiny"] = per_call()
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    for variant in ("plain", "watch"):
        s = summary[variant]
        print(f"{variant:6} peak RSS {s['peak_rss_mib']:8.1f} MiB · loop {s['seconds']:.3f} s "
              f"({s['seconds_range'][0]:.3f} … {s['seconds_range'][1]:.3f}) · {s['calls']} calls · {s['runs']} runs")
    print(f"watch/plain peak memory {summary['memory_ratio']:.3f} × · loop time overhead "
          f"{summary['overhead_per_call_s'] * 1e6:.0f} µs per recurrent call")
    tiny = summary["tiny"]
    us = [round(v * 1e6) for v in tiny["plain_s"]], [round(v * 1e6) for v in tiny["watched_s"]]
    print(f"tiny LSTM(8, 16): {tiny['overhead_s'] * 1e6:.0f} µs per call added by watch (median of "
          f"{len(us[0])} blocks of {tiny['calls_per_block']}; plain {min(us[0])} … {max(us[0])} µs, "
          f"watched {min(us[1])} … {max(us[1])} µs per call)")


if __name__ == "__main__":
    main()
