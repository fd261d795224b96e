"""`--input-shape`: how torch will read the tensor a user has, and the fix when it will not fit.

Pure Python. torch's own messages for a misfit can be cryptic (for packed LSTM input:
"got an incorrect number of RNN parameters"); this says which dimension is time, which is batch,
and what to change.

>>> read_shape((32, 50, 300), input_size=300, batch_first=False, cell=False)
Reading(seq_len=32, batch=50, unbatched=False)
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnshape.errors import UsageError


@dataclass(frozen=True)
class Reading:
    """What a tensor's shape means to the module: L, N (None when unbatched)."""

    seq_len: int
    batch: int | None
    unbatched: bool


def read_shape(shape: tuple[int, ...], *, input_size: int, batch_first: bool, cell: bool) -> Reading:
    """The seq_len / batch / unbatched a tensor of this shape means to the module, or a UsageError."""
    flag = f"--input-shape {','.join(str(d) for d in shape)}"
    if any(d < 1 for d in shape):
        raise UsageError(f"{flag}: every dimension must be >= 1 (got {min(shape)})")
    rank = len(shape)
    if rank not in (2, 3):
        what = "a cell loop takes" if cell else "RNN, LSTM and GRU modules take"
        raise UsageError(
            f"{flag}: {what} a 3-D (L, N, H_in) or 2-D (L, H_in) tensor (got {rank}-D)",
            hint=_rank_hint(shape, cell),
        )
    if shape[-1] != input_size:
        raise UsageError(
            f"{flag}: the last dimension {shape[-1]} is not --input-size {input_size}; "
            f"torch reads the last dimension as the features",
            hint=_features_hint(shape, input_size),
        )
    if rank == 2:
        return Reading(seq_len=shape[0], batch=None, unbatched=True)
    t, n = (shape[1], shape[0]) if batch_first else (shape[0], shape[1])
    return Reading(seq_len=t, batch=n, unbatched=False)


def _rank_hint(shape: tuple[int, ...], cell: bool) -> str:
    if len(shape) == 1:
        return "one time step of one sequence: add the time dimension, e.g. x.unsqueeze(0) -> (1, H_in)"
    if len(shape) == 4:
        return "merge or drop a dimension first, e.g. x.flatten(2) if the last two are features"
    return "add the time dimension: (L, N, H_in), or (N, L, H_in) with --batch-first"


def _features_hint(shape: tuple[int, ...], input_size: int) -> str:
    if input_size in shape[:-1]:
        at = shape.index(input_size)
        return (
            f"dimension {at} is {input_size}: move the features last (x.movedim({at}, -1)), "
            f"or use --input-size {shape[-1]}"
        )
    return f"use --input-size {shape[-1]} if that is your feature width"


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
