"""Bugs torch runs without a word, found in the calls `rnnshape trace` recorded. Pure Python.

Each pitfall has a code, a one-line message and a one-line fix. The run layer measures the facts
(autograd history, trailing zero steps, the weights' storage); this module decides what they mean.

>>> from rnnshape.model.spec import Kind, Module
>>> from rnnshape.model.trace import Call, Seen, group
>>> lstm = Module(Kind.LSTM, False, 8, 16, dropout=0.5)
>>> call = Call("rnn", "LSTM", lstm, 0, (Seen("input", (32, 50, 8)),), ())
>>> [p.code for p in find(group([call]), batch=32)[0].pitfalls]
['time-batch-swapped', 'dropout-single-layer']
"""

from __future__ import annotations

from dataclasses import replace

from rnnshape.model.trace import TraceEntry

STATE_NOT_DETACHED = "state-not-detached"
TIME_BATCH_SWAPPED = "time-batch-swapped"
DROPOUT_SINGLE_LAYER = "dropout-single-layer"
WEIGHTS_NOT_CONTIGUOUS = "weights-not-contiguous"
PADDED_NOT_PACKED = "padded-not-packed"
STATE_NOT_PASSED = "state-not-passed"


def find(entries: tuple[TraceEntry, ...], batch: int | None = None) -> tuple[TraceEntry, ...]:
    """The entries with their pitfalls; ``batch`` is the batch size the user's input has, if known."""
    restarted = _restarted(entries)
    agreed = _batches(entries)
    out = []
    for e in entries:
        found = [f for f in (_not_detached(e), _swapped(e, batch, agreed), _dropout(e), _chunk(e), _padding(e))
                 if f is not None]
        if id(e) in restarted:
            found.append(restarted[id(e)])
        out.append(replace(e, pitfalls=tuple(found)))
    return tuple(out)


def _pitfall(code: str, message: str, fix: str):
    from rnnshape.model.trace import Pitfall

    return Pitfall(code, message, fix)


def _input(e: TraceEntry):
    return next((s for s in e.inputs if s.name in ("input", "input.data")), None)


def _not_detached(e: TraceEntry):
    if not any(c.facts.state_history for c in e.calls):
        return None
    lstm = e.module.kind.value == "lstm"
    state = "(h_0, c_0)" if lstm else "h_0"
    fix = "h, c = h.detach(), c.detach()" if lstm else "h = h.detach()"
    return _pitfall(STATE_NOT_DETACHED,
                    f"{state} is the state of an earlier forward with its autograd history attached: every "
                    f"backward reaches back through all earlier batches (memory grows; a second backward fails)",
                    f"detach the state you carry between forward calls: {fix}")


def _batches(entries: tuple[TraceEntry, ...]) -> set[int]:
    """Batch sizes no reading can swap: a batched cell's dimension 0, a PackedSequence's batch_sizes[0]."""
    out = set()
    for e in entries:
        x = _input(e)
        if x is not None and x.packed and x.batch_sizes:
            out.add(x.batch_sizes[0])
        elif x is not None and e.module.cell and len(x.shape) == 2:
            out.add(x.shape[0])
    return out


def _swapped(e: TraceEntry, batch: int | None, agreed: set[int]):
    """``batch`` is dimension 0 of the user's input unless they said otherwise; another module that reads
    the batch unambiguously (a cell, a packed call) and agrees with this one's reading overrules it."""
    x = _input(e)
    m = e.module
    if batch is None or m.cell or x is None or x.packed or len(x.shape) != 3 or x.shape[0] == x.shape[1]:
        return None
    time_dim = 1 if m.batch_first else 0
    if x.shape[time_dim] != batch or x.shape[1 - time_dim] in agreed:
        return None
    if m.batch_first:
        return _pitfall(TIME_BATCH_SWAPPED,
                        f"input is {x.shape} with the batch ({batch}) on dimension 1, but batch_first=True reads "
                        f"dimension 0 as the batch: it runs {x.shape[1]} steps over a batch of {x.shape[0]}",
                        "pass x.transpose(0, 1), or build the module with batch_first=False")
    return _pitfall(TIME_BATCH_SWAPPED,
                    f"input is {x.shape} with the batch ({batch}) first, but batch_first=False reads dimension 0 "
                    f"as time: it runs {x.shape[0]} steps over a batch of {x.shape[1]}",
                    f"build the module with batch_first=True, or pass x.transpose(0, 1) (if {batch} is really "
                    f"the sequence length, say so: --batch {x.shape[1]})")


def _dropout(e: TraceEntry):
    m = e.module
    if m.cell or not m.dropout or m.num_layers > 1:
        return None
    return _pitfall(DROPOUT_SINGLE_LAYER,
                    f"dropout={m.dropout} with num_layers=1 does nothing: torch drops only between stacked layers",
                    "apply nn.Dropout to the module's output instead, or use num_layers >= 2")


def _chunk(e: TraceEntry):
    if not any(c.facts.weights_chunked is False for c in e.calls):
        return None
    return _pitfall(WEIGHTS_NOT_CONTIGUOUS,
                    "the weights are not one contiguous chunk of memory: cuDNN copies them into one on every call",
                    "call flatten_parameters() on the module after replacing or replicating its weights")


def _padding(e: TraceEntry):
    x = _input(e)
    lengths = next((c.facts.real_lengths for c in e.calls if c.facts.real_lengths is not None), None)
    if lengths is None or x is None:
        return None
    steps = x.shape[1] if e.module.batch_first else x.shape[0]
    total = steps * len(lengths)
    pad = total - sum(lengths)
    first = "batch_first=True, " if e.module.batch_first else ""
    return _pitfall(PADDED_NOT_PACKED,
                    f"{pad} of {total} time steps ({pad / total:.0%}) are trailing all-zero padding, run as if "
                    f"real: h_n is the state after the padding, not after each sequence's last step",
                    f"pack it: pack_padded_sequence(x, lengths, {first}enforce_sorted=False)")


def _restarted(entries: tuple[TraceEntry, ...]) -> dict:
    """A module called several times in one forward, without state after the first call: each call starts
    from zeros, so the loop remembers nothing."""
    bare: dict[tuple[str, int], int] = {}
    for e in entries:
        if any(s.name in ("h_0", "c_0", "hx") for s in e.inputs):
            continue
        for c in e.calls:
            bare[(c.path, c.forward)] = bare.get((c.path, c.forward), 0) + 1
    out = {}
    for e in entries:
        if any(s.name in ("h_0", "c_0", "hx") for s in e.inputs):
            continue
        times = max((bare.get((e.path, c.forward), 0) for c in e.calls), default=0)
        if times > 1:
            out[id(e)] = _pitfall(STATE_NOT_PASSED,
                                  f"called {times} times in one forward without a state: every call starts again "
                                  f"from zeros, so the loop carries nothing from one step to the next",
                                  f"pass the state back in: {_feedback(e)}")
    return out


def _feedback(e: TraceEntry) -> str:
    lstm = e.module.kind.value == "lstm"
    if e.module.cell:
        return "h, c = cell(x_t, (h, c))" if lstm else "h = cell(x_t, h)"
    return "out, (h, c) = rnn(x_t, (h, c))" if lstm else "out, h = rnn(x_t, h)"
