"""Runs the corpus models (public code, copied as written; see README.md) on small random inputs.

Written here, not copied: each ``NAME()`` returns ``(model, example_args)`` for `rnnshape trace harness.py:NAME`;
each ``loop_NAME(model, steps)`` is the training loop the model's authors wrote around it (their main.py /
train.py / notebook), shortened to a few random batches, for ``rnnshape.watch``. ``planted_*`` are the same
models with one real mistake each, the way users make it.
"""

import importlib.util
import os
import random
import sys
import types
import warnings

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(relative: str, name: str):
    """Import a corpus file under its own name, its folder first on sys.path for its sibling imports."""
    folder = os.path.dirname(os.path.join(HERE, relative))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, relative))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _ids(*shape, vocab=50, low=2):
    return torch.randint(low, vocab, shape, generator=torch.Generator().manual_seed(0))


# -- pytorch/examples word_language_model: time-major (L, N) token ids, hidden from init_hidden(bsz) ----------

def word_language_model(rnn_type="LSTM"):
    wlm = _load("word_language_model.py", "corpus_wlm")
    model = wlm.RNNModel(rnn_type, 50, 16, 16, 2)
    return model, (_ids(35, 4), model.init_hidden(4))


def word_language_model_gru():
    return word_language_model("GRU")


def repackage_hidden(h):  # word_language_model/main.py, as written
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def loop_word_language_model(model, steps=3, repackage=True):
    """main.py's train(): one backward per bptt batch, the hidden carried (repackaged) into the next.
    ``repackage=False`` is the planted mistake; torch then fails at the second backward (returned)."""
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    hidden = model.init_hidden(4)
    for i in range(steps):
        data, targets = _ids(35, 4), _ids(35 * 4)
        optimizer.zero_grad()
        if repackage:
            hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = nn.functional.nll_loss(output, targets)
        try:
            loss.backward(retain_graph=not repackage)
        except RuntimeError as err:  # without repackage: backward reaches the last batch's freed/stepped graph
            return err
        optimizer.step()
    return None


def planted_batch_first_data():
    """word_language_model fed (N, L) batches from a batch-first DataLoader, without a hidden: torch runs it."""
    model, _ = word_language_model()
    return model, (_ids(4, 35), None)


# -- salesforce/awd-lstm-lm: three 1-layer LSTMs inside WeightDrop, called through .forward() -----------------

def awd_lstm():
    awd = _load("awd_lstm/model.py", "corpus_awd_model")
    model = awd.RNNModel("LSTM", 50, 16, 24, 3, wdrop=0.5)
    return model, (_ids(12, 4), model.init_hidden(4))


# -- pytorch/examples time_sequence_prediction: two LSTMCells looped over input.split(1, dim=1) --------------

def time_sequence_prediction():
    tsp = _load("time_sequence_prediction.py", "corpus_tsp")
    model = tsp.Sequence().double()
    return model, (torch.randn(3, 20, dtype=torch.double),)


def planted_forgetful_cells():
    """The same loop with the state dropped: h_t, c_t = self.lstm1(input_t)."""
    tsp = _load("time_sequence_prediction.py", "corpus_tsp")

    class Forgetful(tsp.Sequence):
        def forward(self, input, future=0):
            outputs = []
            for input_t in input.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t)
                h_t2, c_t2 = self.lstm2(h_t)
                outputs += [self.linear(h_t2)]
            return torch.cat(outputs, dim=1)

    return Forgetful().double(), (torch.randn(3, 20, dtype=torch.double),)


# -- NVIDIA/tacotron2: LSTMCell(..., 1) attention and decoder cells, looped per mel frame -------------------

def tacotron2_hparams():
    """hparams.py's defaults for the model (tf.contrib.training.HParams is not importable here); n_symbols is
    len(symbols) there (148)."""
    return types.SimpleNamespace(
        mask_padding=True, fp16_run=False, n_mel_channels=80, n_frames_per_step=1, n_symbols=148,
        symbols_embedding_dim=512, encoder_kernel_size=5, encoder_n_convolutions=3, encoder_embedding_dim=512,
        decoder_rnn_dim=1024, prenet_dim=256, max_decoder_steps=1000, gate_threshold=0.5, p_attention_dropout=0.1,
        p_decoder_dropout=0.1, attention_rnn_dim=1024, attention_dim=128, attention_location_n_filters=32,
        attention_location_kernel_size=31, postnet_embedding_dim=512, postnet_kernel_size=5,
        postnet_n_convolutions=5)


def tacotron2():
    tac = _load("tacotron2/model.py", "corpus_tacotron2")
    torch.manual_seed(0)
    model = tac.Tacotron2(tacotron2_hparams())
    text = _ids(2, 7, vocab=148)
    mels = torch.randn(2, 80, 6)
    return model, ((text, torch.tensor([7, 5]), mels, 6, torch.tensor([6, 4])),)


# -- bentrevett/pytorch-seq2seq 1: time-major LSTM encoder, a decoder called one token at a time ----------------

def bentrevett_seq2seq():
    bs = _load("bentrevett_seq2seq.py", "corpus_bentrevett_seq2seq")
    random.seed(0)
    model = bs.Seq2Seq(bs.Encoder(40, 8, 16, 2, 0.5), bs.Decoder(30, 8, 16, 2, 0.5), "cpu")
    return model, (_ids(9, 4, vocab=40), _ids(7, 4, vocab=30), 0.5)


def loop_bentrevett_seq2seq(model, steps=2):
    """The notebook's train_fn: one backward and one optimizer step per batch."""
    model.train()
    optimizer = torch.optim.Adam(model.parameters())
    for _ in range(steps):
        src, trg = _ids(9, 4, vocab=40), _ids(7, 4, vocab=30)
        optimizer.zero_grad()
        output = model(src, trg, 0.5)
        loss = nn.functional.cross_entropy(output[1:].view(-1, output.shape[-1]), trg[1:].view(-1))
        loss.backward()
        optimizer.step()


def planted_decoder_drops_state():
    """The decoder's recurrent call given no state: self.rnn(embedded) — every token starts from zeros."""
    bs = _load("bentrevett_seq2seq.py", "corpus_bentrevett_seq2seq")

    class Forgetful(bs.Decoder):
        def forward(self, input, hidden, cell):
            embedded = self.dropout(self.embedding(input.unsqueeze(0)))
            output, (hidden, cell) = self.rnn(embedded)
            return self.fc_out(output.squeeze(0)), hidden, cell

    random.seed(0)
    model = bs.Seq2Seq(bs.Encoder(40, 8, 16, 2, 0.5), Forgetful(30, 8, 16, 2, 0.5), "cpu")
    return model, (_ids(9, 4, vocab=40), _ids(7, 4, vocab=30), 0.5)


# -- bentrevett/pytorch-sentiment-analysis 2: packed bidirectional LSTM over padded batch-first ids --------------

PAD = 1


def _sentiment_batch():
    lengths = torch.tensor([9, 7, 5, 2])
    ids = torch.full((4, 9), PAD)
    for i, n in enumerate(lengths.tolist()):
        ids[i, :n] = _ids(n, vocab=50, low=2)
    return ids, lengths


def bentrevett_sentiment(n_layers=2, pad_index=PAD):
    bsa = _load("bentrevett_sentiment.py", "corpus_bentrevett_sentiment")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own dropout warning, for planted_dropout_one_layer
        model = bsa.LSTM(50, 8, 16, 2, n_layers, True, 0.5, pad_index)
    return model, _sentiment_batch()


def planted_dropout_one_layer():
    return bentrevett_sentiment(n_layers=1)


def _unpacked(pad_index):
    bsa = _load("bentrevett_sentiment.py", "corpus_bentrevett_sentiment")

    class Unpacked(bsa.LSTM):
        """The padded batch run as it is, without pack_padded_sequence."""

        def forward(self, ids, length):
            embedded = self.dropout(self.embedding(ids))
            output, (hidden, cell) = self.lstm(embedded)
            return self.fc(self.dropout(torch.cat([hidden[-1], hidden[-2]], dim=-1)))

    return Unpacked(50, 8, 16, 2, 2, True, 0.5, pad_index), _sentiment_batch()


def planted_padded_not_packed():
    return _unpacked(PAD)


def planted_padded_no_padding_idx():
    """Unpacked, and the Embedding built without padding_idx: the pad token embeds to a non-zero vector."""
    return _unpacked(None)


# -- pytorch/examples legacy SNLI: one LSTM encoder called on premise and hypothesis (two independent inputs) ---

def snli():
    sn = _load("snli.py", "corpus_snli")
    config = types.SimpleNamespace(n_embed=50, d_embed=12, d_proj=10, projection=True, d_hidden=16, n_layers=1,
                                   dp_ratio=0.2, birnn=True, n_cells=2, fix_emb=False, d_out=3)
    batch = types.SimpleNamespace(premise=_ids(11, 4), hypothesis=_ids(6, 4))
    return sn.SNLIClassifier(config), (batch,)


# -- spro/char-rnn.pytorch: the model called once per character, hidden passed back in ------------------------

def char_rnn():
    cr = _load("char_rnn.py", "corpus_char_rnn")
    model = cr.CharRNN(20, 16, 20, "gru", 2)
    return model, (_ids(8, vocab=20), model.init_hidden(8))


def loop_char_rnn(model, steps=2, chunk_len=6, forget=False):
    """train.py's train(): hidden = init_hidden; one call per character; one backward per chunk."""
    model.train()
    optimizer = torch.optim.Adam(model.parameters())
    for _ in range(steps):
        inp, target = _ids(8, chunk_len, vocab=20), _ids(8, chunk_len, vocab=20)
        hidden = model.init_hidden(8)
        model.zero_grad()
        loss = 0
        for c in range(chunk_len):
            if forget:  # the planted mistake: the state the loop should carry is thrown away
                output, _ = model(inp[:, c], None)
            else:
                output, hidden = model(inp[:, c], hidden)
            loss += nn.functional.cross_entropy(output.view(8, -1), target[:, c])
        loss.backward()
        optimizer.step()
