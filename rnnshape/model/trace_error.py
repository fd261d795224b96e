"""Why a recurrent call failed, in rnnshape's terms: which tensor, which dimension, what torch expected and why.

Pure Python on shapes. The expected shapes come from the module's own attributes (num_layers,
bidirectional, proj_size, batch_first); tests hold them equal to the shapes in torch's own messages.

>>> from rnnshape.model.spec import Kind, Module
>>> from rnnshape.model.trace import Seen
>>> lstm = Module(Kind.LSTM, False, 10, 20, num_layers=2)
>>> ins = (Seen("input", (5, 3, 10)), Seen("h_0", (1, 3, 20)), Seen("c_0", (1, 3, 20)))
>>> said = "RuntimeError: Expected hidden[0] size (2, 3, 20), got [1, 3, 20]"
>>> print(explain("dec", "LSTM", lstm, ins, said).message)
dec (LSTM): h_0 is (1, 3, 20), torch expects (2, 3, 20): dimension 0 is num_layers × directions = 2 × 1 = 2 (got 1)
"""

from __future__ import annotations

from rnnshape.model.spec import Module
from rnnshape.model.trace import Seen, TraceError

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
    """The failure of one call of ``m`` (at ``path``) with these inputs, explained; torch's words kept."""
    who = f"{path or 'the model'} ({cls})"
    found = _input_problem(m, inputs, weight_dtype) or _state_problem(m, inputs)
    if found is None:
        return TraceError(f"{who} raised {exception}", None, path, exception)
    message, hint = found
    return TraceError(f"{who}: {message}", f"{hint}; torch said: {exception}", path, exception)


def _input_problem(m: Module, inputs: tuple[Seen, ...], weight_dtype: str):
    ins = {s.name: s for s in inputs}
    x = ins.get("input") or ins.get("input.data")
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
    ins = {s.name: s for s in inputs}
    x = ins.get("input") or ins.get("input.data")
    if x is None:
        return None
    if "hx" in ins:
        return (f"hx is one tensor {_fmt(ins['hx'].shape)}, torch expects the tuple (h_0, c_0)",
                "pass both states: module(x, (h_0, c_0))")
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
