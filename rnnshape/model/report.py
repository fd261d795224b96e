"""The result types. Frozen, raw numbers only (shapes as tuples, times in seconds); renderers format them.

Each result declares its JSON document once, as data: ``JSON``, the keys in order (:class:`Key`: the JSON name,
the attribute or computed value it reads, its unit), and :func:`document` turns any result into that
document. A result shows itself (:class:`Shows`): ``to_dict``/``to_json`` here, Rich, HTML and repr through
the functions the API layer registers (rnnshape.api.results), so the model never imports a renderer.

>>> t = TensorInfo("h_n", (1, 3, 20), ("D·num_layers", "N", "H_out"))
>>> document(t)
{'name': 'h_n', 'shape': [1, 3, 20], 'dims': ['D·num_layers', 'N', 'H_out'], 'note': None}
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from math import prod
from typing import Any, ClassVar

from rnnshape import __version__
from rnnshape.model.deploy import Deployment
from rnnshape.model.options import spec_json
from rnnshape.model.spec import Spec
from rnnshape.model.stats import Probe, Stats, ThreadChoice, Timed, timed

SCHEMA_VERSION = 1  # of every JSON document; bumped only when a key is renamed, removed or retyped


def document_header() -> dict:
    """The two keys every JSON document opens with (a result that declares its keys uses the same two)."""
    return {"schema_version": SCHEMA_VERSION, "rnnshape_version": __version__}


@dataclass(frozen=True)
class Key:
    """One key of a result's JSON document.

    ``source``: the attribute it reads (a field or a property, dotted for a nested one; the key's name when
    None), or a function of the result (a computed key). ``unit``: the raw number's unit ("s", "B"): JSON is in
    seconds and bytes, the tables say it. ``spread``: the value is a result whose keys join this document.
    ``present``: the key is left out where it returns False.
    """

    name: str
    source: str | Callable[[Any], Any] | None = None
    unit: str | None = None
    spread: bool = False
    present: Callable[[Any], bool] | None = None

    def read(self, obj: Any) -> Any:
        source = self.source or self.name
        if callable(source):
            return source(obj)
        for part in source.split("."):
            obj = getattr(obj, part)
        return obj


def keys(*items: str | Key) -> tuple[Key, ...]:
    """``keys("name", Key("median_s", "median", unit="s"))``: a bare name reads the attribute of that name."""
    return tuple(Key(x) if isinstance(x, str) else x for x in items)


# The JSON keys of result types declared in modules that do not import this one (or not yet on their class):
# the serializer reads a class's own ``JSON`` first, then this table; any other dataclass gives its fields.
JSON_KEYS: dict[type, tuple[Key, ...]] = {}


@dataclass(frozen=True)
class With:
    """A result with keys of its context added after its own (a compare entry's label, a sweep point's values)."""

    result: Any
    extra: tuple[tuple[str, Any], ...]


def with_keys(result: Any, **extra: Any) -> With:
    return With(result, tuple(extra.items()))


def json_keys(obj: Any) -> tuple[Key, ...] | None:
    for base in type(obj).__mro__:
        declared = base.__dict__.get("JSON", JSON_KEYS.get(base))
        if declared is not None:
            return declared
    return None


def document(obj: Any) -> Any:
    """Any result (or value) as JSON data: each key its result type declares, in order; any other dataclass
    field by field; enums as their values, tuples as lists. The one serializer of every ``--json``."""
    if isinstance(obj, With):
        return {**document(obj.result), **{k: document(v) for k, v in obj.extra}}
    declared = json_keys(obj)
    if declared is not None:
        out: dict = {}
        for key in declared:
            if key.present is not None and not key.present(obj):
                continue
            value = key.read(obj)
            if key.spread:
                out.update(document(value) if value is not None else {})
            else:
                out[key.name] = document(value)
        return out
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: document(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (tuple, list)):
        return [document(x) for x in obj]
    if isinstance(obj, dict):
        return {k: document(v) for k, v in obj.items()}
    return obj


def dumps(doc: Any) -> str:
    """The document as the CLI prints it: two-space indent, UTF-8 as is."""
    return json.dumps(doc, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class Showing:
    """How a result type shows itself: ``view`` (a Rich renderable), ``text`` (its repr), ``html`` (a renderable
    as a notebook's HTML) and ``doc`` (a JSON document, for a type that declares no keys yet)."""

    view: Callable[[Any], Any] | None = None
    text: Callable[[Any], str] | None = None
    html: Callable[[Any], str] | None = None
    doc: Callable[[Any], dict] | None = None


# Filled by rnnshape.api.results, which may import the renderers; keyed by the type's dotted name, so that
# registering a result type does not import its module (start-up: --dry-run loads no checkpoint reader)
SHOWING: dict[str, Showing] = {}


def _showing(obj: Any) -> Showing:
    for base in type(obj).__mro__:
        found = SHOWING.get(f"{base.__module__}.{base.__qualname__}")
        if found is not None:
            return found
    return Showing()


class Shows:
    """A result that shows itself: ``to_dict()`` is the CLI's ``--json`` document, ``to_json()`` its text,
    ``rich.print(result)`` the CLI's tables, ``_repr_html_`` the same tables in a notebook cell."""

    __slots__ = ()

    def to_dict(self) -> dict:
        doc = _showing(self).doc
        return doc(self) if doc is not None else document(self)

    def to_json(self) -> str:
        """The CLI's ``--json`` document."""
        return dumps(self.to_dict())

    def __rich__(self):
        view = _showing(self).view
        return view(self) if view is not None else repr(self)

    def _repr_html_(self) -> str | None:
        s = _showing(self)
        return s.html(s.view(self)) if s.view is not None and s.html is not None else None

    def __repr__(self) -> str:
        text = _showing(self).text
        return text(self) if text is not None else f"<{type(self).__name__}>"


class Named(tuple):
    """A tuple of named items (tensors, parameters) that is also indexed by name.

    >>> outputs = Named((TensorInfo("output", (10, 3, 20), ("L", "N", "H")), TensorInfo("h_n", (1, 3, 20), ())))
    >>> outputs["h_n"].shape, outputs[0].name, [t.name for t in outputs], "h_n" in outputs
    ((1, 3, 20), 'output', ['output', 'h_n'], True)
    """

    __slots__ = ()

    def __getitem__(self, key):
        if isinstance(key, str):
            for item in self:
                if item.name == key:
                    return item
            raise KeyError(f"no {key!r} here; the names are {', '.join(self.names())}")
        found = super().__getitem__(key)
        return Named(found) if isinstance(key, slice) else found

    def __contains__(self, key) -> bool:
        if isinstance(key, str):
            return key in self.names()
        return super().__contains__(key)

    def names(self) -> tuple[str, ...]:
        return tuple(item.name for item in self)


@dataclass(frozen=True)
class ParamInfo:
    """One parameter as torch names it, with where each dimension comes from."""

    name: str
    shape: tuple[int, ...]
    dims: tuple[str, ...]  # the docs' symbols per dimension, e.g. ("4·H", "D·H_out")
    module: int | None  # index in a stack, None for a single module
    layer: int | None  # layer within a layer module, None for a cell
    direction: int  # 0 forward, 1 reverse
    gates: tuple[str, ...]  # row blocks, in torch's order (LSTM i,f,g,o; GRU r,z,n)
    bias: bool

    JSON: ClassVar = keys("name", "shape", "numel", "dims", "module", "layer", "direction", "gates")

    @property
    def numel(self) -> int:
        return prod(self.shape)


@dataclass(frozen=True)
class TensorInfo:
    """One input, output or state tensor."""

    name: str
    shape: tuple[int, ...]
    dims: tuple[str, ...]  # the docs' symbols, e.g. ("L", "N", "D·H_out")
    note: str | None = None

    @property
    def numel(self) -> int:
        return prod(self.shape)


@dataclass(frozen=True)
class Totals:
    parameters: int
    parameter_bytes: int
    macs: int  # multiply-accumulates of one forward: steps x weights excluding biases
    flops: int  # 2 x macs, FlopCounterMode's convention
    steps: int  # (sample, time step) pairs one forward processes
    input_bytes: int
    output_bytes: int
    keras_parameters: int | None  # what Keras would count (one bias vector), None where it has no equal


@dataclass(frozen=True)
class Prediction:
    """Everything about a configuration that follows from the spec alone (no torch)."""

    spec: Spec
    module_repr: str
    parameters: Named  # of ParamInfo, indexed by position or by torch's name
    inputs: Named  # of TensorInfo
    outputs: Named  # of TensorInfo
    totals: Totals
    symbols: tuple[tuple[str, int], ...]  # the legend: ("H_in", 100), ("H", 20), ...
    reading: tuple[str, ...] = ()  # how torch reads the user's --input-shape, line by line


# The fused RNN ops, by the kernel path they belong to ("aten" is every other: a matmul per step); none has a
# FlopCounterMode formula. The run looks for them, the Timing table names them.
FUSED_OPS = {"mkldnn_rnn_layer": "onednn", "_cudnn_rnn": "cudnn", "miopen_rnn": "miopen"}


@dataclass(frozen=True)
class Kernel:
    """Which implementation ran one forward, as seen by a TorchDispatchMode, and what FlopCounterMode read."""

    path: str  # "onednn" (aten.mkldnn_rnn_layer), "cudnn" (aten._cudnn_rnn), "miopen" or "aten" (per-step ops)
    ops: tuple[tuple[str, int], ...]  # aten ops of one forward with their call counts, first seen first
    flop_counter_flops: int  # FlopCounterMode(display=False).get_total_flops() over the same forward

    # with the report's FLOPs added as flop_counter_hides_matmuls (see _timing)
    JSON: ClassVar = keys("path", Key("ops", lambda k: [{"name": n, "calls": c} for n, c in k.ops]),
                          "flop_counter_flops")


@dataclass(frozen=True)
class Memory:
    """Bytes: the estimate by part (what rnnshape refuses by), and the peak measured over one more call."""

    parts: tuple[tuple[str, int], ...]  # ("parameters", n), ("inputs", n), ... raw, before the safety margin
    estimate_bytes: int  # guard's estimate: the parts with the allocator safety margin
    peak_bytes: int | None = None  # CUDA: max_memory_allocated; CPU: profiler allocation events (run/memory.py)
    peak_of: str = "forward"  # the statement the peak and the estimate cover: "forward" or "forward+backward"

    JSON: ClassVar = keys(Key("estimate_bytes", unit="B"), Key("parts", lambda m: dict(m.parts), unit="B"),
                          Key("peak_bytes", unit="B"), Key("covers", "peak_of"))


@dataclass(frozen=True)
class Timing:
    """Per-call statistics of each timed statement; only ``forward`` is always there.

    ``backward`` is forward+backward (a training step without the optimizer), ``loop`` the same weights as
    a per-time-step cell loop, ``padded`` the packed batch run as one padded tensor (with --lengths).
    """

    forward: Stats
    backward: Stats | None = None
    loop: Stats | None = None
    padded: Stats | None = None
    kernel: Kernel | None = None
    memory: Memory | None = None
    threads: ThreadChoice | None = None  # the count timed on, why, and the probe (issue 12)
    # which implementation ran the forward ("onednn", "cudnn", "miopen", "aten"): the kernel's path with
    # --vs-loop, else seen in the autograd graph of one forward (compare and sweep); None when not looked at
    path: str | None = None


@dataclass(frozen=True, repr=False)
class Report(Shows):
    """What the CLI renders and the Python API returns: the prediction, verified by torch or not.

    >>> from rnnshape.model.predict import predict
    >>> from rnnshape.model.spec import make_spec
    >>> doc = Report(predict(make_spec("gru")), verified=False, torch_version=None, timing=None).to_dict()
    >>> list(doc)[:5], doc["outputs"][1]["shape"], doc["timing"]
    (['schema_version', 'rnnshape_version', 'torch_version', 'verified', 'spec'], [1, 3, 20], None)
    """

    prediction: Prediction
    verified: bool  # True when torch built and ran it and agreed with the prediction
    torch_version: str | None
    timing: Timing | None
    warnings: tuple[str, ...] = ()
    flops_counted: int | None = None  # FlopCounterMode on a meta copy (--check-flops), equal to totals.flops
    deploy: Deployment | None = None  # --deploy: each deployed variant against eager
    # --backward with nothing timed (--dry-run, --no-time, meta): the training step's memory, predicted (issue 24)
    memory: Memory | None = None

    JSON: ClassVar = keys(
        Key("schema_version", lambda r: SCHEMA_VERSION),
        Key("rnnshape_version", lambda r: __version__),
        "torch_version",
        "verified",
        "spec",
        Key("module", "prediction.module_repr"),
        "parameters",
        "inputs",
        "outputs",
        Key("totals", lambda r: with_keys(r.totals, flops_counted=r.flops_counted)),
        Key("symbols", lambda r: dict(r.prediction.symbols)),
        Key("input_shape", lambda r: None if r.spec.input_shape is None else {
            "shape": r.spec.input_shape, "reading": r.prediction.reading}),
        Key("timing", lambda r: _timing(r)),
        # --backward untimed: the training step's memory, predicted (a timed run measures it in timing.memory)
        Key("memory", present=lambda r: r.memory is not None),
        Key("deploy", spread=True, present=lambda r: r.deploy is not None),  # "deploy" and "onnx"
        "warnings",
    )

    @property
    def spec(self) -> Spec:
        return self.prediction.spec

    @property
    def parameters(self) -> Named:
        """Every parameter: ``report.parameters["weight_ih_l0"].shape``."""
        return self.prediction.parameters

    @property
    def inputs(self) -> Named:
        return self.prediction.inputs

    @property
    def outputs(self) -> Named:
        """output, h_n, c_n ...: ``report.outputs["h_n"].shape``."""
        return self.prediction.outputs

    @property
    def totals(self) -> Totals:
        return self.prediction.totals


def _timing(report: Report) -> dict | None:
    """``timing``: each statement (forward, backward, loop, padded; null when not timed) with its rates, then
    the kernel, the memory and the threads."""
    t = report.timing
    if t is None:
        return None
    doc: dict = {"forward": None, "backward": None, "loop": None, "padded": None}
    doc.update((row.key, row) for row in timed(report))
    kernel = t.kernel and with_keys(t.kernel, flop_counter_hides_matmuls=(
        t.kernel.flop_counter_flops < report.prediction.totals.flops))
    return {**doc, "kernel": kernel, "memory": t.memory, "threads": t.threads, "kernel_path": t.path}


# The result types of other modules (model.stats imports no report; the spec's keys are the option
# table's, rnnshape.model.options)
JSON_KEYS.update({
    Spec: keys(Key("spec", spec_json, spread=True)),  # the option table declares the spec's JSON
    Stats: keys(Key("median_s", "median", unit="s"), Key("iqr_s", "iqr", unit="s"), Key("min_s", "min", unit="s"),
                Key("max_s", "max", unit="s"), "runs", "calls_per_run", "threads", "noisy"),
    Timed: keys(Key("stats", spread=True), Key("rates", spread=True), Key("floor_s", "stats.floor_s", unit="s"),
                Key("stalled", "stats.stalled"), Key("interleaved", "stats.interleaved"),
                Key("samples_s", "stats.samples", unit="s"),
                Key("relative", present=lambda row: row.relative is not None)),  # this median / the forward's
    ThreadChoice: keys(Key("used", "threads"), "reason", Key("torch_default", "default"), "asked", "fallback",
                       "default_slowdown", Key("probes", lambda c: [p for p in c.probes if p.samples])),
    Probe: keys("threads", Key("median_s", "median", unit="s"), Key("samples_s", "samples", unit="s")),
})
