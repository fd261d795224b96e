"""The value rules of a Spec, each stated once: :func:`validate` checks a Spec and returns it normalised.

Typer only parses types and choices; every rule about values lives here (combinations of modes, such as
--backward with --dry-run, live in rnnshape.model.modes). Pure: a new Spec comes back, none is changed.
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import replace

from rnnshape.errors import UsageError, UsageTypeError
from rnnshape.model.enums import Dtype, InitState, Kind
from rnnshape.model.reading import read_shape

DEVICE = re.compile(r"^(auto|cpu|meta|cuda(:\d+)?)$")
MAX_LAYERS = 10_000  # every parameter is listed; far beyond any real stack, short of a hang


def enum(cls, value, flag):
    try:
        return cls(value)
    except ValueError:
        choices = ", ".join(m.value for m in cls)
        raise UsageError(f"{flag} must be one of {choices} (got {value!r})") from None


def _int(value, flag: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageTypeError(f"{flag} must be an integer (got {value!r})")
    if value < minimum:
        raise UsageError(f"{flag} must be >= {minimum} (got {value})")


def per_spec(fn=None, *, fixed_point: bool = False):
    """``fn(spec)`` computed once per Spec object, however many layers ask (issue 21: one run validated its
    spec twice and predicted it twice). Keyed by identity, not equality: a Spec holding "lstm" as a str is
    equal to the validated one holding Kind.LSTM, and must still be validated. The last few are kept.
    ``fixed_point``: ``fn(fn(spec)) is fn(spec)`` (validate: what it returned is valid as it stands).

    >>> calls = []
    >>> @per_spec
    ... def f(spec):
    ...     calls.append(spec)
    ...     return len(calls)
    >>> from rnnshape.model.spec import make_spec
    >>> s = make_spec("gru")
    >>> f(s), f(s), f(make_spec("gru")), len(calls)
    (1, 1, 2, 2)
    """
    if fn is None:
        return functools.partial(per_spec, fixed_point=fixed_point)
    seen: dict[int, tuple[object, object]] = {}

    @functools.wraps(fn)
    def once(spec):
        hit = seen.get(id(spec))
        if hit is not None and hit[0] is spec:  # the Spec is held, so its id is not reused meanwhile
            return hit[1]
        result = fn(spec)
        if len(seen) >= 8:
            seen.clear()
        seen[id(spec)] = (spec, result)
        if fixed_point:
            seen[id(result)] = (result, result)
        return result

    return once


@per_spec(fixed_point=True)
def validate(spec):
    """Every value rule, once (a Spec validate returned is not validated again); returns the Spec with its
    choices as enums, its dropout a float and the warnings it deserves. Order: sizes, then kind-specific
    options, then input, then run."""
    spec = replace(spec, kind=enum(Kind, spec.kind, "the command"), dtype=enum(Dtype, spec.dtype, "--dtype"),
                   init_state=enum(InitState, spec.init_state, "--init-state"))
    _int(spec.input_size, "--input-size", 1)
    sizes = spec.hidden_size if isinstance(spec.hidden_size, tuple) else (spec.hidden_size,)
    if isinstance(spec.hidden_size, tuple) and len(sizes) < 2:
        raise UsageError("--hidden-size list must hold at least two sizes to stack")
    for h in sizes:
        _int(h, "--hidden-size", 1)
    _int(spec.num_layers, "--layers", 1)
    if spec.num_layers > MAX_LAYERS:
        raise UsageError(f"--layers must be <= {MAX_LAYERS:,} (got {spec.num_layers:,})",
                         hint="rnnshape lists every parameter of every layer")
    if isinstance(spec.hidden_size, tuple) and spec.num_layers != len(sizes):
        raise UsageError(
            f"--layers must equal the number of --hidden-size values (got {spec.num_layers} and {len(sizes)})"
        )
    _int(spec.proj_size, "--proj-size", 0)
    for name in ("bidirectional", "bias", "batch_first", "cell", "unbatched"):
        if not isinstance(getattr(spec, name), bool):
            flag = "--" + name.replace("_", "-")
            raise UsageTypeError(f"{flag} must be true or false (got {getattr(spec, name)!r})")

    if spec.proj_size:
        if not spec.kind.info.takes_proj_size:
            raise UsageError(
                f"--proj-size is only supported by lstm, not {spec.kind.value} (got {spec.proj_size})",
                hint="use --proj-size 0, or the lstm command",
            )
        too_big = [h for h in sizes if spec.proj_size >= h]
        if too_big:
            raise UsageError(
                f"--proj-size must be smaller than --hidden-size (got {spec.proj_size} and {too_big[0]})",
                hint="use --proj-size 0 to disable the projection",
            )
    if spec.kind.info.takes_nonlinearity:
        if spec.nonlinearity not in ("tanh", "relu"):
            raise UsageError(f"--nonlinearity must be tanh or relu (got {spec.nonlinearity!r})")
    elif spec.nonlinearity is not None:
        raise UsageError(
            f"--nonlinearity is only for rnn; {spec.kind.value} has fixed gate activations "
            f"(got {spec.nonlinearity})",
            hint="drop --nonlinearity",
        )
    if isinstance(spec.dropout, bool) or not isinstance(spec.dropout, (int, float)):
        raise UsageTypeError(f"--dropout must be a number in [0, 1] (got {spec.dropout!r})")
    if not (math.isfinite(spec.dropout) and 0.0 <= spec.dropout <= 1.0):
        raise UsageError(f"--dropout must be in [0, 1] (got {spec.dropout})")
    spec = replace(spec, dropout=float(spec.dropout))

    if spec.cell:
        for flag, given in (
            ("--bidirectional", spec.bidirectional),
            ("--proj-size", spec.proj_size),
            ("--dropout", spec.dropout),
            ("--lengths", spec.lengths is not None),
        ):
            if given:
                raise UsageError(
                    f"{flag} cannot be used with --cell: a cell has no directions, projection, "
                    f"inter-layer dropout or packed input",
                    hint=f"drop {flag}, or drop --cell to use the layer module",
                )

    _int(spec.seq_len, "--seq-len", 1)
    if spec.unbatched:
        if spec.batch is not None:
            raise UsageError(f"--batch cannot be combined with --unbatched (got --batch {spec.batch})")
        if spec.lengths is not None:
            raise UsageError("--lengths needs a batch, but --unbatched has none", hint="drop --unbatched")
    else:
        if spec.batch is None:
            raise UsageError("--batch is required unless --unbatched")
        _int(spec.batch, "--batch", 1)
    if spec.lengths is not None:
        if not isinstance(spec.lengths, tuple) or not spec.lengths:
            raise UsageError("--lengths must be a non-empty list of integers")
        for n in spec.lengths:
            _int(n, "--lengths", 1)
        if len(spec.lengths) != spec.batch:
            source = (f"a batch of {spec.batch} from --input-shape {','.join(map(str, spec.input_shape))}"
                      if spec.input_shape else f"--batch {spec.batch}")
            raise UsageError(
                f"--lengths must give one length per batch element (got {len(spec.lengths)} lengths and {source})",
                hint=None if spec.input_shape else "omit --batch: the number of lengths sets it",
            )
        if max(spec.lengths) > spec.seq_len:
            raise UsageError(
                f"--lengths must not exceed --seq-len (got {max(spec.lengths)} and {spec.seq_len})",
                hint="torch would silently build a corrupt PackedSequence; raise --seq-len",
            )
    if not isinstance(spec.device, str) or not DEVICE.match(spec.device):
        raise UsageError(
            f"--device must be auto, cpu, cuda, cuda:N or meta (got {spec.device!r})",
        )

    return replace(spec, warnings=_warnings(spec))


def _warnings(spec) -> tuple[str, ...]:
    if spec.dropout and not spec.cell:
        layers = 1 if isinstance(spec.hidden_size, tuple) else spec.num_layers
        if layers == 1:
            why = "each module of a --hidden-size list has one layer" if spec.is_stack else "num_layers is 1"
            return (f"--dropout {spec.dropout} has no effect: dropout acts between the layers of a "
                    f"module and {why} (torch warns the same)",)
    return ()


def resolve_stack(hidden_size, num_layers, cell: bool):
    """A --hidden-size list and --layers -> (hidden_size: int or tuple, num_layers or None)."""
    if isinstance(hidden_size, (list, tuple)):
        sizes = tuple(hidden_size)
        if not sizes:
            raise UsageError("--hidden-size must not be an empty list")
        hidden_size = sizes[0] if len(sizes) == 1 else sizes
    if isinstance(hidden_size, tuple):
        if cell:
            if num_layers is not None and num_layers != len(hidden_size):
                raise UsageError(
                    f"--layers must equal the number of --hidden-size values with --cell "
                    f"(got {num_layers} and {len(hidden_size)} values)",
                    hint="omit --layers: the list already says how many cells to stack",
                )
        elif num_layers is not None:
            raise UsageError(
                f"--layers cannot be combined with a --hidden-size list (got --layers {num_layers})",
                hint="a list stacks single-layer modules, one per size; drop --layers",
            )
        num_layers = len(hidden_size)
    return hidden_size, num_layers


def resolve_input_shape(shape, input_size, batch_first, cell, seq_len, batch, unbatched):
    """The tensor the user holds sets L, N and batchedness; an explicit option that disagrees is an error."""
    read = read_shape(shape, input_size=input_size, batch_first=batch_first, cell=cell)
    flag = f"--input-shape {','.join(str(d) for d in shape)}"
    swap = "drop --batch-first" if batch_first else "add --batch-first"
    for option, given, value, other in (
        ("--seq-len", seq_len, read.seq_len, read.batch),
        ("--batch", batch, read.batch, read.seq_len),
    ):
        if given is not None and read.unbatched and option == "--batch":
            raise UsageError(f"--batch {given} disagrees with {flag}, a 2-D (unbatched) tensor",
                             hint=f"drop --batch, or give the batch dimension: --input-shape "
                                  f"{shape[0]},{given},{shape[1]}")
        if given is not None and given != value:
            looks = given == other and not read.unbatched
            raise UsageError(
                f"{option} {given} disagrees with {flag}, which torch reads as {option} {value}",
                hint=f"looks {'time-major' if batch_first else 'batch-first'}: {swap}" if looks
                else f"drop {option}: the shape already says it",
            )
    if unbatched and not read.unbatched:
        raise UsageError(f"--unbatched disagrees with {flag}, a 3-D batched tensor", hint="drop --unbatched")
    return read.seq_len, read.batch, read.unbatched


MAX_MIN_TIME = 600.0


def check_run_bounds(min_time: float, threads: int | None) -> None:
    """--min-time and --threads, for the CLI and the Python API alike (a huge thread count crashes OpenMP)."""
    if not 0 < min_time <= MAX_MIN_TIME:
        raise UsageError(f"--min-time must be in (0, {MAX_MIN_TIME:.0f}] seconds (got {min_time})")
    cores = os.cpu_count() or 1
    if threads is not None and not 1 <= threads <= 4 * cores:
        raise UsageError(f"--threads must be between 1 and {4 * cores} on this machine (got {threads})",
                         hint=f"this machine has {cores} cores")
