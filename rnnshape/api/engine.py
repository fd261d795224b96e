"""The real run behind the API: build with torch, hold it equal to the predictor, time one configuration
or several together in alternating rounds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace

from rnnshape.api import results
from rnnshape.errors import WitnessMismatch
from rnnshape.model import modes
from rnnshape.model.memory import check_memory, check_meta, estimate
from rnnshape.model.predict import dry_report, predict
from rnnshape.model.report import Memory, Prediction, Report
from rnnshape.model.spec import Spec, validate, with_device
from rnnshape.run.measure import DEFAULT_MIN_TIME, TimingOptions


def run_report(spec: Spec, timing_options: TimingOptions | None, *, check_flops: bool = False,
               deploy: bool = False) -> Report:
    """The real run: build with torch, hold it equal to the predictor, time it unless options are None;
    with ``deploy``, also each deployed variant against eager (rnnshape.run.deploy)."""
    timing_options = _heard(timing_options)
    prepared = [_verified(spec, timing_options, check_flops)]
    reports = _timed(prepared, timing_options)
    return _deployed(reports, prepared, timing_options)[0] if deploy else reports[0]


def with_training_estimate(report: Report, backward: bool) -> Report:
    """``--backward`` where nothing measured the training step (--dry-run, --no-time, meta): the report carries
    the torch-free estimate of its peak memory and the parts of it (rnnshape.model.memory), as a timed run
    carries its measurement under ``timing.memory``."""
    if not backward or (report.timing is not None and report.timing.memory is not None):
        return report
    parts, total = estimate(report.prediction, backward=True)
    return replace(report, memory=Memory(parts=parts, estimate_bytes=total, peak_of="forward+backward"))


def analyze_many(specs: Sequence[Spec], *, dry_run: bool = False, min_time: float = DEFAULT_MIN_TIME,
                 threads: int | None = None, backward: bool = False, clock: Callable[[], float] | None = None,
                 step: Callable[[int], None] | None = None,
                 deploy: bool = False, note: Callable[[str], None] | None = None) -> list[Report]:
    """Several configurations, timed together: their forwards alternate round by round, so a change of load
    hits all of them alike and their ratios stay fair (what ``rnnshape compare`` and ``sweep`` use).

    ``step(i)`` is called before building the i-th, and with ``len(specs)`` before timing; ``note(text)``
    hears what a long timing will cost before it is spent (default: stderr). Ctrl-C while
    measuring raises :class:`Interrupted` carrying every configuration with the rounds measured so far
    (when at least one round was). Mistakes are raised as by :func:`analyze`.
    """
    opts = _heard(TimingOptions(min_time=min_time, threads=threads, backward=backward, clock=clock, note=note))
    specs = [validate(spec) for spec in specs]
    for spec in specs:
        opts.check(spec, untimed=modes.untimed(dry_run=dry_run))
        if deploy:
            modes.refuse_deploy(dry_run=dry_run, device=spec.device, dtype=spec.dtype.value)
    if dry_run:
        return [results.of(with_training_estimate(dry_report(spec), backward)) for spec in specs]
    prepared = []
    for i, spec in enumerate(specs):
        if step:
            step(i)
        prepared.append(_verified(spec, opts, False))
    if step:
        step(len(specs))
    try:
        reports = [with_training_estimate(r, backward) for r in _timed(prepared, opts)]
        return [results.of(r) for r in (_deployed(reports, prepared, opts) if deploy else reports)]
    except Interrupted as stop:
        raise Interrupted([results.of(r) for r in stop.reports]) from None


def _heard(opts: TimingOptions | None) -> TimingOptions | None:
    """The Python API's default listener for the timing's notes: stderr (the CLI passes its output's)."""
    return replace(opts, note=_stderr_note) if opts is not None and opts.note is None else opts


def _stderr_note(text: str) -> None:
    sys.stderr.write(f"rnnshape: note: {text}\n")
    sys.stderr.flush()


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during the timing rounds: ``reports`` holds every configuration with the rounds done so far."""

    def __init__(self, reports: list[Report]) -> None:
        super().__init__()
        self.reports = reports


def _verified(spec: Spec, timing_options: TimingOptions | None, check_flops: bool):
    """Build, observe and hold equal to the predictor; (spec, prediction, built, warnings, flops_counted)."""
    from rnnshape.run import build as run

    spec = with_device(spec, run.resolve_device(spec.device))
    run.check_dtype(spec)
    prediction = predict(spec)
    warnings = list(spec.warnings)
    if spec.device == "meta" or check_flops:  # both run on meta: refuse one that would take minutes, once
        slow = check_meta(spec)
        if slow and spec.device == "meta":
            warnings.append(slow)
    if spec.device != "meta":
        from rnnshape.run.memory import available_bytes

        backward = timing_options is not None and timing_options.backward
        check_memory(prediction, available_bytes(spec.device), spec.device, backward=backward)
    built = run.build(spec)
    observed = run.observe(spec, built)
    hold_equal(prediction, observed)
    warnings += [w for w in observed.warnings if w not in warnings]
    flops_counted = None
    if check_flops:
        flops_counted = run.count_flops(spec)
        if flops_counted != prediction.totals.flops:
            raise WitnessMismatch(
                f"FlopCounterMode counted {flops_counted:,} FLOPs on meta, the analytic count is "
                f"{prediction.totals.flops:,}",
                hint="this is a bug in rnnshape; please report it with the command line you ran",
            )
    return spec, prediction, built, observed.torch_version, warnings, flops_counted


def _timed(prepared: list, timing_options: TimingOptions | None) -> list[Report]:
    """Time the prepared runs together (none on meta, none without options) and make their Reports."""
    runs = [(spec, prediction, built) for spec, prediction, built, *_ in prepared if spec.device != "meta"]
    timings = iter([])
    if timing_options is not None and runs:
        from rnnshape.run.measure import time_reports
        from rnnshape.run.rounds import RoundsInterrupted

        try:
            timings = iter(time_reports(runs, timing_options))
        except RoundsInterrupted as stop:
            raise Interrupted(_reports(prepared, iter(stop.partial), timed=True)) from None
    return _reports(prepared, timings, timed=timing_options is not None)


def _reports(prepared: list, timings, *, timed: bool) -> list[Report]:
    out = []
    for spec, prediction, _, version, warnings, flops_counted in prepared:
        timing = None
        if timed and spec.device != "meta":
            timing, noisy = next(timings)
            warnings = warnings + noisy
        out.append(Report(prediction, verified=True, torch_version=version, timing=timing,
                          warnings=tuple(warnings), flops_counted=flops_counted))
    return out


def _deployed(reports: list[Report], prepared: list, timing_options: TimingOptions | None) -> list[Report]:
    """Each report with its Deployment, timed on the threads its forward was timed on."""
    from rnnshape.checkpoint.onnxfile import read_states
    from rnnshape.model.deploy import noise_warning
    from rnnshape.run.deploy import deploy

    opts = timing_options or TimingOptions()
    out = []
    for report, (spec, _, built, *_) in zip(reports, prepared):
        threads = report.timing.forward.threads if report.timing else opts.threads
        d = deploy(spec, built, threads=threads, min_time=opts.min_time, clock=opts.clock,
                   timed=timing_options is not None, onnx_reader=read_states)
        noisy = noise_warning(d, opts.min_time)
        out.append(replace(report, deploy=d, warnings=report.warnings + ((noisy,) if noisy else ())))
    return out


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
