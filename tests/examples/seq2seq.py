import torch
from torch import nn


class Seq2Seq(nn.Module):
    def __init__(self, vocab=1000, embed=32, hidden=64, steps=10):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.encoder = nn.GRU(embed, hidden, batch_first=True)
        self.decoder = nn.LSTMCell(embed, hidden)
        self.out = nn.Linear(hidden, vocab)
        self.steps = steps

    def forward(self, src):                       # src: (N, L) token ids
        _, h_n = self.encoder(self.embed(src))    # h_n: (1, N, hidden)
        h, c = h_n[0], torch.zeros_like(h_n[0])
        token = src[:, 0]
        logits = []
        for _ in range(self.steps):               # greedy decoding, one step at a time
            h, c = self.decoder(self.embed(token), (h, c))
            logits.append(self.out(h))
            token = logits[-1].argmax(-1)
        return torch.stack(logits, dim=1)         # (N, steps, vocab)
