"""The Python API: the same Report the CLI renders.

>>> from rnnshape import analyze
>>> report = analyze("gru", hidden_size=16, dry_run=True)
>>> [(t.name, t.shape) for t in report.prediction.outputs]
[('output', (10, 3, 16)), ('h_n', (1, 3, 16))]
"""

from __future__ import annotations

import os
from collections.abc import Callable

from rnnshape import results
from rnnshape.errors import UsageError, WitnessMismatch
from rnnshape.model import modes
from rnnshape.model.guard import available_bytes, check_memory, check_meta
from rnnshape.model.predict import predict
from rnnshape.model.report import Prediction, Report
from rnnshape.model.rules import validate
from rnnshape.model.spec import Spec, make_spec, with_device
from rnnshape.run.measure import DEFAULT_MIN_TIME, TimingOptions


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
    cli: bool = False,
    **options,
) -> Report:
    """Build and run a configuration with torch (or only predict it with ``dry_run=True``).

    ``options`` are :func:`rnnshape.model.spec.make_spec`'s keyword arguments (PyTorch's constructor names).
    ``backward`` also times forward+backward, ``vs_loop`` the same weights as a per-step cell loop,
    ``deploy`` runs the deployed variants (bfloat16, int8, torch.compile, ONNX Runtime) against eager.
    A mistake raises :class:`rnnshape.errors.UsageError` (a ``ValueError``; a ``TypeError`` for a value
    of the wrong type) naming the keyword argument; ``cli=True`` names the command line's flags instead.

    >>> analyze("lstm", num_layers="2")
    Traceback (most recent call last):
    ...
    rnnshape.errors.UsageTypeError: num_layers must be an integer (got '2')
    """
    try:
        spec = validate(kind) if isinstance(kind, Spec) else make_spec(kind, **options)
        opts = TimingOptions(min_time=min_time, threads=threads, backward=backward, vs_loop=vs_loop, clock=clock)
        opts.check(spec, untimed=modes.untimed(no_time=not time, dry_run=dry_run))
        if dry_run and check_flops:
            raise UsageError("--check-flops runs torch (on meta), so it cannot be combined with --dry-run")
        if deploy:
            modes.refuse_deploy(dry_run=dry_run, device=spec.device, dtype=spec.dtype.value)
    except UsageError as err:
        if cli:
            raise
        raise python_names(err) from None
    if dry_run:
        return results.of(Report(predict(spec), verified=False, torch_version=None, timing=None,
                                 warnings=spec.warnings))
    return results.of(run_report(spec, opts if time else None, check_flops=check_flops, deploy=deploy))


def inspect(path: str | os.PathLike, prefix: str | None = None) -> results.Inspection:
    """The recurrent modules of a checkpoint (``rnnshape inspect``), read without running its code.

    ``prefix`` keeps only the module under that name (``encoder.rnn``).
    """
    from rnnshape.checkpoint.inspection import inspect_checkpoint

    return results.of(inspect_checkpoint(path, prefix))


# The command line's flags as the Python API's keyword arguments, where the two differ.
_ARGUMENTS = {"layers": "num_layers", "no-bias": "bias=False", "no-time": "time=False", "the command": "kind"}


def python_names(err: UsageError) -> UsageError:
    """The same error, naming keyword arguments (num_layers) where it named flags (--layers)."""
    import re

    def name(match: re.Match) -> str:
        flag = match.group(1)
        return _ARGUMENTS.get(flag, flag.replace("-", "_"))

    def rename(text: str | None) -> str | None:
        if text is None:
            return None
        text = text.replace("the command", _ARGUMENTS["the command"])
        return re.sub(r"(?<![\w-])--([a-z][a-z-]*)", name, text)

    return type(err)(rename(err.message), hint=rename(err.hint))


def run_report(spec: Spec, timing_options: TimingOptions | None, *, check_flops: bool = False,
               deploy: bool = False) -> Report:
    """The real run: build with torch, hold it equal to the predictor, time it unless options are None."""
    from rnnshape.run import build as run

    spec = with_device(spec, run.resolve_device(spec.device))
    run.check_dtype(spec)
    prediction = predict(spec)
    warnings = list(spec.warnings)
    if spec.device == "meta":
        slow = check_meta(spec)
        if slow:
            warnings.append(slow)
    else:
        backward = timing_options is not None and timing_options.backward
        check_memory(prediction, available_bytes(spec.device), spec.device, backward=backward)
    built = run.build(spec)
    observed = run.observe(spec, built)
    hold_equal(prediction, observed)
    warnings += [w for w in observed.warnings if w not in warnings]
    flops_counted = None
    if check_flops:
        check_meta(spec)
        flops_counted = run.count_flops(spec)
        if flops_counted != prediction.totals.flops:
            raise WitnessMismatch(
                f"FlopCounterMode counted {flops_counted:,} FLOPs on meta, the analytic count is "
                f"{prediction.totals.flops:,}",
                hint="this is a bug in rnnshape; please report it with the command line you ran",
            )
    timing = None
    if timing_options is not None and spec.device != "meta":
        from rnnshape.run.perf import time_report

        timing, noisy = time_report(spec, prediction, built, timing_options)
        warnings += noisy
    deployment = None
    if deploy:
        from rnnshape.run.deploy import deploy as run_deploy

        opts = timing_options or TimingOptions()
        deployment = run_deploy(spec, built, threads=opts.threads, min_time=opts.min_time, clock=opts.clock,
                                timed=timing_options is not None)
        from rnnshape.model.deploy import noise_warning

        if noisy := noise_warning(deployment, opts.min_time):
            warnings.append(noisy)
    return Report(prediction, verified=True, torch_version=observed.torch_version, timing=timing,
                  warnings=tuple(warnings), flops_counted=flops_counted, deploy=deployment)


def hold_equal(prediction: Prediction, observed) -> None:
    """Hold the two witnesses equal; any difference is a bug, shown with both values."""
    pairs = [
        ("module", prediction.module_repr, observed.module_repr),
        ("parameters", [(p.name, p.shape) for p in prediction.parameters], list(observed.parameters)),
        ("inputs", [(t.name, t.shape) for t in prediction.inputs], list(observed.inputs)),
        ("outputs", [(t.name, t.shape) for t in prediction.outputs], list(observed.outputs)),
    ]
    for what, predicted, produced in pairs:
        if predicted != produced:
            raise WitnessMismatch(
                f"the predictor and torch disagree on {what}: predicted {_diff(predicted, produced)}",
                hint="this is a bug in rnnshape; please report it with the command line you ran",
            )


def _diff(predicted, produced) -> str:
    if isinstance(predicted, list):
        for i, (a, b) in enumerate(zip(predicted, produced)):
            if a != b:
                return f"{a[0]} {a[1]}, torch produced {b[0]} {b[1]} (entry {i})"
        return f"{len(predicted)} entries, torch produced {len(produced)}"
    return f"{predicted!r}, torch produced {produced!r}"
