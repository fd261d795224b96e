"""One row per recurrent kind: everything that differs between RNN, LSTM and GRU, read by every layer.

Adding a kind is a row here, its equations (rnnshape.views.explain_math), its loop cell (rnnshape.run.loop)
and the enum member in rnnshape.model.enums.

>>> KINDS["lstm"].gates, KINDS["lstm"].states, KINDS["lstm"].onnx_gates, KINDS["lstm"].torch_from_onnx
(('i', 'f', 'g', 'o'), ('h', 'c'), ('i', 'o', 'f', 'c'), (0, 2, 3, 1))
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindInfo:
    torch_name: str  # nn.LSTM; the cell is torch_name + "Cell"
    title: str  # how the help names it
    gates: tuple[str, ...]  # row blocks of weight_ih / weight_hh in torch's order; () for one block
    states: tuple[str, ...]  # the state tensors: h, and c for LSTM (h_0, h_n, c_0, c_n)
    takes_nonlinearity: bool  # the constructor's nonlinearity= (tanh/relu)
    takes_proj_size: bool  # the constructor's proj_size=
    keras_bias_vectors: int  # Keras keeps one bias vector where torch keeps two, except its GRU (reset_after)
    meta_seconds_per_step: float  # measured cost of one (layer, direction, step) on the meta device
    gate_summary: str  # "4 gates (i, f, g, o)", for the explanations
    onnx_gates: tuple[str, ...]  # the ONNX operator's row blocks, in ONNX's order (LSTM i, o, f, c)
    onnx_from_torch: tuple[int, ...]  # ONNX's block k holds torch's block onnx_from_torch[k]

    @property
    def torch_from_onnx(self) -> tuple[int, ...]:
        """For each of torch's blocks, the ONNX block that holds it (the inverse of onnx_from_torch)."""
        return tuple(self.onnx_from_torch.index(t) for t in range(len(self.onnx_from_torch)))

    @property
    def blocks(self) -> int:
        """G in the docs' G·H: how many row blocks the weights stack."""
        return max(1, len(self.gates))


KINDS: dict[str, KindInfo] = {
    "rnn": KindInfo("RNN", "an Elman RNN (nn.RNN)", (), ("h",), True, False, 1, 0.0007, "one block",
                    ("i",), (0,)),
    "lstm": KindInfo("LSTM", "an LSTM (nn.LSTM)", ("i", "f", "g", "o"), ("h", "c"), False, True, 1, 0.002,
                     "4 gates (i, f, g, o)", ("i", "o", "f", "c"), (0, 3, 1, 2)),
    "gru": KindInfo("GRU", "a GRU (nn.GRU)", ("r", "z", "n"), ("h",), False, False, 2, 0.0015,
                    "3 gates (r, z, n)", ("z", "r", "h"), (1, 0, 2)),
}
