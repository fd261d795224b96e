"""The sentences of `--explain`: how data flows between steps, directions, layers and modules, and the traps.

Each sentence carries this configuration's concrete sizes; the rules behind them are in
/work/shared/reference/pytorch-rnn-semantics.md §3-4 and are checked against torch in tests/test_explain_torch.py.

>>> from rnnshape.model.spec import make_spec
>>> spec = make_spec("lstm", num_layers=2, bidirectional=True)
>>> print(traps(spec, spec.modules())[0].split(": ")[0])
output[-1] is not the reverse direction's final state
>>> print(traps(spec, spec.modules())[0].split("; ")[1])
its final state h_n[-1] is output[0, :, 20:]
"""

from __future__ import annotations

from rnnshape.model.spec import Kind, Module, Spec
from rnnshape.views.explain_packed import packed_traps


def _shape(spec: Spec, width: int) -> str:
    return f"({width},)" if spec.unbatched else f"({spec.batch}, {width})"


def notes(spec: Spec, mods: tuple[Module, ...]) -> tuple[str, ...]:
    out = [_rows_note(spec)]
    first = mods[0]
    if spec.cell:
        out += _cell_notes(spec, mods)
    else:
        if first.bidirectional:
            steps = "t = lengths[b] - 1 … 0 for sequence b" if spec.packed else f"t = {spec.seq_len - 1} … 0"
            out.append("the reverse direction runs the same equations with its own *_reverse weights over "
                       f"{steps}, so its previous state is h_{{t+1}}")
        if first.num_layers > 1:
            out.append(f"layer k ≥ 1 reads as x_t the output of layer k-1 at step t: {_joined(first)}, "
                       f"{_shape(spec, first.output_size)}")
            if first.dropout:
                out.append(f"in train mode, dropout(p={first.dropout}) is applied to that input of layers 1 … "
                           f"{first.num_layers - 1}, never to the last layer's output")
        if first.proj_size:
            out.append(f"proj_size: h_t = W_hr (o_t ⊙ tanh(c_t)) is {first.proj_size} wide, c_t stays "
                       f"{first.hidden_size} wide, and the next layer reads D·P = {first.output_size} features")
        if len(mods) > 1:
            out.append("each module of the stack reads the previous module's whole output as its input "
                       "sequence, and keeps its own final states h_n.0, h_n.1, …")
        last = mods[-1]
        out.append(f"output[t] is the last layer's {_joined(last)}, {_shape(spec, last.output_size)}")
        out.append(_state_note(mods, spec.unbatched))
    if spec.batch_major:
        states = "h_n and c_n stay" if spec.kind.has_cell_state else "h_n stays"
        out.append(f"batch_first=True: x_t is input[:, t] and output[:, t]; {states} (D·num_layers, N, ·)")
    if spec.packed:
        out.append("packed input: step t runs only the sequences longer than t (batch_sizes[t] rows), and "
                   "each sequence's h_n is its state at its own last step")
    return tuple(out)


def _rows_note(spec: Spec) -> str:
    rows = "" if spec.unbatched else f" for all N = {spec.batch} rows at once"
    if spec.kind is Kind.RNN:
        return f"torch computes W x_t as x_t @ W.T{rows}"
    gates = spec.kind.info.gate_summary
    return (f"torch computes W x_t as x_t @ W.T{rows}; weight_ih and weight_hh stack the {gates} on their "
            f"rows, so one matrix product serves every gate")


def _joined(mod: Module) -> str:
    if mod.bidirectional:
        return "cat(h_t →, h_t ←) on the last dimension (forward first)"
    return "h_t"


def _state_note(mods: tuple[Module, ...], unbatched: bool) -> str:
    first = mods[0]
    D, K = first.directions, first.num_layers
    c = " (c_n likewise)" if first.kind.has_cell_state else ""
    if len(mods) > 1:
        where = "h_n.i[d] is module i's final state in direction d (d = 0 →, 1 ←)" if D > 1 else (
            "h_n.i[0] is module i's final state")
        return where + c
    if D * K == 1:
        return f"h_n[0] is the final state{c}: there is one layer and one direction"
    where = "h_n[k·D + d] is layer k's final state in direction d (d = 0 →, 1 ←)" if D > 1 else (
        "h_n[k] is layer k's final state")
    view = f"h_n.view({K}, {D}, {'' if unbatched else 'N, '}H_out)[k, d]" if D > 1 else ""
    return where + c + (f"; the same as {view}" if view else "")


def _cell_notes(spec: Spec, mods: tuple[Module, ...]) -> list[str]:
    lstm = spec.kind.has_cell_state
    call = "(h, c) = cell(x[t], (h, c))" if lstm else "h = cell(x[t], h)"
    x_t = "input[:, t]" if spec.batch_major else "input[t]"
    out = [f"the loop calls the cell once per step: for t in range({spec.seq_len}): {call}, with x[t] = {x_t}"]
    if len(mods) > 1:
        out.append("at each step, cell i+1 reads cell i's new h_t as its x_t: "
                   + ", ".join(f"cell {i} → {_shape(spec, m.hidden_size)}" for i, m in enumerate(mods[:-1])))
        out.append("h_n.i is cell i's h after the last step" + (" (c_n.i likewise)" if lstm else ""))
    else:
        out.append("h_n is the cell's h after the last step" + (" (c_n likewise)" if lstm else ""))
    out.append("a cell has no output tensor: stack the h_t of the last cell yourself if you need one")
    return out


def traps(spec: Spec, mods: tuple[Module, ...]) -> tuple[str, ...]:
    out = []
    last = mods[-1]
    packed = spec.packed and not spec.cell
    if not spec.cell and last.bidirectional and spec.seq_len > 1 and not packed:  # one step: output[-1] is [0]
        rev = output_slice(spec, last, 1)
        wrong = rev.replace("[0", "[-1") if not spec.batch_major else rev.replace(
            ":, 0", ":, -1")
        first_step = f"x_{spec.seq_len - 1}"
        name = "h_n" + (f".{len(mods) - 1}" if len(mods) > 1 else "")
        last_step = "output[:, -1]" if spec.batch_major else "output[-1]"
        out.append(f"{last_step} is not the reverse direction's final state: {wrong} is the reverse direction "
                   f"after its first step (it has seen only {first_step}); its final state {name}[-1] is {rev}")
    if not spec.cell and last.bidirectional and spec.seq_len > 1:
        name = "h_n" + (f".{len(mods) - 1}" if len(mods) > 1 else "")
        out.append(f"{name}[-1] is only the last layer's reverse direction; both directions of the last layer "
                   f"are {name}[-2:]")
    if spec.kind is Kind.GRU:
        out.append("torch's GRU multiplies r_t into (W_hn h + b_hn), not into h before W_hn as in Cho et al. "
                   "(2014): weights from Keras's reset_after=False GRU do not carry over")
    if spec.kind.has_cell_state:
        out.append("the gate rows are in torch's order i, f, g, o (ONNX stores i, o, f, c): reorder when porting")
    if mods[0].proj_size:
        c, h = ("c_n", "h_n") if len(mods) == 1 else ("each c_n.k", "h_n.k")
        widths = ", ".join(str(m.hidden_size) for m in mods)
        out.append(f"{c} keeps hidden_size ({widths}) while {h} and output use proj_size ({mods[0].proj_size})")
    if spec.batch_major and not spec.cell:
        states = "h_n and c_n are" if spec.kind.has_cell_state else "h_n is"
        out.append(f"{states} never batch-first, even with batch_first=True")
    if packed:
        out += packed_traps(spec, mods)
    return tuple(out)


def output_slice(spec: Spec, mod: Module, d: int) -> str | None:
    """The slice of `output` equal to the top layer's final state in direction d (None when none is)."""
    if d == 0 and spec.packed:
        return None  # each sequence ends at its own length, not at t = L-1
    t = "0" if d else "-1"
    H = mod.h_out
    feat = "" if mod.directions == 1 else (f"{H}:" if d else f":{H}")
    if spec.unbatched:
        idx = [t] + ([feat] if feat else [])
    elif spec.batch_first:
        idx = [":", t] + ([feat] if feat else [])
    else:
        idx = [t] + ([":", feat] if feat else [])
    return "output[" + ", ".join(idx) + "]"
