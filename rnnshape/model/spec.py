"""The frozen description of one configuration, and the one place its value rules live.

Field names are PyTorch's constructor arguments. The Spec's fields, make_spec's keywords and their simple rules
(types, minimums) come from the option table (rnnshape.model.options); the rules that tie options together
are :func:`validate`'s. Nothing here imports torch.

>>> spec = make_spec("lstm", num_layers=4, bidirectional=True)
>>> spec.hidden_size, spec.batch, spec.seq_len
(20, 3, 10)
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import os
import re
from dataclasses import dataclass, field, make_dataclass, replace
from enum import Enum

from rnnshape.errors import UsageError, UsageTypeError, escape
from rnnshape.model.enums import Dtype, InitState, Kind, Nonlinearity
from rnnshape.model.options import OPTIONS, SPEC, SPEC_NAMES

__all__ = ["Dtype", "InitState", "Kind", "Module", "Nonlinearity", "Spec", "make_spec", "validate", "with_device"]

DEFAULT_SEQ_LEN = OPTIONS["seq_len"].spec_default
DEFAULT_BATCH = OPTIONS["batch"].spec_default
DEVICE = re.compile(r"^(auto|cpu|meta|cuda(:\d+)?)$")
MAX_LAYERS = 10_000  # every parameter is listed; far beyond any real stack, short of a hang
MAX_MIN_TIME = 600.0


@dataclass(frozen=True)
class Module:
    """One torch module of the configuration: a layer module (nn.LSTM ...) or a cell (nn.LSTMCell ...)."""

    kind: Kind
    cell: bool
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    proj_size: int = 0
    bias: bool = True
    batch_first: bool = False
    dropout: float = 0.0
    nonlinearity: str | None = None

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def h_out(self) -> int:
        return self.proj_size or self.hidden_size

    @property
    def output_size(self) -> int:
        """Width of what the next module receives: D*H_out for a layer module, H for a cell."""
        return self.directions * self.h_out

    @property
    def torch_class(self) -> str:
        """The torch.nn class name: LSTM, GRUCell, ..."""
        return self.kind.torch_name + ("Cell" if self.cell else "")

    def constructor_kwargs(self) -> dict:
        """The keyword arguments torch's constructor takes for this module, in its signature's order.

        Always keywords: passed positionally, proj_size silently breaks an RNN or GRU (reference 1.4).
        """
        kw: dict = {"input_size": self.input_size, "hidden_size": self.hidden_size}
        if not self.cell:
            kw["num_layers"] = self.num_layers
        if self.kind.info.takes_nonlinearity:
            kw["nonlinearity"] = self.nonlinearity
        kw["bias"] = self.bias
        if not self.cell:
            kw.update(batch_first=self.batch_first, dropout=self.dropout, bidirectional=self.bidirectional)
            if self.kind.info.takes_proj_size:
                kw["proj_size"] = self.proj_size
        return kw


class _Configuration:
    """What a Spec can say about itself; its fields come from the option table (see :data:`Spec`)."""

    @property
    def is_stack(self) -> bool:
        """Several torch modules chained (a cell stack, or single-layer modules of a size list)."""
        return len(self.modules()) > 1

    @property
    def packed(self) -> bool:
        return self.lengths is not None

    @property
    def batch_major(self) -> bool:
        """The input and output are (N, L, ·): batch_first, and there is a batch to put first."""
        return self.batch_first and not self.unbatched

    @property
    def explicit_state(self) -> bool:
        """h_0 (and c_0) are passed: --init-state zeros or random."""
        return self.init_state is not InitState.NONE

    def hidden_sizes(self) -> tuple[int, ...]:
        if isinstance(self.hidden_size, tuple):
            return self.hidden_size
        return (self.hidden_size,) * (self.num_layers if self.cell else 1)

    def modules(self) -> tuple[Module, ...]:
        """The torch modules this configuration builds, in the order data flows through them."""
        mods: list[Module] = []
        width = self.input_size
        for h in self.hidden_sizes():
            mod = Module(
                kind=self.kind,
                cell=self.cell,
                input_size=width,
                hidden_size=h,
                num_layers=1 if (self.cell or isinstance(self.hidden_size, tuple)) else self.num_layers,
                bidirectional=self.bidirectional,
                proj_size=self.proj_size,
                bias=self.bias,
                batch_first=self.batch_first,
                dropout=self.dropout,
                nonlinearity=self.nonlinearity,
            )
            mods.append(mod)
            width = mod.output_size
        return tuple(mods)

    def steps(self) -> int:
        """How many (sample, time step) pairs one forward processes: the MAC multiplier."""
        if self.lengths is not None:
            return sum(self.lengths)
        return self.seq_len * (self.batch or 1)


# The fields: the kind, then one per configuration option of the table, in its order (the JSON's order).
Spec = make_dataclass(
    "Spec",
    [("kind", "Kind"),
     *((o.name, o.annotation, field(default=o.field_default)) for o in SPEC),
     ("warnings", "tuple[str, ...]", field(default=(), compare=False, repr=False))],  # set by validate
    bases=(_Configuration,),
    frozen=True,
    namespace={"__module__": __name__},
)
Spec.__doc__ = """A configuration. Build one with :func:`make_spec`, which resolves the defaults and returns it
validated (:func:`validate`); one built by hand goes through ``validate`` too. Its fields are the kind and the
configuration options of rnnshape.model.options, with the defaults torch's constructors have."""


def make_spec(kind: Kind | str, **options) -> Spec:
    """Resolve the options a user gave (``None`` = not given) into a validated :class:`Spec`. The keywords are
    the Spec's fields (PyTorch's constructor names), from the option table.

    >>> make_spec("rnn", cell=True, hidden_size=[30, 20]).hidden_sizes()
    (30, 20)
    >>> make_spec("lstm", lengths=[7, 5, 2]).batch
    3
    """
    for name in options:
        if name not in SPEC_NAMES:
            close = difflib.get_close_matches(name, sorted(SPEC_NAMES), n=1)
            raise UsageTypeError(f"unexpected keyword argument {name!r}",
                                 hint=f"did you mean {close[0]}?" if close else None)
    o = {opt.name: opt.default for opt in SPEC} | options
    kind = enum(Kind, kind, "kind")
    o["hidden_size"], num_layers = resolve_stack(o["hidden_size"], o["num_layers"], o["cell"])
    o["num_layers"] = 1 if num_layers is None else num_layers
    seq_len, batch = o["seq_len"], o["batch"]

    if o["input_shape"] is not None:
        o["input_shape"] = tuple(o["input_shape"])
        seq_len, batch, o["unbatched"] = resolve_input_shape(
            o["input_shape"], o["input_size"], o["batch_first"], o["cell"], seq_len, batch, o["unbatched"])

    # Defaults only; the rules (lengths vs batch vs unbatched) live in validate.
    lengths = o["lengths"]
    if lengths is not None:
        lengths = o["lengths"] = tuple(lengths) if isinstance(lengths, (list, tuple)) else lengths
        if lengths == ():
            raise UsageError(field="lengths", rule="must be a non-empty list of integers", got="an empty list")
        if isinstance(lengths, tuple):
            if batch is None and not o["unbatched"]:
                batch = len(lengths)
            if seq_len is None and all(isinstance(n, int) for n in lengths):
                seq_len = max(max(lengths), 1)
    if batch is None and not o["unbatched"]:
        batch = DEFAULT_BATCH
    if o["nonlinearity"] is None and kind.info.takes_nonlinearity:
        o["nonlinearity"] = Nonlinearity.TANH.value
    if isinstance(o["nonlinearity"], Nonlinearity):
        o["nonlinearity"] = o["nonlinearity"].value
    o.update(seq_len=DEFAULT_SEQ_LEN if seq_len is None else seq_len, batch=batch)
    return validate(Spec(kind=kind, **o))


make_spec.__signature__ = inspect.Signature(
    [inspect.Parameter("kind", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="Kind | str"),
     *(inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=o.default, annotation=o.annotation)
       for o in SPEC)],
    return_annotation="Spec",
)


def with_device(spec: Spec, device: str) -> Spec:
    """The same configuration on a resolved device (``auto`` becomes ``cpu`` or ``cuda``)."""
    return spec if spec.device == device else replace(spec, device=device)


# The value rules, each stated once. Typer only parses types and choices; combinations of modes (--backward
# with --dry-run ...) live in rnnshape.model.modes. Errors name options as {placeholders}: each edge words them.

def enum(cls, value, name: str):
    """``value`` as the enum ``cls``, or a UsageError about the option ``name``."""
    try:
        return cls(value)
    except ValueError:
        choices = ", ".join(m.value for m in cls)
        raise UsageError(field=name, rule=f"must be one of {choices}", value=value) from None


def _int(value, name: str, minimum: int | None = None) -> None:
    minimum = OPTIONS[name].minimum if minimum is None else minimum
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageTypeError(field=name, rule="must be an integer", got=escape(repr(value)))
    if value < minimum:
        raise UsageError(field=name, rule=f"must be >= {minimum}", value=value)


def per_spec(fn=None, *, fixed_point: bool = False):
    """``fn(spec)`` computed once per Spec object, however many layers ask (issue 21: one run validated its
    spec twice and predicted it twice). Keyed by identity, not equality: a Spec holding "lstm" as a str is
    equal to the validated one holding Kind.LSTM, and must still be validated. The last few are kept.
    ``fixed_point``: ``fn(fn(spec)) is fn(spec)`` (validate: what it returned is valid as it stands).
    (Helper C's, from model/rules.py, which is merged here.)

    >>> calls = []
    >>> @per_spec
    ... def f(spec):
    ...     calls.append(spec)
    ...     return len(calls)
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


def _is_enum(t) -> bool:
    return isinstance(t, type) and issubclass(t, Enum)


@per_spec(fixed_point=True)
def validate(spec):
    """Every value rule, once (a Spec validate returned is not validated again); returns the Spec with its
    choices as enums, its dropout a float and the warnings it deserves. Order: the table's rules, sizes, then
    kind-specific options, then input, then run."""
    spec = replace(spec, kind=enum(Kind, spec.kind, "kind"), **{
        o.name: enum(o.type, getattr(spec, o.name), o.name) for o in SPEC if _is_enum(o.type) and not o.optional})
    # The rules the option table states (a type, a minimum), in its order; then the ones that tie options together.
    for o in SPEC:
        value = getattr(spec, o.name)
        if o.type is bool and not isinstance(value, bool):
            raise UsageTypeError(field=o.name, rule="must be true or false", got=escape(repr(value)))
        if o.type is int and o.minimum is not None and not (o.optional and value is None):
            _int(value, o.name)
    sizes = spec.hidden_size if isinstance(spec.hidden_size, tuple) else (spec.hidden_size,)
    if isinstance(spec.hidden_size, tuple) and len(sizes) < 2:
        raise UsageError(field="hidden_size", rule="list must hold at least two sizes to stack",
                         value=spec.hidden_size)
    for h in sizes:
        _int(h, "hidden_size")
    if spec.num_layers > MAX_LAYERS:
        raise UsageError(field="num_layers", rule=f"must be <= {MAX_LAYERS:,}", got=f"{spec.num_layers:,}",
                         hint="rnnshape lists every parameter of every layer")
    if isinstance(spec.hidden_size, tuple) and spec.num_layers != len(sizes):
        raise UsageError(field="num_layers", rule="must equal the number of {hidden_size} values",
                         value=(spec.num_layers, len(sizes)))

    if spec.proj_size:
        if not spec.kind.info.takes_proj_size:
            raise UsageError(field="proj_size", rule=f"is only supported by lstm, not {spec.kind.value}",
                             value=spec.proj_size, hint="use {proj_size=0}, or the lstm command")
        too_big = [h for h in sizes if spec.proj_size >= h]
        if too_big:
            raise UsageError(field="proj_size", rule="must be smaller than {hidden_size}",
                             value=(spec.proj_size, too_big[0]), hint="use {proj_size=0} to disable the projection")
    if spec.kind.info.takes_nonlinearity:
        if spec.nonlinearity not in ("tanh", "relu"):
            raise UsageError(field="nonlinearity", rule="must be tanh or relu", got=escape(repr(spec.nonlinearity)))
    elif spec.nonlinearity is not None:
        raise UsageError(field="nonlinearity", rule=f"is only for rnn; {spec.kind.value} has fixed gate activations",
                         got=escape(spec.nonlinearity), hint="drop {nonlinearity}")
    if isinstance(spec.dropout, bool) or not isinstance(spec.dropout, (int, float)):
        raise UsageTypeError(field="dropout", rule="must be a number in [0, 1]", got=escape(repr(spec.dropout)))
    if not (math.isfinite(spec.dropout) and 0.0 <= spec.dropout <= 1.0):
        raise UsageError(field="dropout", rule="must be in [0, 1]", value=spec.dropout)
    spec = replace(spec, dropout=float(spec.dropout))

    if spec.cell:
        for name, given in (("bidirectional", spec.bidirectional), ("proj_size", spec.proj_size),
                            ("dropout", spec.dropout), ("lengths", spec.lengths is not None)):
            if given:
                raise UsageError(field=name, message="{%s} cannot be used with {cell}: a cell has no directions, "
                                 "projection, inter-layer dropout or packed input" % name,
                                 hint="drop {%s}, or drop {cell} to use the layer module" % name)

    if spec.unbatched:
        if spec.batch is not None:
            raise UsageError(field="batch", rule="cannot be combined with {unbatched}",
                             got="{batch=%s}" % escape(spec.batch))
        if spec.lengths is not None:
            raise UsageError(field="lengths", message="{lengths} needs a batch, but {unbatched} has none",
                             hint="drop {unbatched}")
    else:
        if spec.batch is None:
            raise UsageError(field="batch", message="{batch} is required unless {unbatched}")
    if spec.lengths is not None:
        if not isinstance(spec.lengths, tuple) or not spec.lengths:
            raise UsageError(field="lengths", rule="must be a non-empty list of integers",
                             got=escape(repr(spec.lengths)))
        for n in spec.lengths:
            _int(n, "lengths")
        if len(spec.lengths) != spec.batch:
            shape = ",".join(map(str, spec.input_shape or ()))
            source = (f"a batch of {spec.batch} from {{input_shape={shape}}}" if spec.input_shape
                      else f"{{batch={spec.batch}}}")
            raise UsageError(field="lengths", rule="must give one length per batch element",
                             got=f"{len(spec.lengths)} lengths and " + source,
                             hint=None if spec.input_shape else "omit {batch}: the number of lengths sets it")
        if max(spec.lengths) > spec.seq_len:
            raise UsageError(field="lengths", rule="must not exceed {seq_len}", value=(max(spec.lengths), spec.seq_len),
                             hint="torch would silently build a corrupt PackedSequence; raise {seq_len}")
    if not isinstance(spec.device, str) or not DEVICE.match(spec.device):
        raise UsageError(field="device", rule="must be auto, cpu, cuda, cuda:N or meta", got=escape(repr(spec.device)))

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
    """A hidden_size list and num_layers -> (hidden_size: int or tuple, num_layers or None)."""
    if isinstance(hidden_size, (list, tuple)):
        sizes = tuple(hidden_size)
        if not sizes:
            raise UsageError(field="hidden_size", rule="must not be an empty list", got="[]")
        hidden_size = sizes[0] if len(sizes) == 1 else sizes
    if isinstance(hidden_size, tuple):
        if cell:
            if num_layers is not None and num_layers != len(hidden_size):
                raise UsageError(field="num_layers", rule="must equal the number of {hidden_size} values with {cell}",
                                 got=f"{escape(num_layers)} and {len(hidden_size)} values",
                                 hint="omit {num_layers}: the list already says how many cells to stack")
        elif num_layers is not None:
            raise UsageError(field="num_layers", rule="cannot be combined with a {hidden_size} list",
                             got="{num_layers=%s}" % escape(num_layers),
                             hint="a list stacks single-layer modules, one per size; drop {num_layers}")
        num_layers = len(hidden_size)
    return hidden_size, num_layers


def resolve_input_shape(shape, input_size, batch_first, cell, seq_len, batch, unbatched):
    """The tensor the user holds sets L, N and batchedness; an explicit option that disagrees is an error."""
    read = read_shape(shape, input_size=input_size, batch_first=batch_first, cell=cell)
    held = "{input_shape=%s}" % ",".join(str(d) for d in shape)
    swap = "drop {batch_first}" if batch_first else "add {batch_first}"
    for name, given, value, other in (("seq_len", seq_len, read.seq_len, read.batch),
                                      ("batch", batch, read.batch, read.seq_len)):
        if given is not None and read.unbatched and name == "batch":
            raise UsageError(field="batch", message="{batch=%s} disagrees with %s, a 2-D (unbatched) tensor"
                             % (escape(given), held), hint="drop {batch}, or give the batch dimension: "
                             "{input_shape=%s,%s,%s}" % (shape[0], escape(given), shape[1]))
        if given is not None and given != value:
            looks = given == other and not read.unbatched
            raise UsageError(
                field=name, message="{%s=%s} disagrees with %s, which torch reads as {%s=%s}"
                % (name, escape(given), held, name, value),
                hint=f"looks {'time-major' if batch_first else 'batch-first'}: {swap}" if looks
                else "drop {%s}: the shape already says it" % name,
            )
    if unbatched and not read.unbatched:
        raise UsageError(field="unbatched", message="{unbatched} disagrees with %s, a 3-D batched tensor" % held,
                         hint="drop {unbatched}")
    return read.seq_len, read.batch, read.unbatched


def check_run_bounds(min_time: float, threads: int | None) -> None:
    """min_time and threads, for the CLI and the Python API alike (a huge thread count crashes OpenMP)."""
    if not 0 < min_time <= MAX_MIN_TIME:
        raise UsageError(field="min_time", rule=f"must be in (0, {MAX_MIN_TIME:.0f}] seconds", value=min_time)
    cores = os.cpu_count() or 1
    if threads is not None and not 1 <= threads <= 4 * cores:
        raise UsageError(field="threads", rule=f"must be between 1 and {4 * cores} on this machine", value=threads,
                         hint=f"this machine has {cores} cores")


# --input-shape: how torch will read the tensor a user has, and the fix when it will not fit. torch's own
# messages for a misfit can be cryptic (for packed LSTM input: "got an incorrect number of RNN parameters").

@dataclass(frozen=True)
class Reading:
    """What a tensor's shape means to the module: L, N (None when unbatched)."""

    seq_len: int
    batch: int | None
    unbatched: bool


def read_shape(shape: tuple[int, ...], *, input_size: int, batch_first: bool, cell: bool) -> Reading:
    """The seq_len / batch / unbatched a tensor of this shape means to the module, or a UsageError."""
    flag = "{input_shape=%s}" % ",".join(str(d) for d in shape)  # worded per edge: input_shape= / --input-shape
    if any(d < 1 for d in shape):
        raise UsageError(field="input_shape", message=f"{flag}: every dimension must be >= 1 (got {min(shape)})")
    rank = len(shape)
    if rank not in (2, 3):
        what = "a cell loop takes" if cell else "RNN, LSTM and GRU modules take"
        raise UsageError(
            field="input_shape", message=f"{flag}: {what} a 3-D (L, N, H_in) or 2-D (L, H_in) tensor (got {rank}-D)",
            hint=_rank_hint(shape, cell),
        )
    if shape[-1] != input_size:
        raise UsageError(
            field="input_shape", message=f"{flag}: the last dimension {shape[-1]} is not {{input_size}} {input_size}; "
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
    return "add the time dimension: (L, N, H_in), or (N, L, H_in) with {batch_first=True}"


def _features_hint(shape: tuple[int, ...], input_size: int) -> str:
    if input_size in shape[:-1]:
        at = shape.index(input_size)
        return (
            f"dimension {at} is {input_size}: move the features last (x.movedim({at}, -1)), "
            f"or use {{input_size={shape[-1]}}}"
        )
    return f"use {{input_size={shape[-1]}}} if that is your feature width"
