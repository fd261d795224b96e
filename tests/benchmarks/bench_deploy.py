"""--deploy's int8 and ONNX Runtime medians against an independent measurement (not collected by pytest).

The independent side builds its own nn.LSTM/GRU, quantizes it with quantize_dynamic, exports it with
torch.onnx and opens its own ONNX Runtime session, then times each with time.perf_counter in plain loops
(no torch.utils.benchmark, no rnnshape code). Each rep runs rnnshape's deploy lens and the direct
measurement back to back and prints the ratio of rnnshape's median to the direct one per variant, for
the variant itself and for its ratio to eager.

    python tests/benchmarks/bench_deploy.py --kind lstm --reps 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
import warnings

import torch
from torch import nn

CONFIG = dict(input_size=64, hidden_size=128, num_layers=2)


def direct(kind: str, threads: int, seconds: float) -> dict[str, float]:
    """Median seconds per call of eager, int8-dynamic and ONNX Runtime, timed here with perf_counter."""
    import onnxruntime as ort

    torch.manual_seed(0)
    module = getattr(nn, kind.upper())(**CONFIG).eval()
    x = torch.randn(10, 3, CONFIG["input_size"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        int8 = torch.ao.quantization.quantize_dynamic(nn.ModuleList([module]), dtype=torch.qint8)[0]
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(module, (x,), None, dynamo=True, verbose=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(program.model_proto.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x.numpy()}
    fns = {"eager": lambda: module(x), "int8-dynamic": lambda: int8(x), "onnxruntime": lambda: session.run(None, feed)}
    torch.set_num_threads(threads)
    samples: dict[str, list[float]] = {name: [] for name in fns}
    with torch.no_grad():
        for fn in fns.values():
            for _ in range(3):
                fn()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:  # interleaved call by call
            for name, fn in fns.items():
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in samples.items()}


def via_rnnshape(kind: str, threads: int, min_time: float) -> dict[str, float]:
    from rnnshape.api import analyze

    report = analyze(kind, input_size=CONFIG["input_size"], hidden_size=CONFIG["hidden_size"],
                     num_layers=CONFIG["num_layers"], threads=threads, min_time=min_time, deploy=True)
    return {r.variant: r.forward.median for r in report.deploy.rows if r.forward is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="lstm", choices=["lstm", "gru"])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--min-time", type=float, default=0.2)
    args = parser.parse_args()
    for rep in range(args.reps):
        ours = via_rnnshape(args.kind, args.threads, args.min_time)
        theirs = direct(args.kind, args.threads, seconds=3 * 3 * args.min_time)
        line = [f"rep {rep}"]
        for name in ("int8-dynamic", "onnxruntime"):
            line.append(f"{name}: rnnshape {ours[name] * 1e6:.0f} µs, direct {theirs[name] * 1e6:.0f} µs, "
                        f"ratio {ours[name] / theirs[name]:.2f}; × eager {ours[name] / ours['eager']:.2f} vs "
                        f"{theirs[name] / theirs['eager']:.2f}")
        print(" | ".join(line))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
