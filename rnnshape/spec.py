"""The frozen description of one configuration, and the one place its value rules live.

Field names are PyTorch's constructor arguments. Nothing here imports torch.

>>> spec = make_spec("lstm", num_layers=4, bidirectional=True)
>>> spec.hidden_size, spec.batch, spec.seq_len
(20, 3, 10)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from enum import Enum

from rnnshape.errors import UsageError


class Kind(str, Enum):
    RNN = "rnn"
    LSTM = "lstm"
    GRU = "gru"

    @property
    def gates(self) -> int:
        """Row blocks stacked in weight_ih / weight_hh: G in the docs' 'G*H'."""
        return {"rnn": 1, "lstm": 4, "gru": 3}[self.value]

    @property
    def gate_names(self) -> tuple[str, ...]:
        return {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}[self.value]

    @property
    def torch_name(self) -> str:
        return {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[self.value]


class Dtype(str, Enum):
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"

    @property
    def itemsize(self) -> int:
        return {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2}[self.value]


class InitState(str, Enum):
    NONE = "none"
    ZEROS = "zeros"
    RANDOM = "random"


class Nonlinearity(str, Enum):
    TANH = "tanh"
    RELU = "relu"


_DEVICE = re.compile(r"^(auto|cpu|meta|cuda(:\d+)?)$")

DEFAULT_INPUT_SIZE = 100
DEFAULT_HIDDEN_SIZE = 20
DEFAULT_SEQ_LEN = 10
DEFAULT_BATCH = 3
MAX_LAYERS = 10_000  # every parameter is listed; far beyond any real stack, short of a hang


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
        if self.kind is Kind.RNN:
            kw["nonlinearity"] = self.nonlinearity
        kw["bias"] = self.bias
        if not self.cell:
            kw.update(batch_first=self.batch_first, dropout=self.dropout, bidirectional=self.bidirectional)
            if self.kind is Kind.LSTM:
                kw["proj_size"] = self.proj_size
        return kw


@dataclass(frozen=True)
class Spec:
    """A validated configuration. Build one with :func:`make_spec`, which also resolves the defaults."""

    kind: Kind
    cell: bool = False
    input_size: int = DEFAULT_INPUT_SIZE
    hidden_size: int | tuple[int, ...] = DEFAULT_HIDDEN_SIZE
    num_layers: int = 1
    bidirectional: bool = False
    proj_size: int = 0
    bias: bool = True
    batch_first: bool = False
    dropout: float = 0.0
    nonlinearity: str | None = None
    seq_len: int = DEFAULT_SEQ_LEN
    batch: int | None = DEFAULT_BATCH
    unbatched: bool = False
    lengths: tuple[int, ...] | None = None
    init_state: InitState = InitState.NONE
    dtype: Dtype = Dtype.FLOAT32
    device: str = "cpu"
    input_shape: tuple[int, ...] | None = None  # the tensor the user holds (--input-shape), if stated
    warnings: tuple[str, ...] = field(default=(), compare=False, init=False, repr=False)

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def is_stack(self) -> bool:
        """Several torch modules chained (a cell stack, or single-layer modules of a size list)."""
        return len(self.modules()) > 1

    @property
    def packed(self) -> bool:
        return self.lengths is not None

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


def make_spec(
    kind: Kind | str,
    *,
    cell: bool = False,
    input_size: int = DEFAULT_INPUT_SIZE,
    hidden_size: int | tuple[int, ...] | list[int] = DEFAULT_HIDDEN_SIZE,
    num_layers: int | None = None,
    bidirectional: bool = False,
    proj_size: int = 0,
    bias: bool = True,
    batch_first: bool = False,
    dropout: float = 0.0,
    nonlinearity: str | None = None,
    seq_len: int | None = None,
    batch: int | None = None,
    unbatched: bool = False,
    lengths: tuple[int, ...] | list[int] | None = None,
    init_state: InitState | str = InitState.NONE,
    dtype: Dtype | str = Dtype.FLOAT32,
    device: str = "cpu",
    input_shape: tuple[int, ...] | list[int] | None = None,
) -> Spec:
    """Resolve the options a user gave (``None`` = not given) into a validated :class:`Spec`.

    >>> make_spec("rnn", cell=True, hidden_size=[30, 20]).hidden_sizes()
    (30, 20)
    >>> make_spec("lstm", lengths=[7, 5, 2]).batch
    3
    """
    kind = _enum(Kind, kind, "the command")
    init_state = _enum(InitState, init_state, "--init-state")
    dtype = _enum(Dtype, dtype, "--dtype")
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
    num_layers = 1 if num_layers is None else num_layers

    if input_shape is not None:
        input_shape = tuple(input_shape)
        seq_len, batch, unbatched = _from_input_shape(
            input_shape, input_size, batch_first, cell, seq_len, batch, unbatched
        )

    if lengths is not None:
        lengths = tuple(lengths)
        if unbatched:
            raise UsageError("--lengths needs a batch, but --unbatched has none", hint="drop --unbatched")
        if batch is not None and batch != len(lengths):
            raise UsageError(
                f"--lengths must give one length per batch element (got {len(lengths)} lengths "
                f"and --batch {batch})",
                hint="omit --batch: the number of lengths sets it",
            )
        batch = len(lengths)
        if seq_len is None and lengths:
            seq_len = max(max(lengths), 1)
    if unbatched:
        if batch is not None:
            raise UsageError(f"--batch cannot be combined with --unbatched (got --batch {batch})")
    elif batch is None:
        batch = DEFAULT_BATCH
    if nonlinearity is None and kind is Kind.RNN:
        nonlinearity = Nonlinearity.TANH.value
    if isinstance(nonlinearity, Nonlinearity):
        nonlinearity = nonlinearity.value

    return Spec(
        kind=kind,
        cell=cell,
        input_size=input_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        bidirectional=bidirectional,
        proj_size=proj_size,
        bias=bias,
        batch_first=batch_first,
        dropout=dropout,
        nonlinearity=nonlinearity,
        seq_len=DEFAULT_SEQ_LEN if seq_len is None else seq_len,
        batch=batch,
        unbatched=unbatched,
        lengths=lengths,
        init_state=init_state,
        dtype=dtype,
        device=device,
        input_shape=input_shape,
    )


def _from_input_shape(shape, input_size, batch_first, cell, seq_len, batch, unbatched):
    """The tensor the user holds sets L, N and batchedness; an explicit option that disagrees is an error."""
    from rnnshape.reading import read_shape

    read = read_shape(shape, input_size=input_size, batch_first=batch_first, cell=cell)
    flag = f"--input-shape {','.join(str(d) for d in shape)}"
    swap = "drop --batch-first" if batch_first else "add --batch-first"
    for option, given, value, other in (
        ("--seq-len", seq_len, read["seq_len"], read["batch"]),
        ("--batch", batch, read["batch"], read["seq_len"]),
    ):
        if given is not None and given != value:
            looks = given == other and not read["unbatched"]
            raise UsageError(
                f"{option} {given} disagrees with {flag}, which torch reads as {option} {value}",
                hint=f"looks {'time-major' if batch_first else 'batch-first'}: {swap}" if looks
                else f"drop {option}: the shape already says it",
            )
    if unbatched and not read["unbatched"]:
        raise UsageError(f"--unbatched disagrees with {flag}, a 3-D batched tensor", hint="drop --unbatched")
    return read["seq_len"], read["batch"], read["unbatched"]


def _enum(cls, value, flag):
    try:
        return cls(value)
    except ValueError:
        choices = ", ".join(m.value for m in cls)
        raise UsageError(f"{flag} must be one of {choices} (got {value!r})") from None


def _int(value, flag: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{flag} must be an integer (got {value!r})")
    if value < minimum:
        raise UsageError(f"{flag} must be >= {minimum} (got {value})")


def _validate(spec: Spec) -> None:
    """Every value rule, once. Order: sizes, then kind-specific options, then input, then run."""
    object.__setattr__(spec, "kind", _enum(Kind, spec.kind, "the command"))
    object.__setattr__(spec, "dtype", _enum(Dtype, spec.dtype, "--dtype"))
    object.__setattr__(spec, "init_state", _enum(InitState, spec.init_state, "--init-state"))
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
            raise UsageError(f"{flag} must be true or false (got {getattr(spec, name)!r})")

    if spec.proj_size:
        if spec.kind is not Kind.LSTM:
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
    if spec.kind is Kind.RNN:
        if spec.nonlinearity not in ("tanh", "relu"):
            raise UsageError(f"--nonlinearity must be tanh or relu (got {spec.nonlinearity!r})")
    elif spec.nonlinearity is not None:
        raise UsageError(
            f"--nonlinearity is only for rnn; {spec.kind.value} has fixed gate activations "
            f"(got {spec.nonlinearity})",
            hint="drop --nonlinearity",
        )
    if isinstance(spec.dropout, bool) or not isinstance(spec.dropout, (int, float)):
        raise UsageError(f"--dropout must be a number in [0, 1] (got {spec.dropout!r})")
    if not (math.isfinite(spec.dropout) and 0.0 <= spec.dropout <= 1.0):
        raise UsageError(f"--dropout must be in [0, 1] (got {spec.dropout})")
    object.__setattr__(spec, "dropout", float(spec.dropout))

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
            raise UsageError(
                f"--lengths must give one length per batch element "
                f"(got {len(spec.lengths)} lengths and --batch {spec.batch})"
            )
        if max(spec.lengths) > spec.seq_len:
            raise UsageError(
                f"--lengths must not exceed --seq-len (got {max(spec.lengths)} and {spec.seq_len})",
                hint="torch would silently build a corrupt PackedSequence; raise --seq-len",
            )
    if not isinstance(spec.device, str) or not _DEVICE.match(spec.device):
        raise UsageError(
            f"--device must be auto, cpu, cuda, cuda:N or meta (got {spec.device!r})",
        )

    if spec.dropout and not spec.cell:
        layers = 1 if isinstance(spec.hidden_size, tuple) else spec.num_layers
        if layers == 1:
            why = "each module of a --hidden-size list has one layer" if spec.is_stack else "num_layers is 1"
            warning = (
                f"--dropout {spec.dropout} has no effect: dropout acts between the layers of a "
                f"module and {why} (torch warns the same)"
            )
            object.__setattr__(spec, "warnings", (warning,))


def with_device(spec: Spec, device: str) -> Spec:
    """The same configuration on a resolved device (``auto`` becomes ``cpu`` or ``cuda``)."""
    return replace(spec, device=device)
