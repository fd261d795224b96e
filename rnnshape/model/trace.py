"""`rnnshape trace`: the recurrent calls seen inside a user's model, grouped, and held to the predictor.

Pure Python: the run layer (rnnshape.run.trace) hands over one :class:`Call` per forward hook, with
shapes as tuples; this module groups repeated calls, rebuilds each module's Spec (the configuration an
`rnnshape` command reproduces), predicts it and checks torch's shapes against the prediction.

>>> from rnnshape.model.spec import Kind, Module
>>> m = Module(Kind.GRU, False, 8, 16)
>>> call = Call("rnn", "GRU", m, 0, (Seen("input", (5, 3, 8)),), (Seen("output", (5, 3, 16)), Seen("h_n", (1, 3, 16))))
>>> [e.count for e in group([call, call])], spec_for(group([call])[0]).seq_len
([2], 5)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rnnshape.errors import UsageError
from rnnshape.model.enums import Dtype, InitState
from rnnshape.model.report import Prediction
from rnnshape.model.spec import Module, Spec, make_spec


@dataclass(frozen=True)
class Seen:
    """One tensor as a recurrent module received or returned it (a PackedSequence: its data and batch_sizes)."""

    name: str  # input, input.data, h_0, c_0, hx (an LSTM state that is not a tuple), output, output.data, h_n, c_n
    shape: tuple[int, ...]
    packed: bool = False
    batch_sizes: tuple[int, ...] | None = None
    dtype: str = "float32"
    dims: tuple[str, ...] = ()  # the docs' symbols, filled from the prediction


@dataclass(frozen=True)
class Facts:
    """What the hooks measured for the pitfalls (rnnshape.model.pitfalls decides what they mean)."""

    state_history: bool = False  # h_0/c_0 carries autograd history from an earlier forward call
    real_lengths: tuple[int, ...] | None = None  # per sequence, steps before the trailing all-zero padding
    weights_chunked: bool | None = None  # cuDNN: all weights in one buffer; None when it does not apply
    weight_dtype: str = "float32"


@dataclass(frozen=True)
class Call:
    """One call of a recurrent module, as the forward hooks saw it."""

    path: str  # the module's name in the model ('' for the model itself)
    cls: str  # its class name (a subclass keeps its own name)
    module: Module  # its configuration, read from its attributes
    forward: int  # which forward of the whole model (0-based)
    inputs: tuple[Seen, ...]
    outputs: tuple[Seen, ...]
    facts: Facts = field(default_factory=Facts)
    training: bool = False


@dataclass(frozen=True)
class Pitfall:
    """A bug torch runs without complaint, with a one-line fix."""

    code: str
    message: str
    fix: str


@dataclass(frozen=True)
class TraceEntry:
    """One module's calls with one signature; a cell looped T times is one entry with count T."""

    path: str
    cls: str
    module: Module
    count: int
    forwards: int  # the forward calls of the model it was called in
    inputs: tuple[Seen, ...]
    outputs: tuple[Seen, ...]
    calls: tuple[Call, ...] = field(repr=False, default=())
    spec: Spec | None = None
    prediction: Prediction | None = field(default=None, repr=False)
    command: str | None = None
    mismatch: str | None = None  # torch and the predictor disagree: said instead of printing either
    pitfalls: tuple[Pitfall, ...] = ()


@dataclass(frozen=True)
class TraceError:
    """Why the user's forward failed: inside a recurrent call (path set) or elsewhere in their code."""

    message: str
    hint: str | None = None
    path: str | None = None
    exception: str = ""  # "RuntimeError: Expected hidden[0] size ..." as torch raised it
    location: str | None = None  # file:line in the user's code


@dataclass(frozen=True)
class Trace:
    target: str
    forwards: int
    training: bool
    calls: tuple[TraceEntry, ...]
    error: TraceError | None = None
    torch_version: str | None = None
    warnings: tuple[str, ...] = ()


def _signature(call: Call) -> tuple:
    return (call.path, call.inputs, call.outputs)


def group(calls) -> tuple[TraceEntry, ...]:
    """Calls with the same module and the same tensors become one entry, in order of first call."""
    entries: dict[tuple, list[Call]] = {}
    for call in calls:
        entries.setdefault(_signature(call), []).append(call)
    out = []
    for same in entries.values():
        first = same[0]
        out.append(TraceEntry(first.path, first.cls, first.module, len(same), len({c.forward for c in same}),
                              first.inputs, first.outputs, tuple(same)))
    return tuple(out)


def lengths_from_batch_sizes(batch_sizes: tuple[int, ...]) -> tuple[int, ...]:
    """A PackedSequence's lengths, longest first: sequence i runs while batch_sizes[t] > i."""
    return tuple(sum(1 for b in batch_sizes if b > i) for i in range(batch_sizes[0])) if batch_sizes else ()


def _by_name(seen: tuple[Seen, ...]) -> dict[str, Seen]:
    return {s.name: s for s in seen}


def spec_for(entry: TraceEntry) -> Spec | None:
    """The configuration that rebuilds this module and its input, or None when no Spec describes the call."""
    m = entry.module
    ins = _by_name(entry.inputs)
    x = ins.get("input") or ins.get("input.data")
    if x is None:
        return None
    state = InitState.ZEROS if ("h_0" in ins or "c_0" in ins) else InitState.NONE
    dtype = x.dtype if x.dtype in {d.value for d in Dtype} else Dtype.FLOAT32.value
    common = dict(input_size=m.input_size, hidden_size=m.hidden_size, bias=m.bias, nonlinearity=m.nonlinearity,
                  init_state=state, dtype=dtype)
    try:
        if m.cell:
            if len(x.shape) not in (1, 2):
                return None
            per_forward = max(entry.count // max(entry.forwards, 1), 1)
            batch = x.shape[0] if len(x.shape) == 2 else None
            return make_spec(m.kind, cell=True, seq_len=per_forward, batch=batch, unbatched=batch is None, **common)
        layer = dict(num_layers=m.num_layers, bidirectional=m.bidirectional, proj_size=m.proj_size,
                     batch_first=m.batch_first, dropout=m.dropout, **common)
        if x.packed:
            lengths = lengths_from_batch_sizes(x.batch_sizes or ())
            return make_spec(m.kind, lengths=lengths, seq_len=max(lengths), **layer)
        if len(x.shape) == 2:
            return make_spec(m.kind, seq_len=x.shape[0], unbatched=True, **layer)
        if len(x.shape) != 3:
            return None
        seq_len, batch = (x.shape[1], x.shape[0]) if m.batch_first else (x.shape[0], x.shape[1])
        return make_spec(m.kind, seq_len=seq_len, batch=batch, **layer)
    except UsageError:
        return None


def _expected(entry: TraceEntry, prediction: Prediction) -> dict[str, tuple[tuple[int, ...], tuple[str, ...]]]:
    """{tensor name: (shape, dims)} as one call passes them: a cell sees one time step of the input."""
    table = {t.name: (t.shape, t.dims) for t in prediction.inputs + prediction.outputs}
    if entry.module.cell and "input" in table:
        shape, dims = table["input"]
        table["input"] = (shape[1:], dims[1:])  # the spec's (L, N, H_in) minus the loop's time axis
    return table


def verify(entry: TraceEntry, prediction: Prediction) -> TraceEntry:
    """Dims from the prediction on every tensor torch produced; a shape that differs is said, not shown."""
    table = _expected(entry, prediction)
    seen = []
    for s in entry.inputs + entry.outputs:
        if s.name not in table:
            seen.append(s)
            continue
        shape, dims = table[s.name]
        if shape != s.shape:
            return replace(entry, mismatch=f"torch gave {s.name} {s.shape}, where rnnshape predicts {shape} "
                                           f"for this configuration: a bug in rnnshape, please report it")
        seen.append(replace(s, dims=dims))
    n = len(entry.inputs)
    return replace(entry, inputs=tuple(seen[:n]), outputs=tuple(seen[n:]), prediction=prediction)
