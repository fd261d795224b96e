"""Time everything asked of a built configuration: forward, forward+backward, the cell loop, padded.

All statements (of one configuration, or of several for compare and sweep) are timed together by
:func:`rnnshape.run.rounds.time_groups`, alternating round by round, with the same --min-time and clock.
torch is imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rnnshape.model.memory import estimate
from rnnshape.model.report import Memory, Prediction, Timing
from rnnshape.model.spec import Spec
from rnnshape.model.stats import noise_warning
from rnnshape.model.threads import thread_findings
from rnnshape.run.measure import TimingOptions, no_grad, time_statements
from rnnshape.run.rounds import RoundsInterrupted, Statement

LABELS = {"forward": "forward", "backward": "forward+backward", "loop": "cell loop", "padded": "padded"}


def time_reports(runs: Sequence[tuple[Spec, Prediction, object]], opts: TimingOptions
                 ) -> list[tuple[Timing, list[str]]]:
    """Time several built configurations together: their statements alternate, round by round."""
    from rnnshape.run.kernel import graph_path, observe_kernel

    groups = [_statements(spec, built, opts) for spec, _, built in runs]
    timed = time_statements(groups, threads=opts.threads, min_time=opts.min_time, clock=opts.clock, note=opts.note)
    out = []
    for (spec, prediction, built), result in zip(runs, timed):
        stats = result.stats
        # one more call, measured: not after a Ctrl-C, which wants out now
        memory = None if result.interrupted else _memory(spec, prediction, built, backward=opts.backward)
        warnings = thread_findings(result.choice)
        warnings += [w for key, s in stats.items() if (w := noise_warning(LABELS[key], s, opts.min_time))]
        # The first dispatch mode of a process imports torch._dynamo (about 1.2 s): only --vs-loop pays for it.
        kernel = observe_kernel(built.forward) if opts.vs_loop else None
        # compare and sweep say which path each configuration ran, from the graph of one more forward
        path = kernel.path if kernel else (graph_path(built.forward) if len(runs) > 1 else None)
        out.append((Timing(**stats, kernel=kernel, memory=memory, threads=result.choice, path=path), warnings))
    if any(r.interrupted for r in timed):
        raise RoundsInterrupted(out)
    return out


def _statements(spec: Spec, built, opts: TimingOptions) -> dict:
    """Each statement to time; a training step runs in train mode (dropout acts), switched outside the clock."""
    group = {"forward": Statement(no_grad(built.forward))}
    if opts.backward:
        group["backward"] = Statement(train_step(built), mode=lambda: _train_mode(built.module))
    if opts.vs_loop:
        from rnnshape.run.loop import loop_forward

        group["loop"] = Statement(no_grad(loop_forward(spec, built)))
    if spec.packed:
        group["padded"] = Statement(no_grad(padded_forward(spec, built)))
    return group


def train_step(built) -> Callable[[], None]:
    """One training step without the optimizer: grads set to None (as zero_grad does), forward, sum, backward.

    The loss is the sum of ``output`` (of the last h_n for a cell loop, which has no output).
    """
    params = list(built.module.parameters())
    outputs = list(_output_names(built))
    key = "output" if "output" in outputs else [n for n in outputs if n.startswith("h_n")][-1]

    def step() -> None:
        for p in params:
            p.grad = None
        built.forward()[key].sum().backward()

    return step


def padded_forward(spec: Spec, built) -> Callable[[], object]:
    """The packed batch as the plain padded tensor the user holds: every module sees all seq_len steps."""
    from dataclasses import replace

    from torch import nn

    from rnnshape.run.build import forward_fn

    mods = list(built.module) if isinstance(built.module, nn.ModuleList) else [built.module]
    run = forward_fn(replace(spec, lengths=None), mods, built.inputs)  # the same forward, not packed
    return lambda: run()["output"]


def _output_names(built) -> list[str]:
    import torch

    with torch.no_grad():
        return list(built.forward())


class _train_mode:  # noqa: N801 - used as a context manager, named like one
    """Train mode while timing a training step (dropout acts), eval mode again after."""

    def __init__(self, module) -> None:
        self.module = module

    def __enter__(self):
        self.module.train()

    def __exit__(self, *exc) -> None:
        self.module.eval()


def _memory(spec: Spec, prediction: Prediction, built, *, backward: bool) -> Memory:
    """The estimate, and the peak of one more call measured (rnnshape.run.peak): the training step with --backward."""
    from rnnshape.run.peak import peak_bytes

    parts, total = estimate(prediction, backward=backward)
    resident = [*built.module.parameters(), *built.module.buffers(), *built.inputs.values()]
    if backward:
        for p in built.module.parameters():
            p.grad = None  # freed before the window, so the peak starts from the resident tensors
        with _train_mode(built.module):
            peak = peak_bytes(spec.device, train_step(built), resident)
    else:
        peak = peak_bytes(spec.device, no_grad(built.forward), resident)
    return Memory(parts=parts, estimate_bytes=total, peak_bytes=peak,
                  peak_of="forward+backward" if backward else "forward")
