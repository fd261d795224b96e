"""The frozen description of one configuration, and the one place its value rules live.

Field names are PyTorch's constructor arguments. Nothing here imports torch.

>>> spec = make_spec("lstm", num_layers=4, bidirectional=True)
>>> spec.hidden_size, spec.batch, spec.seq_len
(20, 3, 10)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rnnshape.errors import UsageError
from rnnshape.model.enums import Dtype, InitState, Kind, Nonlinearity
from rnnshape.model.rules import enum, resolve_input_shape, resolve_stack, validate

DEFAULT_INPUT_SIZE = 100
DEFAULT_HIDDEN_SIZE = 20
DEFAULT_SEQ_LEN = 10
DEFAULT_BATCH = 3


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


@dataclass(frozen=True)
class Spec:
    """A configuration. Build one with :func:`make_spec`, which resolves the defaults and returns it
    validated (:func:`rnnshape.model.rules.validate`); one built by hand goes through ``validate`` too."""

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
    warnings: tuple[str, ...] = field(default=(), compare=False, repr=False)  # set by rules.validate

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
    kind = enum(Kind, kind, "the command")
    init_state = enum(InitState, init_state, "--init-state")
    dtype = enum(Dtype, dtype, "--dtype")
    hidden_size, num_layers = resolve_stack(hidden_size, num_layers, cell)
    num_layers = 1 if num_layers is None else num_layers

    if input_shape is not None:
        input_shape = tuple(input_shape)
        seq_len, batch, unbatched = resolve_input_shape(
            input_shape, input_size, batch_first, cell, seq_len, batch, unbatched
        )

    # Defaults only; the rules (lengths vs batch vs unbatched) live in rules.validate.
    if lengths is not None:
        lengths = tuple(lengths)
        if not lengths:
            raise UsageError("--lengths must be a non-empty list of integers (got an empty list)")
        if batch is None and not unbatched:
            batch = len(lengths)
        if seq_len is None and lengths and all(isinstance(n, int) for n in lengths):
            seq_len = max(max(lengths), 1)
    if batch is None and not unbatched:
        batch = DEFAULT_BATCH
    if nonlinearity is None and kind.info.takes_nonlinearity:
        nonlinearity = Nonlinearity.TANH.value
    if isinstance(nonlinearity, Nonlinearity):
        nonlinearity = nonlinearity.value

    return validate(Spec(
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
    ))


def with_device(spec: Spec, device: str) -> Spec:
    """The same configuration on a resolved device (``auto`` becomes ``cpu`` or ``cuda``)."""
    return spec if spec.device == device else replace(spec, device=device)
