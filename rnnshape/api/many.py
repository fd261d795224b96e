"""Several configurations from Python: compare() and sweep(), measured as the CLI measures them (built
first, then timed together in alternating rounds), returned as results that show themselves.

>>> from rnnshape import compare, sweep
>>> c = compare("rnn", "lstm", {"kind": "gru", "hidden_size": 30}, hidden_size=20, dry_run=True)
>>> [(e.label, e.report.totals.parameters) for e in c.entries]
[('rnn', 2440), ('lstm', 9760), ('gru hidden_size=30', 11880)]
>>> s = sweep("lstm", vary={"seq_len": [16, 64]}, dry_run=True)
>>> [(p.values, p.report.totals.macs) for p in s.points]
[((16,), 460800), ((64,), 1843200)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rnnshape.api import results
from rnnshape.api.engine import Interrupted, analyze_many
from rnnshape.errors import UsageError, UsageTypeError, escape
from rnnshape.model.enums import Kind
from rnnshape.model.many import VARIABLES, Point, Vary, check_grid, comparison, grid, sweep_result
from rnnshape.model.options import KIND_ONLY
from rnnshape.model.spec import Spec, enum, make_spec
from rnnshape.run.measure import DEFAULT_MIN_TIME


def compare(*configs: str | Mapping | Spec, dry_run: bool = False, min_time: float = DEFAULT_MIN_TIME,
            threads: int | None = None, backward: bool = False, **shared) -> results.Comparison:
    """Configurations side by side, each × the first (``rnnshape compare``).

    A configuration is a kind (``"lstm"``), a dict of :func:`analyze`'s keyword arguments with a ``"kind"``,
    or a Spec. ``shared`` keyword arguments apply to every configuration that takes them (``proj_size`` to
    LSTMs only) and that does not set its own.
    """
    if not configs:
        raise UsageError("compare needs configurations: a kind, a dict with a 'kind', or a Spec (got none)")
    labels, specs = zip(*(_configuration(c, shared) for c in configs))
    return _measure(list(labels), list(specs), dry_run, min_time, threads, backward,
                    lambda reports, stopped: comparison(labels, reports, planned=len(specs), interrupted=stopped,
                                                        shared=_shared_text(shared)))


def sweep(kind: str, vary: Mapping[str, Sequence[int]], *, dry_run: bool = False,
          min_time: float = DEFAULT_MIN_TIME, threads: int | None = None, backward: bool = False,
          **options) -> results.Sweep:
    """One configuration over a grid of values (``rnnshape sweep``): ``vary={"seq_len": [16, 64, 256]}``.

    The keys are analyze's keyword arguments: seq_len, batch, hidden_size, input_size, num_layers, proj_size.
    ``backward`` also times forward+backward; with ``dry_run``, each point carries its predicted training memory
    and ``growth.training_memory`` fits it.

    >>> s = sweep("lstm", vary={"seq_len": [16, 256]}, dry_run=True, backward=True)
    >>> s.growth.training_memory.points
    2
    """
    fields = {field: (option, param) for option, (param, field) in VARIABLES.items()}
    if not vary:
        raise UsageError("sweep needs at least one value to vary (got vary={})",
                         hint="for example vary={'seq_len': [16, 64, 256]}")
    varies = []
    for key, values in vary.items():
        if key not in fields:
            raise UsageError(f"vary keys must be one of {', '.join(fields)} (got {key!r})")
        if key in options:
            raise UsageError(f"{key} is both varied and set (got {key}={options[key]!r})")
        varies.append(Vary(fields[key][0], fields[key][1], key, tuple(values)))
    check_grid(varies, "vary")
    points = grid(varies)
    specs = [make_spec(kind, **options, **dict(zip(vary, values))) for values in points]
    return _measure([str(p) for p in points], specs, dry_run, min_time, threads, backward,
                    lambda reports, stopped: sweep_result(varies, [Point(v, r) for v, r in zip(points, reports)],
                                                          planned=len(specs), interrupted=stopped))


def _measure(labels, specs, dry_run, min_time, threads, backward, make):
    try:
        reports, stopped = analyze_many(specs, dry_run=dry_run, min_time=min_time, threads=threads,
                                        backward=backward), False
    except Interrupted as stop:  # Ctrl-C after a full round: every configuration, with fewer runs
        reports, stopped = stop.reports, True
    return results.of(make(reports, stopped))


def _configuration(config: str | Mapping | Spec, shared: Mapping) -> tuple[str, Spec]:
    if isinstance(config, Spec):
        return config.kind.value, config
    if isinstance(config, (list, tuple)):
        shown = ", ".join(repr(c) for c in config[:3]) + (", ..." if len(config) > 3 else "")
        raise UsageTypeError(field="configs", rule="takes each configuration as its own argument", value=config,
                             got=escape(f"a {type(config).__name__}: {config!r}"),
                             hint=escape(f"compare({shown}), or compare(*configs) for a list you hold"))
    if not isinstance(config, (str, Mapping)):
        raise UsageTypeError(field="configs", rule="must be kinds, dicts with a 'kind', or Specs",
                             got=escape(repr(config)), hint="for example compare('lstm', 'gru')")
    own = {"kind": config} if isinstance(config, str) else dict(config)
    if "kind" not in own:
        raise UsageError(f"a configuration needs a 'kind' (got {own!r})")
    kind = enum(Kind, own.pop("kind"), "kind")
    options = {k: v for k, v in shared.items() if k not in KIND_ONLY or kind.value in KIND_ONLY[k]}
    label = " ".join([kind.value, *(f"{k}={v}" for k, v in own.items())])
    return label, make_spec(kind, **{**options, **own})


def _shared_text(shared: Mapping) -> str:
    return " ".join(f"{k}={v}" for k, v in shared.items())
