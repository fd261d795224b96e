"""The Python API: the same Report the CLI renders.

>>> from rnnshape import analyze
>>> report = analyze("gru", hidden_size=16, dry_run=True)
>>> [(t.name, t.shape) for t in report.prediction.outputs]
[('output', (10, 3, 16)), ('h_n', (1, 3, 16))]
"""

from __future__ import annotations

from collections.abc import Callable

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
    **options,
) -> Report:
    """Build and run a configuration with torch (or only predict it with ``dry_run=True``).

    ``options`` are :func:`rnnshape.model.spec.make_spec`'s keyword arguments (PyTorch's constructor names).
    ``backward`` also times forward+backward, ``vs_loop`` the same weights as a per-step cell loop,
    ``deploy`` runs the deployed variants (bfloat16, int8, torch.compile, ONNX Runtime) against eager.
    """
    spec = validate(kind) if isinstance(kind, Spec) else make_spec(kind, **options)
    opts = TimingOptions(min_time=min_time, threads=threads, backward=backward, vs_loop=vs_loop, clock=clock)
    opts.check(spec, untimed=modes.untimed(no_time=not time, dry_run=dry_run))
    if deploy:
        modes.refuse_deploy(dry_run=dry_run, device=spec.device, dtype=spec.dtype.value)
    if dry_run:
        if check_flops:
            raise UsageError("--check-flops runs torch (on meta), so it cannot be combined with --dry-run")
        return Report(predict(spec), verified=False, torch_version=None, timing=None, warnings=spec.warnings)
    return run_report(spec, opts if time else None, check_flops=check_flops, deploy=deploy)


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
