"""`rnnshape trace` / `watch()`: the recurrent calls seen inside a user's model, their pitfalls and failures.

Pure Python on shapes and the few facts the run layer measured (rnnshape.run.trace hands over one
:class:`Call` per recurrent call). This module groups repeated calls, rebuilds each module's Spec, holds
torch's shapes to the predictor, decides which silent bugs the evidence shows (each pitfall says its
evidence and its confidence), and explains a failing call in rnnshape's terms (``explain``, which
`rnnshape why` reuses for torch's messages alone).

>>> from rnnshape.model.spec import Kind, Module
>>> m = Module(Kind.GRU, False, 8, 16)
>>> call = Call("rnn", "GRU", m, 0, (Seen("input", (5, 3, 8)),), (Seen("output", (5, 3, 16)), Seen("h_n", (1, 3, 16))))
>>> [e.count for e in group([call, call])]
[2]
>>> [p.code for p in find(group([call]), batch=5)[0].pitfalls]
['time-batch-swapped']
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rnnshape.model.report import Prediction
from rnnshape.model.spec import Module, Spec

STATES = ("h_0", "c_0", "hx")


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
    """What the run layer measured for the pitfalls: numbers and flags, never tensors."""

    carried: str | None = None  # the state's graph reaches an earlier call across a "backward", a "step", a "forward"
    # or within this forward ("call": BPTT); None: fresh, detached or no state
    carried_from: str | None = None  # the path of the module whose output the state carries
    real_lengths: tuple[int, ...] | None = None  # per sequence, steps before the trailing padding
    pad_zero: bool = True  # that padding is all-zero steps (False: one repeated non-zero vector)
    weights_chunked: bool | None = None  # cuDNN: all weights in one buffer; None when it does not apply
    weight_dtype: str = "float32"
    input_storage: int | None = None  # the storage a one-step input is a slice of (a loop over x[t])
    input_from_own: bool = False  # the input derives from this module's own output earlier in this forward


@dataclass(frozen=True)
class Call:
    """One call of a recurrent module, as the recorder saw it."""

    path: str  # the module's name in the model ('' for the model itself)
    cls: str  # its class name (a subclass keeps its own name)
    module: Module  # its configuration, read from its attributes
    forward: int  # which forward of the whole model (0-based)
    inputs: tuple[Seen, ...]
    outputs: tuple[Seen, ...]
    facts: Facts = field(default_factory=Facts)
    training: bool = False
    step: int = 0  # optimizer steps taken before it (watch: a training loop's step)


@dataclass(frozen=True)
class Pitfall:
    """A bug torch runs without complaint: what, the one-line fix, the evidence it rests on, how sure."""

    code: str
    message: str
    fix: str
    evidence: str = ""
    confidence: str = "high"  # "high": the evidence rules out the legitimate patterns; "medium": it is likely


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
    per_forward: int = 1  # calls of this module (every signature) in one forward of the model, at most


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
    unseen: tuple[str, ...] = ()  # what rnnshape could not see: scripted modules, recurrent kernels outside modules


# -- grouping (rnnshape.api.trace rebuilds each entry's Spec and holds it to the predictor) ---------------------


def group(calls) -> tuple[TraceEntry, ...]:
    """Calls with the same module and the same tensors become one entry, in order of first call."""
    entries: dict[tuple, list[Call]] = {}
    per: dict[tuple[str, int], int] = {}
    for call in calls:
        entries.setdefault((call.path, call.inputs, call.outputs), []).append(call)
        per[(call.path, call.forward)] = per.get((call.path, call.forward), 0) + 1
    out = []
    for same in entries.values():
        first = same[0]
        most = max(n for (path, _), n in per.items() if path == first.path)
        out.append(TraceEntry(first.path, first.cls, first.module, len(same), len({c.forward for c in same}),
                              first.inputs, first.outputs, tuple(same), per_forward=most))
    return tuple(out)


def _by_name(seen: tuple[Seen, ...]) -> dict[str, Seen]:
    return {s.name: s for s in seen}


def _input(seen: tuple[Seen, ...]) -> Seen | None:
    return next((s for s in seen if s.name in ("input", "input.data")), None)


def macs(entry: TraceEntry) -> tuple[int, int] | None:
    """(MACs of one call, MACs of one forward of the model) for this entry's configuration."""
    if entry.prediction is None:
        return None
    total = entry.prediction.totals.macs
    if entry.module.cell:  # the spec already loops the cell over its calls per forward
        steps = max(entry.spec.seq_len, 1)
        return total // steps, total // steps * entry.per_forward
    return total, total * entry.per_forward


# -- pitfalls: each fires only on evidence that rules out the legitimate patterns ----------------------------

STATE_NOT_DETACHED = "state-not-detached"
TIME_BATCH_SWAPPED = "time-batch-swapped"
DROPOUT_SINGLE_LAYER = "dropout-single-layer"
WEIGHTS_NOT_CONTIGUOUS = "weights-not-contiguous"
PADDED_NOT_PACKED = "padded-not-packed"
STATE_NOT_PASSED = "state-not-passed"


def find(entries: tuple[TraceEntry, ...], batch: int | None = None, *, steps_are_forwards: bool = True,
         lengths: tuple[int, ...] = ()) -> tuple[TraceEntry, ...]:
    """The entries with their pitfalls. ``batch``: the user's --batch; ``lengths``: sizes of 1-D integer arguments
    of the model (a lengths vector has one per sequence); ``steps_are_forwards``: each forward is one training
    step (`trace` runs them so): a state carried into the next forward with its graph is a leak."""
    batches = _batches(entries)
    forgetful = _forgetful(entries, steps_are_forwards)
    out = []
    for e in entries:
        found = [_not_detached(e, steps_are_forwards), _swapped(e, batch, batches, lengths), _dropout(e), _chunk(e),
                 _padding(e), forgetful.get(id(e))]
        out.append(replace(e, pitfalls=tuple(f for f in found if f is not None)))
    return tuple(out)


def _has_state(seen: tuple[Seen, ...]) -> bool:
    return any(s.name in STATES for s in seen)


def _not_detached(e: TraceEntry, steps_are_forwards: bool):
    where = {c.facts.carried: c for c in e.calls}
    call = where.get("backward") or where.get("step") or (where.get("forward") if steps_are_forwards else None)
    if call is None:
        return None
    lstm = e.module.kind.has_cell_state
    state = "(h_0, c_0)" if lstm else "h_0"
    source = call.facts.carried_from or "(the model)"
    across = {"backward": "a backward() that already went through it",
              "step": "an optimizer step taken since it was computed",
              "forward": f"forward {call.forward} of the model, from an earlier forward"}[call.facts.carried]
    evidence = (f"the {state} passed in call {e.calls.index(call) + 1} reaches, through autograd, an output of "
                f"{source} across {across}")
    if call.facts.carried == "forward":
        evidence += "; a state carried within one forward (BPTT over a sequence, a decoder loop) is never flagged"
    fix = "h, c = h.detach(), c.detach()" if lstm else "h = h.detach()"
    return Pitfall(STATE_NOT_DETACHED,
                   f"{state} is the state of an earlier step with its autograd history attached: every backward "
                   f"reaches back through all earlier batches (memory grows; a second backward fails)",
                   f"detach the state you carry between steps: {fix}", evidence,
                   "high" if call.facts.carried != "forward" else "medium")


def _batches(entries: tuple[TraceEntry, ...]) -> dict[int, set[int]]:
    """Per forward, the batch sizes that calls state unambiguously: a batched cell's dimension 0, a
    PackedSequence's batch_sizes[0], a fresh h_0 (not this module's own output) that torch accepted."""
    out: dict[int, set[int]] = {}
    for e in entries:
        x = _input(e.inputs)
        if x is None:
            continue
        for c in e.calls:
            b = _own_batch(e, x, c)
            if b is not None:
                out.setdefault(c.forward, set()).add(b)
    return out


def _own_batch(e: TraceEntry, x: Seen, c: Call) -> int | None:
    if x.packed and x.batch_sizes or e.module.cell and len(x.shape) == 2:
        return x.batch_sizes[0] if x.packed else x.shape[0]
    h = _by_name(e.inputs).get("h_0")
    if h is not None and len(h.shape) == 3 and c.facts.carried_from != e.path:
        return h.shape[1]
    return None


def _swapped(e: TraceEntry, batch: int | None, batches: dict[int, set[int]], lengths: tuple[int, ...]):
    """A layer module reads the time axis as the batch. Witnesses: the user's ``--batch``, a lengths vector
    passed to the model, and every batch other calls in the same forward state (h_0, cells, packed input)."""
    x, m = _input(e.inputs), e.module
    if m.cell or x is None or x.packed or len(x.shape) != 3 or x.shape[0] == x.shape[1]:
        return None
    time_dim = 1 if m.batch_first else 0
    steps, read = x.shape[time_dim], x.shape[1 - time_dim]
    others = set().union(*(batches.get(c.forward, set()) for c in e.calls))
    agree = sorted({f"a batch of {read} stated by {w}" for w in _witnesses(e, read, others, lengths)})
    swap = sorted({f"a batch of {steps} stated by {w}" for w in _witnesses(e, steps, others, lengths)})
    said = batch is not None and batch == steps
    if not said and not (swap and not agree and len(swap) >= 2):
        return None  # a token-id shape alone, or one witness, cannot tell a time-major model from a mistake
    evidence = "; ".join(([f"you said --batch {batch}"] if said else []) + swap + [f"but {a}" for a in agree])
    where, flag = ("on dimension 1", "True") if m.batch_first else ("first", "False")
    fix = ("pass x.transpose(0, 1), or build the module with batch_first=False" if m.batch_first else
           f"build the module with batch_first=True, or pass x.transpose(0, 1) (if {steps} is really the sequence "
           f"length, say so: --batch {read})")
    return Pitfall(TIME_BATCH_SWAPPED,
                   f"input is {x.shape} with the batch ({steps}) {where}, but batch_first={flag} reads dimension "
                   f"{1 - time_dim} as the batch: it runs {steps} steps over a batch of {read}", fix, evidence,
                   "high" if not agree else "medium")


def _witnesses(e: TraceEntry, size: int, others: set[int], lengths: tuple[int, ...]) -> list[str]:
    out = []
    h = _by_name(e.inputs).get("h_0")
    if h is not None and len(h.shape) == 3 and h.shape[1] == size and any(
            c.facts.carried_from != e.path for c in e.calls):
        out.append(f"the h_0 passed to {e.path or 'the model'}")
    if size in others and not (h is not None and len(h.shape) == 3 and h.shape[1] == size):
        out.append("another recurrent call in the same forward")
    if size in lengths:
        out.append("the lengths vector passed to the model")
    return out


def _dropout(e: TraceEntry):
    m = e.module
    if m.cell or not m.dropout or m.num_layers > 1:
        return None
    return Pitfall(DROPOUT_SINGLE_LAYER,
                   f"dropout={m.dropout} with num_layers=1 does nothing: torch drops only between stacked layers",
                   "apply nn.Dropout to the module's output instead, or use num_layers >= 2",
                   f"the module's own attributes: dropout={m.dropout}, num_layers=1")


def _chunk(e: TraceEntry):
    if not any(c.facts.weights_chunked is False for c in e.calls):
        return None
    return Pitfall(WEIGHTS_NOT_CONTIGUOUS,
                   "the weights are not one contiguous chunk of memory: cuDNN copies them into one on every call",
                   "call flatten_parameters() on the module after replacing or replicating its weights",
                   "the weights' storages on the device, read at the call")


def _padding(e: TraceEntry):
    x = _input(e.inputs)
    call = next((c for c in e.calls if c.facts.real_lengths is not None), None)
    if call is None or x is None:
        return None
    lengths = call.facts.real_lengths
    steps = x.shape[1] if e.module.batch_first else x.shape[0]
    total = steps * len(lengths)
    pad = total - sum(lengths)
    first = "batch_first=True, " if e.module.batch_first else ""
    fix = f"pack it: pack_padded_sequence(x, lengths, {first}enforce_sorted=False)"
    if call.facts.pad_zero:
        what, sure = "all-zero padding", "high"
        evidence = "trailing all-zero input vectors, in sequences of different lengths"
    else:
        what, sure, fix = "padding (one repeated non-zero vector: no padding_idx)", "medium", fix + "; and give " \
            "the nn.Embedding padding_idx=<pad id>"
        evidence = "trailing runs of one identical non-zero input vector, the same in each sequence that has one"
    return Pitfall(PADDED_NOT_PACKED,
                   f"{pad} of {total} time steps ({pad / total:.0%}) are trailing {what}, run as if real: h_n is "
                   f"the state after the padding, not after each sequence's last step", fix,
                   f"{evidence}: lengths {list(lengths)}", sure)


def _forgetful(entries: tuple[TraceEntry, ...], steps_are_forwards: bool) -> dict:
    """One module called step by step in one forward (in a watched loop: one optimizer step, since the model
    itself may be the per-step module) with no state: each call starts again from zeros. One module reused on
    independent whole sequences (a Siamese encoder, one name after another) is not this."""
    per: dict[tuple[str, int], list[tuple[TraceEntry, Call]]] = {}
    for e in entries:
        if _has_state(e.inputs):
            continue
        for c in e.calls:
            per.setdefault((e.path, c.forward if steps_are_forwards else c.step), []).append((e, c))
    out = {}
    for calls in per.values():
        steps = [(e, c) for e, c in calls if _one_step(e)]
        if len(steps) < 2:
            continue
        e = steps[0][0]
        stores = [c.facts.input_storage for _, c in steps if c.facts.input_storage is not None]
        shared = len(stores) - len(set(stores))
        fed = sum(c.facts.input_from_own for _, c in steps)
        if shared:
            evidence, sure = f"{len(steps)} one-step calls, {shared + 1} of them slices of one input tensor", "high"
        elif fed:
            evidence, sure = f"{len(steps)} one-step calls, {fed} fed an input computed from its own output", "high"
        else:
            evidence, sure = f"{len(steps)} calls with one time step each, none given a state", "medium"
        within = "one forward" if steps_are_forwards else "one training step"
        pit = Pitfall(STATE_NOT_PASSED,
                      f"called {len(steps)} times in {within} without a state: every call starts again from "
                      f"zeros, so the loop carries nothing from one step to the next",
                      f"pass the state back in: {_feedback(e)}",
                      evidence + "; calls on whole sequences (one encoder reused on independent inputs) never count",
                      sure)
        for entry, _ in steps:
            out.setdefault(id(entry), pit)
    return out


def _one_step(e: TraceEntry) -> bool:
    x = _input(e.inputs)
    if x is None or x.packed:
        return False
    return e.module.cell or (len(x.shape) >= 2 and x.shape[1 if e.module.batch_first and len(x.shape) == 3 else 0] == 1)


def _feedback(e: TraceEntry) -> str:
    lstm = e.module.kind.has_cell_state
    if e.module.cell:
        return "h, c = cell(x_t, (h, c))" if lstm else "h = cell(x_t, h)"
    return "out, (h, c) = rnn(x_t, (h, c))" if lstm else "out, h = rnn(x_t, h)"


# -- a failing call explained (also what `rnnshape why` reuses for torch's message alone) --------------------

_INTS = ("int64", "int32", "int16", "int8", "uint8", "bool")


def _fmt(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def expected_states(m: Module, x: Seen) -> dict[str, tuple[int, ...]]:
    """{'h_0': shape[, 'c_0': shape]} that ``m`` accepts with input ``x``; {} when the input itself is wrong."""
    lstm = m.kind.has_cell_state
    if m.cell:
        if len(x.shape) not in (1, 2):
            return {}
        lead = x.shape[:1] if len(x.shape) == 2 else ()
        return {"h_0": lead + (m.hidden_size,), **({"c_0": lead + (m.hidden_size,)} if lstm else {})}
    if x.packed:
        lead = (x.batch_sizes[0],) if x.batch_sizes else ()
    elif len(x.shape) == 3:
        lead = (x.shape[0] if m.batch_first else x.shape[1],)
    elif len(x.shape) == 2:
        lead = ()
    else:
        return {}
    first = (m.directions * m.num_layers,)
    return {"h_0": first + lead + (m.h_out,), **({"c_0": first + lead + (m.hidden_size,)} if lstm else {})}


def explain(path: str, cls: str, m: Module, inputs: tuple[Seen, ...], exception: str,
            weight_dtype: str = "float32") -> TraceError:
    """The failure of one call of ``m`` (at ``path``) with these inputs, explained; torch's words kept.

    >>> from rnnshape.model.spec import Kind
    >>> lstm, said = Module(Kind.LSTM, False, 10, 20, num_layers=2), "Expected hidden[0] size (2, 3, 20), ..."
    >>> ins = (Seen("input", (5, 3, 10)), Seen("h_0", (1, 3, 20)), Seen("c_0", (1, 3, 20)))
    >>> print(explain("dec", "LSTM", lstm, ins, said).message)
    dec (LSTM): h_0 is (1, 3, 20), torch expects (2, 3, 20): dimension 0 is num_layers × directions = 2 × 1 = 2 (got 1)
    """
    who = f"{path or 'the model'} ({cls})"
    found = _input_problem(m, inputs, weight_dtype) or _state_problem(m, inputs)
    if found is None:
        return TraceError(f"{who} raised {exception}", None, path, exception)
    message, hint = found
    return TraceError(f"{who}: {message}", f"{hint}; torch said: {exception}", path, exception)


def _input_problem(m: Module, inputs: tuple[Seen, ...], weight_dtype: str):
    x = _input(inputs)
    if x is None:
        return None
    if x.dtype in _INTS:
        return (f"input is {x.dtype} {_fmt(x.shape)}: recurrent modules take float features, not token ids",
                "put an nn.Embedding before it, or pass --input SHAPE:float32")
    if not x.packed:
        ok = (1, 2) if m.cell else (2, 3)
        if len(x.shape) not in ok:
            want = "(N, H_in) or (H_in,)" if m.cell else (
                "(N, L, H_in)" if m.batch_first else "(L, N, H_in)") + " or unbatched (L, H_in)"
            return (f"input is {len(x.shape)}-D {_fmt(x.shape)}, torch expects {want}",
                    "reshape the input" + ("; a cell takes one time step: loop over x[t]" if m.cell else ""))
    if x.shape and x.shape[-1] != m.input_size:
        return (f"{x.name} is {_fmt(x.shape)}, torch expects its last dimension to be input_size = {m.input_size} "
                f"(got {x.shape[-1]})",
                f"make the layer before it produce {m.input_size} features, or build it with "
                f"input_size={x.shape[-1]}")
    if x.dtype != weight_dtype:
        return (f"input is {x.dtype}, the weights are {weight_dtype}",
                f"convert the input: x.to(torch.{weight_dtype}), or the model: model.to(torch.{x.dtype})")
    return None


def _state_problem(m: Module, inputs: tuple[Seen, ...]):
    ins = _by_name(inputs)
    x = _input(inputs)
    if x is None:
        return None
    if "hx" in ins:
        return (f"hx is one tensor {_fmt(ins['hx'].shape)}, torch expects the tuple (h_0, c_0)",
                "pass both states: module(x, (h_0, c_0))")
    if "c_0" in ins and not m.kind.has_cell_state:
        kind = m.kind.value.upper() + ("Cell" if m.cell else "")
        return (f"the state is a tuple (h_0 {_fmt(ins['h_0'].shape)}, {_fmt(ins['c_0'].shape)}), but {kind} takes "
                f"one tensor h_0: only an LSTM has a cell state c",
                "pass h alone: module(x, h_0) (when switching from an LSTM, drop c everywhere)")
    for name, want in expected_states(m, x).items():
        got = ins.get(name)
        if got is None or got.shape == want:
            continue
        return _state_message(m, x, name, got, want)
    return None


def _state_message(m: Module, x: Seen, name: str, got: Seen, want: tuple[int, ...]):
    head = f"{name} is {_fmt(got.shape)}, torch expects {_fmt(want)}"
    fix = f"give {name} the shape {_fmt(want)}, e.g. torch.zeros{_fmt(want)}"
    if len(got.shape) != len(want):
        batched = "batched" if len(want) > (1 if m.cell else 2) else "unbatched"
        return f"{head}: {len(want)}-D for {batched} input (got {len(got.shape)}-D)", fix
    dim = next(i for i, (a, b) in enumerate(zip(got.shape, want)) if a != b)
    value = got.shape[dim]
    if m.cell:
        if dim == len(want) - 1:
            return f"{head}: dimension {dim} is hidden_size = {m.hidden_size} (got {value})", fix
        return (f"{head}: dimension 0 is the batch N = {want[0]}, the input's dimension 0 (got {value})", fix)
    first = m.directions * m.num_layers
    if len(got.shape) == 3 and got.shape[:2] == (want[1], want[0]) and want[0] != want[1]:
        return (f"{head}: states are (D·num_layers, N, H_out), never batch-first, whatever batch_first says",
                f"pass {name}.transpose(0, 1).contiguous()")
    if dim == 0:
        why = f"dimension 0 is num_layers × directions = {m.num_layers} × {m.directions} = {first} (got {value})"
        if m.bidirectional and value == m.num_layers:
            fix += ": bidirectional keeps one row per layer and direction, index layer·2 + direction"
        return f"{head}: {why}", fix
    if dim == len(want) - 1:
        width = f"proj_size = {m.proj_size}" if (name == "h_0" and m.proj_size) else f"hidden_size = {m.hidden_size}"
        extra = " (c is never projected)" if name == "c_0" and m.proj_size else ""
        return f"{head}: dimension {dim} is {width}{extra} (got {value})", fix
    # dimension 1: the batch
    if x.packed:
        where = "batch_sizes[0] of the PackedSequence"
    else:
        where = f"the input's dimension {0 if m.batch_first else 1}" + (" (batch_first=True)" if m.batch_first else "")
    why = f"dimension 1 is the batch N = {want[1]}, {where} (got {value})"
    if not x.packed and len(x.shape) == 3 and value == x.shape[1 if m.batch_first else 0] and value != want[1]:
        side = "batch-first" if not m.batch_first else "time-major"
        fix = (f"the input looks {side}: build the module with batch_first={not m.batch_first}, or pass "
               f"x.transpose(0, 1)")
    return f"{head}: {why}", fix
