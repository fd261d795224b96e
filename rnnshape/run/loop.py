"""The classic tutorial loop: the fused module's own weights, run one time step at a time through Cells.

For each module, each layer, each direction: T calls of the Cell (the reverse direction walks t = T-1..0),
then forward|reverse concatenated as the next layer's input. With proj_size, h is projected by weight_hr
after each step, so the Cell is written out by hand (nn.LSTMCell has no projection). Every Cell shares
the module's Parameter objects: nothing is copied, so the loop computes exactly what the module does.
torch is imported inside functions only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from rnnshape.model.naming import param_name, suffix
from rnnshape.model.spec import Kind, Spec


def loop_forward(spec: Spec, built) -> Callable[[], dict]:
    """A callable returning the same {name: tensor} as ``built.forward`` (dense input, layer modules only)."""
    mods = _modules(built.module)
    stacks = [_cells(spec.kind, mod) for mod in mods]
    sfxs = [suffix(i if len(mods) > 1 else None) for i in range(len(mods))]
    inputs = built.inputs
    lstm = spec.kind.has_cell_state
    time_major = not spec.batch_major

    def forward() -> dict:
        x = inputs["input"] if time_major else inputs["input"].transpose(0, 1)
        result = {}
        for mod, cells, s in zip(mods, stacks, sfxs):
            x, finals = _run_module(cells, x, inputs.get("h_0" + s), inputs.get("c_0" + s), mod, lstm)
            result["h_n" + s] = finals[0]
            if lstm:
                result["c_n" + s] = finals[1]
        return {"output": x if time_major else x.transpose(0, 1), **result}

    return forward


def _modules(module) -> list:
    from torch import nn

    return list(module) if isinstance(module, nn.ModuleList) else [module]


def _run_module(cells, x, h0, c0, mod, lstm: bool):
    import torch

    T = x.shape[0]
    batch = x.shape[1:-1]  # () when unbatched
    hs, cs = [], []
    for k, layer in enumerate(cells):
        outs = []
        for d, cell in enumerate(layer):
            i = k * len(layer) + d
            h = h0[i] if h0 is not None else x.new_zeros(*batch, mod.proj_size or mod.hidden_size)
            c = c0[i] if c0 is not None else x.new_zeros(*batch, mod.hidden_size)
            seq = [None] * T
            for t in range(T) if d == 0 else reversed(range(T)):
                if lstm:
                    h, c = cell(x[t], (h, c))
                else:
                    h = cell(x[t], h)
                seq[t] = h
            outs.append(torch.stack(seq))
            hs.append(h)
            cs.append(c)
        x = torch.cat(outs, -1)
    return x, (torch.stack(hs), torch.stack(cs))


def _cells(kind: Kind, mod) -> list[list]:
    """One Cell per (layer, direction), holding the module's own Parameters."""
    layers = []
    for k in range(mod.num_layers):
        row = []
        for d in range(2 if mod.bidirectional else 1):
            names = {n: param_name(n, layer=k, reverse=bool(d))
                     for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")}
            params = {n: getattr(mod, full) for n, full in names.items() if hasattr(mod, full)}
            row.append(_cell(kind, mod, params))
        layers.append(row)
    return layers


def _cell(kind: Kind, mod, params: dict):
    from torch import nn

    if getattr(mod, "proj_size", 0):
        return ProjLSTMCell(params)
    w = params["weight_ih"]
    factory = {"device": "meta", "dtype": w.dtype}  # placeholders: replaced by the module's own below
    args = {"input_size": w.shape[1], "hidden_size": mod.hidden_size, "bias": mod.bias, **factory}
    if kind.info.takes_nonlinearity:
        args["nonlinearity"] = mod.nonlinearity
    cell = getattr(nn, kind.torch_name + "Cell")(**args)
    for name, p in params.items():
        setattr(cell, name, p)
    return cell


@functools.cache
def _proj_cell_class():
    from torch import nn

    class _ProjLSTMCell(nn.Module):
        """An LSTM step with projection, written out: gates i, f, g, o; c' = f*c + i*g; h' = W_hr (o*tanh c')."""

        def __init__(self, params: dict) -> None:
            super().__init__()
            for name, p in params.items():
                setattr(self, name, p)
            self.bias = "bias_ih" in params

        def forward(self, x, state):
            import torch
            import torch.nn.functional as F

            h, c = state
            gates = F.linear(x, self.weight_ih, self.bias_ih if self.bias else None)
            gates = gates + F.linear(h, self.weight_hh, self.bias_hh if self.bias else None)
            i, f, g, o = gates.chunk(4, -1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = F.linear(torch.sigmoid(o) * torch.tanh(c), self.weight_hr)
            return h, c

    return _ProjLSTMCell


def ProjLSTMCell(params: dict):  # noqa: N802 - builds an nn.Module; the class is made lazily (torch import)
    return _proj_cell_class()(params)
