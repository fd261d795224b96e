"""The closed choices, as str-valued enums converted once at the edge (Kind.LSTM == "lstm")."""

from __future__ import annotations

from enum import Enum


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
