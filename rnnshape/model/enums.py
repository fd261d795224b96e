"""The closed choices, as str-valued enums converted once at the edge (Kind.LSTM == "lstm")."""

from __future__ import annotations

from enum import Enum

from rnnshape.model.kinds import KINDS, KindInfo


class Kind(str, Enum):
    RNN = "rnn"
    LSTM = "lstm"
    GRU = "gru"

    @property
    def info(self) -> KindInfo:
        """This kind's row of the one kind table (rnnshape.model.kinds)."""
        return KINDS[self.value]

    @property
    def gates(self) -> int:
        """Row blocks stacked in weight_ih / weight_hh: G in the docs' 'G*H'."""
        return self.info.blocks

    @property
    def gate_names(self) -> tuple[str, ...]:
        return self.info.gates

    @property
    def torch_name(self) -> str:
        return self.info.torch_name

    @property
    def has_cell_state(self) -> bool:
        return "c" in self.info.states


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
