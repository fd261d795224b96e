"""Make the small Keras 3 files tests/test_inspect_formats.py reads, with the real keras package.

Run once, by hand, in a venv that has keras 3 (it runs on the torch backend, so no TensorFlow):
    KERAS_BACKEND=torch python tests/data/formats/make_keras_files.py
It writes, beside itself, each model as .keras, as legacy .h5 (``model_config`` attribute) and as
.weights.h5, and ``keras_reference.npz``: for every recurrent layer, a random input and the layer's own
output computed by keras (what the converted torch modules must reproduce). rnnshape never imports keras.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def models():
    keras.utils.set_random_seed(0)
    stack = keras.Sequential([
        keras.Input((6, 5)),
        layers.LSTM(4, return_sequences=True, name="lstm"),
        layers.GRU(3, return_sequences=True, name="gru"),  # reset_after=True: torch's GRU
        layers.SimpleRNN(2, activation="relu", name="simple_rnn"),
    ], name="stack")
    inp = keras.Input((6, 3))
    x = layers.Bidirectional(layers.LSTM(4, return_sequences=True), name="bi_lstm")(inp)
    x = layers.Bidirectional(layers.GRU(3, return_sequences=True, reset_after=True), name="bi_gru")(x)
    x = layers.GRU(2, reset_after=False, return_sequences=True, name="gru_v1")(x)
    x = layers.LSTM(3, recurrent_activation="hard_sigmoid", go_backwards=True, use_bias=False, name="odd_lstm")(x)
    odd = keras.Model(inp, x, name="odd")
    encoder = keras.Sequential([keras.Input((6, 3)), layers.LSTM(4, return_sequences=True, name="enc_lstm")],
                               name="encoder")
    nested = keras.Sequential([keras.Input((6, 3)), encoder, layers.GRU(2, name="dec_gru")], name="nested")
    return {"stack": stack, "odd": odd, "nested": nested}


def recurrent_layers(model, prefix=""):
    """(torch prefix, layer) for each layer with weights; a nested model's layers as outer.inner."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from recurrent_layers(layer, f"{prefix}{layer.name}.")
        elif layer.weights:
            yield prefix + layer.name, layer


def main():
    reference = {}
    rng = np.random.default_rng(0)
    for name, model in models().items():
        model.save(os.path.join(HERE, f"{name}.keras"))
        model.save(os.path.join(HERE, f"{name}.h5"))  # keras 3 writes the legacy HDF5 format for .h5
        model.save_weights(os.path.join(HERE, f"{name}.weights.h5"))
        for prefix, layer in recurrent_layers(model):
            x = rng.standard_normal((2, 6) + tuple(layer.input.shape[2:])).astype("float32")
            reference[f"{name}/{prefix}/x"] = x
            reference[f"{name}/{prefix}/y"] = keras.ops.convert_to_numpy(layer(x))
    np.savez(os.path.join(HERE, "keras_reference.npz"), **reference)
    print("keras", keras.__version__, "backend", keras.backend.backend())


if __name__ == "__main__":
    main()
