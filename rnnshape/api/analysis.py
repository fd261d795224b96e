"""One configuration: analyze() builds, runs and times it with torch (or only predicts it), and
inspect() reads a checkpoint.

>>> from rnnshape import analyze
>>> report = analyze("gru", hidden_size=16, dry_run=True)
>>> [(t.name, t.shape) for t in report.outputs]
[('output', (10, 3, 16)), ('h_n', (1, 3, 16))]
"""

from __future__ import annotations

import os
from collections.abc import Callable

from rnnshape.api import results
from rnnshape.api.engine import run_report, with_training_estimate
from rnnshape.errors import UsageError
from rnnshape.model import modes
from rnnshape.model.options import DEFAULT_MIN_TIME
from rnnshape.model.predict import dry_report
from rnnshape.model.report import Report
from rnnshape.model.spec import Spec, make_spec, validate
from rnnshape.run.measure import TimingOptions


def analyze(
    kind: str | Spec = "lstm",
    *,
    dry_run: bool = False,
    time: bool = True,
    min_time: float = DEFAULT_MIN_TIME,
    threads: int | None = None,
    clock: Callable[[], float] | None = None,
    check_flops: bool = False,
    backward: bool = False,
    vs_loop: bool = False,
    deploy: bool = False,
    note: Callable[[str], None] | None = None,
    **options,
) -> Report:
    """Build and run a configuration with torch (or only predict it with ``dry_run=True``).

    ``options`` are :func:`rnnshape.model.spec.make_spec`'s keyword arguments (PyTorch's constructor names).
    ``backward`` also times forward+backward (untimed: ``report.memory`` holds its predicted memory),
    ``vs_loop`` the same weights as a per-step cell loop,
    ``deploy`` runs the deployed variants (bfloat16, int8, torch.compile, ONNX Runtime) against eager.
    ``note(text)`` hears what timing a long forward will cost before it is spent (default: stderr).
    A mistake raises :class:`rnnshape.errors.UsageError` (a ``ValueError``; a ``TypeError`` for a value
    of the wrong type) naming the keyword argument (the command line words the same error with its flags).

    >>> analyze("lstm", num_layers="2")
    Traceback (most recent call last):
    ...
    rnnshape.errors.UsageTypeError: num_layers must be an integer (got '2')
    """
    spec = validate(kind) if isinstance(kind, Spec) else make_spec(kind, **options)
    opts = TimingOptions(min_time=min_time, threads=threads, backward=backward, vs_loop=vs_loop, clock=clock,
                         note=note)
    opts.check(spec, untimed=modes.untimed(time=time, dry_run=dry_run))
    if dry_run and check_flops:
        raise UsageError(field="check_flops", message="{check_flops=True} runs torch (on meta), so it cannot be "
                         "combined with {dry_run=True}")
    if deploy:
        modes.refuse_deploy(dry_run=dry_run, device=spec.device, dtype=spec.dtype.value)
    if dry_run:
        return results.of(with_training_estimate(dry_report(spec), backward))
    report = run_report(spec, opts if time else None, check_flops=check_flops, deploy=deploy)
    return results.of(with_training_estimate(report, backward))


def inspect(path: str | os.PathLike, prefix: str | None = None) -> results.Inspection:
    """The recurrent modules of a checkpoint (``rnnshape inspect``), read without running its code.

    ``prefix`` keeps only the module under that name (``encoder.rnn``).
    """
    from rnnshape.checkpoint.inspection import inspect_checkpoint

    return results.of(inspect_checkpoint(path, prefix))
