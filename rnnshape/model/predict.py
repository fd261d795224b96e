"""The torch-free witness: every name, shape and count a run reports, from the spec alone.

Tests hold it equal to torch over thousands of generated configurations (tests/test_witness.py).

>>> from rnnshape.model.spec import make_spec
>>> p = predict(make_spec("lstm", num_layers=4, bidirectional=True))
>>> p.totals.parameters, p.totals.macs, [t.shape for t in p.outputs]
(49280, 1440000, [(10, 3, 40), (8, 3, 20), (8, 3, 20)])
"""

from __future__ import annotations

from rnnshape.model.naming import module_repr, param_name, state_name, symbols
from rnnshape.model.report import Named, ParamInfo, Prediction, Report, TensorInfo, Totals
from rnnshape.model.spec import Module, Spec, per_spec


def dry_report(spec: Spec) -> Report:
    """The Report of ``--dry-run``: the prediction alone, not verified, nothing timed.

    >>> from rnnshape.model.spec import make_spec
    >>> r = dry_report(make_spec("gru"))
    >>> r.verified, r.timing, r.torch_version
    (False, None, None)
    """
    return Report(predict(spec), verified=False, torch_version=None, timing=None, warnings=spec.warnings)


@per_spec  # the live display predicts first, the run asks again: computed once
def predict(spec: Spec) -> Prediction:
    mods = spec.modules()
    stacked = len(mods) > 1
    params: list[ParamInfo] = []
    for i, mod in enumerate(mods):
        params.extend(_parameters(mods, i if stacked else None))
    inputs, outputs = _tensors(spec, mods)
    return Prediction(
        spec=spec,
        module_repr=module_repr(mods),
        parameters=Named(params),
        inputs=Named(inputs),
        outputs=Named(outputs),
        totals=_totals(spec, params, inputs, outputs),
        symbols=_symbols(spec, mods),
        reading=(how_torch_reads(spec.input_shape, batch_first=spec.batch_first, cell=spec.cell)
                 if spec.input_shape else ()),
    )


def _parameters(mods: tuple[Module, ...], index: int | None) -> list[ParamInfo]:
    mod = mods[index or 0]
    sym = symbols(mods, index)
    rows = mod.kind.gates * mod.hidden_size
    g = f"{mod.kind.gates}·{sym['H']}" if mod.kind.gates > 1 else sym["H"]

    def info(name, shape, dims, layer, direction, gated=True, bias=False):
        return ParamInfo(
            name=param_name(name, index=index, layer=layer, reverse=bool(direction)),
            shape=shape,
            dims=dims,
            module=index,
            layer=layer,
            direction=direction,
            gates=mod.kind.gate_names if gated else (),
            bias=bias,
        )

    if mod.cell:
        out = [
            info("weight_ih", (rows, mod.input_size), (g, sym["H_in"]), None, 0),
            info("weight_hh", (rows, mod.hidden_size), (g, sym["H"]), None, 0),
        ]
        if mod.bias:
            out += [
                info("bias_ih", (rows,), (g,), None, 0, bias=True),
                info("bias_hh", (rows,), (g,), None, 0, bias=True),
            ]
        return out

    out = []
    for k in range(mod.num_layers):
        width, width_dims = (mod.input_size, sym["H_in"]) if k == 0 else (mod.output_size, f"D·{sym['H_out']}")
        for d in range(mod.directions):
            out += [
                info("weight_ih", (rows, width), (g, width_dims), k, d),
                info("weight_hh", (rows, mod.h_out), (g, sym["H_out"]), k, d),
            ]
            if mod.bias:
                out += [
                    info("bias_ih", (rows,), (g,), k, d, bias=True),
                    info("bias_hh", (rows,), (g,), k, d, bias=True),
                ]
            if mod.proj_size:
                out.append(info("weight_hr", (mod.proj_size, mod.hidden_size), ("P", sym["H"]), k, d, False))
    return out


def _tensors(spec: Spec, mods: tuple[Module, ...]) -> tuple[tuple[TensorInfo, ...], tuple[TensorInfo, ...]]:
    L, N = spec.seq_len, spec.batch
    last = mods[-1]
    stacked = len(mods) > 1

    def seq(width: int, width_dim: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
        if spec.unbatched:
            return (L, width), ("L", width_dim)
        if spec.batch_first:
            return (N, L, width), ("N", "L", width_dim)
        return (L, N, width), ("L", "N", width_dim)

    shape, dims = seq(spec.input_size, "H_in")
    inputs = [TensorInfo("input", shape, dims, _input_note(spec))]
    if spec.packed:
        inputs.append(
            TensorInfo(
                "input.data",
                (sum(spec.lengths), spec.input_size),
                ("sum(lengths)", "H_in"),
                "the PackedSequence's data: real steps only, time-major",
            )
        )

    outputs = []
    if not spec.cell:
        last_out = f"D·{symbols(mods, len(mods) - 1 if stacked else None)['H_out']}"
        shape, dims = seq(last.output_size, last_out)
        note = _output_note(spec, mods)
        outputs.append(TensorInfo("output", shape, dims, note))
        if spec.packed:
            outputs.append(
                TensorInfo(
                    "output.data",
                    (sum(spec.lengths), last.output_size),
                    ("sum(lengths)", last_out),
                    "the output PackedSequence's data",
                )
            )

    explicit = spec.explicit_state
    for i, mod in enumerate(mods):
        index = i if stacked else None
        sym = symbols(mods, index)
        for state, width, dim in _state_widths(mod):
            shape, dims = _state_shape(spec, mod, width, sym[dim])
            if explicit:
                inputs.append(TensorInfo(state_name(state, initial=True, index=index), shape, dims,
                                         _state_note(spec, mod, state, initial=True)))
            outputs.append(TensorInfo(state_name(state, initial=False, index=index), shape, dims,
                                      _state_note(spec, mod, state, initial=False)))
    return tuple(inputs), tuple(outputs)


def _state_widths(mod: Module) -> list[tuple[str, int, str]]:
    if mod.cell:
        out = [("h", mod.hidden_size, "H")]
        return out + ([("c", mod.hidden_size, "H")] if mod.kind.has_cell_state else [])
    # the symbol names are looked up in symbols(): H_out.1, H.0, ... in a stack
    out = [("h", mod.h_out, "H_out")]
    return out + ([("c", mod.hidden_size, "H_cell")] if mod.kind.has_cell_state else [])


def _state_shape(spec: Spec, mod: Module, width: int, dim: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
    if mod.cell:
        return ((width,), (dim,)) if spec.unbatched else ((spec.batch, width), ("N", dim))
    first = mod.directions * mod.num_layers
    first_dim = "D·num_layers"
    if spec.unbatched:
        return (first, width), (first_dim, dim)
    return (first, spec.batch, width), (first_dim, "N", dim)


def _input_note(spec: Spec) -> str | None:
    if spec.packed:
        how = "enforce_sorted=True, sorted by length on meta" if spec.device == "meta" else "enforce_sorted=False"
        return f"padded as you hold it; packed with pack_padded_sequence({how})"
    if spec.cell:
        step = "x[:, t]" if spec.batch_major else "x[t]"
        return f"the loop feeds one time step at a time: {step} is " + (
            f"({spec.input_size},)" if spec.unbatched else f"({spec.batch}, {spec.input_size})"
        )
    if spec.unbatched:
        return "unbatched: 2-D, --batch-first does not apply" if spec.batch_first else "unbatched: 2-D"
    return None


def _output_note(spec: Spec, mods: tuple[Module, ...]) -> str | None:
    notes = []
    last = mods[-1]
    if spec.packed:
        notes.append(f"pad_packed_sequence(total_length={spec.seq_len}): zeros past each length")
    if last.bidirectional:
        notes.append("[forward | reverse] on the last dim")
        if spec.seq_len > 1:  # with one step the last step is also the first
            h_n = state_name("h", initial=False, index=len(mods) - 1 if len(mods) > 1 else None)
            t_first = not spec.batch_major
            last_step, first_step = ("output[-1]", "output[0, ..., H_out:]") if t_first else (
                "output[:, -1]", "output[:, 0, H_out:]")
            notes.append(f"{last_step} is not {h_n}[-1]: reverse final state is {first_step}")
    return "; ".join(notes) or None


def _state_note(spec: Spec, mod: Module, state: str, initial: bool) -> str | None:
    notes = []
    if mod.cell:
        if not initial:
            notes.append("the cell's state after the last step")
        return "; ".join(notes) or None
    if spec.batch_major:
        notes.append("never batch-first")
    if mod.proj_size:
        wide = f"proj_size wide ({mod.proj_size})" if state == "h" else f"stays hidden_size wide ({mod.hidden_size})"
        notes.append(wide)
    if mod.directions * mod.num_layers > 1:
        notes.append("index layer·D + direction" if mod.directions > 1 else "index = layer")
    if spec.packed and not initial:
        notes.append("each sequence's state at its own last step")
    return "; ".join(notes) or None


def _totals(spec: Spec, params, inputs, outputs) -> Totals:
    n_params = sum(p.numel for p in params)
    weights = sum(p.numel for p in params if not p.bias)
    size = spec.dtype.itemsize
    macs = spec.steps() * weights
    return Totals(
        parameters=n_params,
        parameter_bytes=n_params * size,
        macs=macs,
        flops=2 * macs,
        steps=spec.steps(),
        input_bytes=sum(t.numel for t in inputs) * size,
        output_bytes=sum(t.numel for t in outputs) * size,
        keras_parameters=_keras_parameters(spec, params, n_params),
    )


def _keras_parameters(spec: Spec, params, n_params: int) -> int | None:
    """Keras keeps one bias vector for SimpleRNN and LSTM; its GRU (reset_after=True) keeps two like torch."""
    if spec.proj_size:
        return None  # Keras's LSTM has no projection
    if spec.kind.info.keras_bias_vectors == 2:
        return n_params
    return n_params - sum(p.numel for p in params if p.bias and "bias_hh" in p.name)


def _symbols(spec: Spec, mods: tuple[Module, ...]) -> tuple[tuple[str, int], ...]:
    """The legend of the docs' symbols; a stack numbers them per module (H.0, H.1, ...)."""
    first = mods[0]
    out = [("H_in", spec.input_size)]
    if len(mods) == 1:
        out.append(("H", first.hidden_size))
    else:
        out += [(f"H.{i}", m.hidden_size) for i, m in enumerate(mods)]
        out += [(f"H_out.{i}", m.h_out) for i, m in enumerate(mods) if m.proj_size]
    if not first.cell:
        if first.proj_size:
            out.append(("P", first.proj_size))
        if len(mods) == 1:
            out.append(("H_out", first.h_out))
        out += [("D", first.directions), ("num_layers", first.num_layers)]
    out.append(("L", spec.seq_len))
    if not spec.unbatched:
        out.append(("N", spec.batch))
    return tuple(out)


def how_torch_reads(shape: tuple[int, ...], *, batch_first: bool, cell: bool) -> tuple[str, ...]:
    """Lines saying how torch reads an accepted tensor, and the trap where a reading is a guess."""
    s = "(" + ", ".join(str(d) for d in shape) + ")"
    if len(shape) == 2:
        lines = [f"{s}: unbatched; dim 0 = L, {shape[0]} time steps; dim 1 = H_in, {shape[1]} features"]
        if batch_first:
            lines.append("--batch-first does not apply to 2-D input: torch reads dim 0 as time")
        else:
            lines.append(f"if {shape[0]} is your batch of single steps, use --input-shape {shape[0]},1,{shape[1]} "
                         "with --batch-first")
        return tuple(lines)
    t_dim, n_dim = (1, 0) if batch_first else (0, 1)
    loop = f"; the loop steps over dim {t_dim}" if cell else ""
    lines = [
        f"{s}: dim {t_dim} = L, {shape[t_dim]} time steps; dim {n_dim} = N, {shape[n_dim]} sequences; "
        f"dim 2 = H_in, {shape[2]} features{loop}"
    ]
    if shape[0] != shape[1]:
        other = "drop --batch-first" if batch_first else "add --batch-first"
        lines.append(f"if {shape[0]} is your batch size rather than your sequence length, {other}"
                     if not batch_first else
                     f"if {shape[0]} is your sequence length rather than your batch size, {other}")
    return tuple(lines)
