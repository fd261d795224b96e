"""`--code`: the plain PyTorch that builds and runs a configuration, the way one writes it by hand.

Torch-free: the text is generated from the spec. Tests execute it and compare with the predictor.

>>> from rnnshape.model.spec import make_spec
>>> print(snippet(make_spec("rnn", cell=True)).splitlines()[4])
cell = nn.RNNCell(input_size=100, hidden_size=20).eval()
"""

from __future__ import annotations

from rnnshape.model.enums import InitState
from rnnshape.model.spec import Kind, Module, Spec

# What torch assumes when an argument is left out: the generated code leaves those out too.
_TORCH_DEFAULTS = {"num_layers": 1, "nonlinearity": "tanh", "bias": True, "batch_first": False, "dropout": 0.0,
                   "bidirectional": False, "proj_size": 0}


def constructor(m: Module, factory: str = "") -> str:
    """`nn.LSTM(input_size=100, hidden_size=20, num_layers=4, bidirectional=True)`: the non-default keywords."""
    args = [f"{k}={v!r}" for k, v in m.constructor_kwargs().items() if _TORCH_DEFAULTS.get(k, object()) != v]
    return f"nn.{m.torch_class}({', '.join(args)}{factory})"


def _shape(shape: tuple[int, ...]) -> str:
    return ", ".join(str(d) for d in shape)


def snippet(spec: Spec) -> str:
    """A runnable script that rebuilds this configuration and prints every output shape."""
    from rnnshape.model.predict import predict

    pred = predict(spec)
    mods = spec.modules()
    lstm = spec.kind is Kind.LSTM
    custom = spec.dtype.value != "float32" or spec.device != "cpu"
    factory = ", **factory" if custom else ""
    tensor_kw = ", **factory" if custom else ""
    lines = ["import torch", "from torch import nn"]
    if spec.packed:
        lines.append("from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence")
    lines += ["", "torch.manual_seed(0)"]
    if custom:
        device = "'cuda' if torch.cuda.is_available() else 'cpu'" if spec.device == "auto" else repr(spec.device)
        lines.append(f"factory = {{'device': {device}, 'dtype': torch.{spec.dtype.value}}}")

    stacked = len(mods) > 1
    if stacked:
        lines.append("net = nn.ModuleList([")
        lines += [f"    {constructor(m, factory)}," for m in mods]
        lines.append("]).eval()")
    else:
        lines.append(f"{'cell' if spec.cell else 'net'} = {constructor(mods[0], factory)}.eval()")
    x = pred.inputs[0]
    lines.append(f"x = torch.randn({_shape(x.shape)}{tensor_kw})  # {', '.join(x.dims)}")
    init = {t.name: t for t in pred.inputs if t.name.startswith(("h_0", "c_0"))}
    make = "torch.zeros" if spec.init_state is InitState.ZEROS else "torch.randn"

    def state(sfx: str) -> str:
        if not init:
            return "None"
        h = f"{make}({_shape(init['h_0' + sfx].shape)}{tensor_kw})"
        if lstm:
            return f"({h}, {make}({_shape(init['c_0' + sfx].shape)}{tensor_kw}))"
        return h

    sfxs = [f".{i}" if stacked else "" for i in range(len(mods))]
    lines.append("")
    lines.append("with torch.no_grad():")
    if spec.cell:
        loop = "x.unbind(1)" if spec.batch_major else "x"
        if stacked:
            lines.append(f"    states = [{', '.join(state(s) for s in sfxs)}]")
            lines.append(f"    for x_t in {loop}:  # one time step at a time")
            lines.append("        inp = x_t")
            lines.append("        for k, cell in enumerate(net):")
            lines.append("            states[k] = cell(inp, states[k])")
            lines.append(f"            inp = states[k]{'[0]' if lstm else ''}")
            outs = []
            for i in range(len(mods)):
                outs += [f"states[{i}][0]", f"states[{i}][1]"] if lstm else [f"states[{i}]"]
        else:
            lines.append(f"    state = {state('')}")
            lines.append(f"    for x_t in {loop}:  # one time step at a time")
            lines.append("        state = cell(x_t, state)")
            outs = ["state[0]", "state[1]"] if lstm else ["state"]
        lines.append(f"    print({', '.join(f'tuple({o}.shape)' for o in outs)})")
        return "\n".join(lines) + "\n"

    src = "x"
    if spec.packed and spec.device == "meta":
        # pad_packed_sequence cannot un-sort on meta (it moves meta indices to the CPU): pack pre-sorted
        lines.append(f"    packed = pack_padded_sequence(x, {sorted(spec.lengths, reverse=True)}, "
                     f"batch_first={spec.batch_first}, enforce_sorted=True)  # meta: lengths pre-sorted")
    elif spec.packed:
        lines.append(
            f"    packed = pack_padded_sequence(x, {list(spec.lengths)}, batch_first={spec.batch_first}, "
            "enforce_sorted=False)"
        )
    if spec.packed:
        src = "packed"
    finals = []
    for i, s in enumerate(sfxs):
        target = f"net[{i}]" if stacked else "net"
        tag = str(i) if stacked else ""
        out = f"(h_n{tag}, c_n{tag})" if lstm else f"h_n{tag}"
        args = src if state(s) == "None" else f"{src}, {state(s)}"
        lines.append(f"    output, {out} = {target}({args})")
        src = "output"
        finals += [f"h_n{tag}", f"c_n{tag}"] if lstm else [f"h_n{tag}"]
    outs = ["output"] + finals
    if spec.packed:
        lines.append(
            f"    padded, _ = pad_packed_sequence(output, batch_first={spec.batch_first}, "
            f"total_length={spec.seq_len})"
        )
        outs = ["padded", "output.data"] + finals
    lines.append(f"    print({', '.join(f'tuple({o}.shape)' for o in outs)})")
    return "\n".join(lines) + "\n"
