"""What torch calls things: tensor and parameter names, the docs' symbols, and a module's repr.

One scheme for everything (CONTRACT.md): final states h_n/c_n, initial states h_0/c_0, and in a stack
(several cells, or single-layer modules from a --hidden-size list) the module index as a suffix, h_n.1;
parameters carry torch's own names, weight_ih_l1_reverse, prefixed by the module index in a stack.

>>> state_name("c", initial=False, index=1), param_name("weight_hh", index=0, layer=2, reverse=True)
('c_n.1', '0.weight_hh_l2_reverse')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rnnshape.model.spec import Module


def suffix(index: int | None) -> str:
    """A stacked module's tensor suffix: ".1"; nothing for a single module."""
    return "" if index is None else f".{index}"


def state_name(state: str, *, initial: bool, index: int | None = None) -> str:
    """``h_0``, ``c_n``, ``h_n.1``: a state tensor of the module at ``index`` in a stack (None: not a stack)."""
    return f"{state}_{'0' if initial else 'n'}{suffix(index)}"


def param_name(base: str, *, index: int | None = None, layer: int | None = None, reverse: bool = False) -> str:
    """torch's parameter name: ``weight_ih`` (a cell, layer None), ``weight_ih_l1_reverse``, ``0.bias_hh_l0``."""
    prefix = "" if index is None else f"{index}."
    if layer is None:
        return prefix + base
    return f"{prefix}{base}_l{layer}" + ("_reverse" if reverse else "")


def symbols(mods: tuple[Module, ...], index: int | None) -> dict[str, str]:
    """The docs' symbols for one module; in a stack they carry its index (H.1, H_out.0) so none is ambiguous.

    A stacked module's input is the previous module's output, so its H_in is written as that.
    """
    if index is None:
        return {"H": "H", "H_out": "H_out", "H_cell": "H_cell", "H_in": "H_in"}
    mod = mods[index]
    h_out = f"H_out.{index}" if mod.proj_size else f"H.{index}"
    if index == 0:
        h_in = "H_in"
    else:
        prev = mods[index - 1]
        prev_out = f"H.{index - 1}" if prev.cell or not prev.proj_size else f"H_out.{index - 1}"
        h_in = prev_out if prev.cell else f"D·{prev_out}"
    return {"H": f"H.{index}", "H_out": h_out, "H_cell": f"H.{index}", "H_in": h_in}


def module_repr(mods: tuple[Module, ...]) -> str:
    """What ``repr()`` of the torch module prints: a single module, or the ModuleList of a stack."""
    reprs = [_one_repr(m) for m in mods]
    if len(reprs) == 1:
        return reprs[0]
    lines, start = [], 0
    for i in range(1, len(reprs) + 1):
        if i == len(reprs) or reprs[i] != reprs[start]:
            n = i - start
            label = f"({start}): " if n == 1 else f"({start}-{i - 1}): {n} x "
            lines.append("  " + label + reprs[start])
            start = i
    return "ModuleList(\n" + "\n".join(lines) + "\n)"


def _one_repr(m: Module) -> str:
    name = m.kind.torch_name + ("Cell" if m.cell else "")
    s = f"{m.input_size}, {m.hidden_size}"
    if m.cell:
        if not m.bias:
            s += ", bias=False"
        if m.nonlinearity not in (None, "tanh"):
            s += f", nonlinearity={m.nonlinearity}"
        return f"{name}({s})"
    if m.proj_size:
        s += f", proj_size={m.proj_size}"
    if m.num_layers != 1:
        s += f", num_layers={m.num_layers}"
    if not m.bias:
        s += ", bias=False"
    if m.batch_first:
        s += ", batch_first=True"
    if m.dropout:
        s += f", dropout={m.dropout}"
    if m.bidirectional:
        s += ", bidirectional=True"
    return f"{name}({s})"
