"""An independent torch witness for the tests: builds and runs a configuration with plain torch code.

Written separately from rnnshape.run.build on purpose, so the two cannot share a mistake. Names follow
CONTRACT.md: input, input.data, h_0/c_0 (.k in stacks), output, output.data, h_n/c_n (.k in stacks).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils.flop_counter import FlopCounterMode

LAYER = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
CELL = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}


@dataclass
class Reference:
    module_repr: str
    parameters: list[tuple[str, tuple[int, ...]]]
    inputs: dict[str, tuple[int, ...]]
    outputs: dict[str, tuple[int, ...]]
    parameter_count: int
    flops: int  # FlopCounterMode on a float64 CPU run (the addmm path, which it counts)


def _modules(s, dtype):
    kind = s.kind.value
    sizes = list(s.hidden_size) if isinstance(s.hidden_size, tuple) else (
        [s.hidden_size] * s.num_layers if s.cell else [s.hidden_size]
    )
    mods, width = [], s.input_size
    for h in sizes:
        extra = {"nonlinearity": s.nonlinearity} if kind == "rnn" else {}
        if s.cell:
            mods.append(CELL[kind](width, h, bias=s.bias, dtype=dtype, **extra))
            width = h
        else:
            if kind == "lstm":
                extra["proj_size"] = s.proj_size
            layers = 1 if isinstance(s.hidden_size, tuple) else s.num_layers
            mods.append(LAYER[kind](width, h, num_layers=layers, bias=s.bias, batch_first=s.batch_first,
                                    bidirectional=s.bidirectional, dtype=dtype, **extra))
            width = (2 if s.bidirectional else 1) * (s.proj_size or h)
    return mods


def _run(s, mods, dtype):
    kind = s.kind.value
    stacked = len(mods) > 1
    sfx = [f".{i}" if stacked else "" for i in range(len(mods))]
    if s.unbatched:
        x = torch.randn(s.seq_len, s.input_size, dtype=dtype)
    elif s.batch_first:
        x = torch.randn(s.batch, s.seq_len, s.input_size, dtype=dtype)
    else:
        x = torch.randn(s.seq_len, s.batch, s.input_size, dtype=dtype)
    inputs = {"input": tuple(x.shape)}
    states = []
    for i, m in enumerate(mods):
        if s.init_state.value == "none":
            states.append(None)
            continue
        if s.cell:
            shape_h = (m.hidden_size,) if s.unbatched else (s.batch, m.hidden_size)
            shape_c = shape_h
        else:
            first = m.num_layers * (2 if m.bidirectional else 1)
            mid = () if s.unbatched else (s.batch,)
            shape_h = (first, *mid, m.proj_size or m.hidden_size)
            shape_c = (first, *mid, m.hidden_size)
        h = torch.zeros(shape_h, dtype=dtype)
        inputs["h_0" + sfx[i]] = shape_h
        if kind == "lstm":
            inputs["c_0" + sfx[i]] = shape_c
            states.append((h, torch.zeros(shape_c, dtype=dtype)))
        else:
            states.append(h)
    outputs = {}
    with torch.no_grad():
        if s.cell:
            steps = x.unbind(1) if (s.batch_first and not s.unbatched) else list(x)
            for xt in steps:
                inp = xt
                for i, m in enumerate(mods):
                    states[i] = m(inp, states[i])
                    inp = states[i][0] if kind == "lstm" else states[i]
            finals = states
        else:
            seq = x
            if s.lengths is not None:
                seq = pack_padded_sequence(x, list(s.lengths), batch_first=s.batch_first, enforce_sorted=False)
                inputs = {"input": inputs.pop("input"), "input.data": tuple(seq.data.shape), **inputs}
            finals = []
            for m, st in zip(mods, states):
                seq, hn = m(seq, st)
                finals.append(hn)
            if s.lengths is not None:
                padded, _ = pad_packed_sequence(seq, batch_first=s.batch_first, total_length=s.seq_len)
                outputs["output"] = tuple(padded.shape)
                outputs["output.data"] = tuple(seq.data.shape)
            else:
                outputs["output"] = tuple(seq.shape)
        for i, f in enumerate(finals):
            if kind == "lstm":
                outputs["h_n" + sfx[i]], outputs["c_n" + sfx[i]] = tuple(f[0].shape), tuple(f[1].shape)
            else:
                outputs["h_n" + sfx[i]] = tuple(f.shape)
    return inputs, outputs


def reference(spec, flops: bool = True) -> Reference:
    torch.manual_seed(0)
    dtype = getattr(torch, spec.dtype.value)
    mods = _modules(spec, dtype)
    whole = mods[0] if len(mods) == 1 else nn.ModuleList(mods)
    inputs, outputs = _run(spec, mods, dtype)
    counted = 0
    if flops:
        mods64 = _modules(spec, torch.float64)
        with FlopCounterMode(display=False) as counter:
            _run(spec, mods64, torch.float64)
        counted = counter.get_total_flops()
    return Reference(
        module_repr=repr(whole),
        parameters=[(n, tuple(p.shape)) for n, p in whole.named_parameters()],
        inputs=inputs,
        outputs=outputs,
        parameter_count=sum(p.numel() for p in whole.parameters()),
        flops=counted,
    )
