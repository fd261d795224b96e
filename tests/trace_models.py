"""Small models for the trace tests: clean ones (no pitfall may fire) and ones that have a bug.

Tests write this file to a temporary directory to use the `path.py:NAME` form of `rnnshape trace`.
"""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


class TextClassifier(nn.Module):
    """Embedding -> bidirectional batch-first LSTM -> Linear; token ids (N, L)."""

    def __init__(self, vocab=100, embed=16, hidden=24, classes=5):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, tokens):
        out, (h_n, c_n) = self.lstm(self.embed(tokens))
        return self.head(torch.cat([h_n[-2], h_n[-1]], dim=1))


class Encoder(nn.Module):
    def __init__(self, vocab=50, embed=12, hidden=20):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = nn.GRU(embed, hidden)

    def forward(self, src):  # (L, N) time-major token ids
        return self.rnn(self.embed(src))


class Seq2Seq(nn.Module):
    """GRU encoder; an LSTMCell decoder looped `steps` times, fed its own state."""

    def __init__(self, vocab=50, embed=12, hidden=20, steps=6):
        super().__init__()
        self.encoder = Encoder(vocab, embed, hidden)
        self.decoder = nn.LSTMCell(embed, hidden)
        self.embed = nn.Embedding(vocab, embed)
        self.out = nn.Linear(hidden, vocab)
        self.steps = steps

    def forward(self, src):
        _, h_n = self.encoder(src)
        h, c = h_n[-1], torch.zeros_like(h_n[-1])
        token = torch.zeros(src.shape[1], dtype=torch.long)
        logits = []
        for _ in range(self.steps):
            h, c = self.decoder(self.embed(token), (h, c))
            step = self.out(h)
            token = step.argmax(-1)
            logits.append(step)
        return torch.stack(logits)


def seq2seq():
    return Seq2Seq(), (torch.zeros(9, 4, dtype=torch.long),)


class PackedGRU(nn.Module):
    """A bidirectional GRU over a packed batch of variable lengths."""

    def __init__(self, features=8, hidden=10):
        super().__init__()
        self.rnn = nn.GRU(features, hidden, bidirectional=True, num_layers=2)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        _, h_n = self.rnn(packed)
        return h_n


def packed_gru():
    return PackedGRU(), (torch.randn(7, 3, 8), torch.tensor([7, 4, 2]))


class Stateful(nn.Module):
    """Truncated BPTT without detach: the state of the previous forward comes back with its history."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(6, 8)
        self.state = None

    def forward(self, x):
        out, self.state = self.rnn(x, self.state)
        return out


class StatefulDetached(Stateful):
    def forward(self, x):
        out, state = self.rnn(x, self.state)
        self.state = tuple(s.detach() for s in state)
        return out


class WrongH0(nn.Module):
    """h_0 for one layer, fed to a two-layer LSTM."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.rnn = nn.LSTM(10, 20, num_layers=2)

    def forward(self, x):
        h0 = torch.zeros(1, x.shape[1], 20)
        return self.encoder.rnn(x, (h0, h0))


class BadHead(nn.Module):
    """Fails after the recurrent call, in plain user code."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(4, 6)
        self.head = nn.Linear(7, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out)


class TimeMajorMistake(nn.Module):
    """Batch-first token ids into a time-major LSTM."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(30, 8)
        self.rnn = nn.LSTM(8, 12)

    def forward(self, tokens):  # (N, L)
        out, _ = self.rnn(self.embed(tokens))
        return out[-1]


class DropoutOneLayer(nn.Module):
    def __init__(self):
        super().__init__()
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.rnn = nn.GRU(5, 7, dropout=0.3)

    def forward(self, x):
        return self.rnn(x)[0]


class PaddedNotPacked(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 6, padding_idx=0)
        self.rnn = nn.GRU(6, 8, batch_first=True)

    def forward(self, tokens):
        return self.rnn(self.embed(tokens))[1]


def padded_not_packed():
    tokens = torch.tensor([[3, 4, 5, 6, 7, 8], [3, 4, 5, 0, 0, 0], [9, 9, 0, 0, 0, 0]])
    return PaddedNotPacked(), (tokens,)


class ForgetfulLoop(nn.Module):
    """A GRUCell looped without feeding its state back."""

    def __init__(self):
        super().__init__()
        self.cell = nn.GRUCell(4, 5)

    def forward(self, x):
        return torch.stack([self.cell(x_t) for x_t in x])


class Chatty(TextClassifier):
    """Prints during its forward: the JSON on stdout must stay one document."""

    def forward(self, tokens):
        print("hello from forward")
        return super().forward(tokens)


class LengthsLSTM(nn.LSTM):
    """A subclass whose forward takes lengths second: that is not h_0."""

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        return super().forward(packed)


def lengths_lstm():
    return LengthsLSTM(4, 6), (torch.randn(5, 2, 4), torch.tensor([5, 3]))


def needs_size(hidden):
    return nn.GRU(4, hidden)


class CaughtThenFails(nn.Module):
    """Catches a failing recurrent call, then fails in its own code: the failure is not the GRU's."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(4, 6)

    def forward(self, x):
        try:
            self.rnn(x, torch.zeros(3, 3, 6))
        except RuntimeError:
            pass
        raise ValueError("later, elsewhere")
