"""Writes keras_bilstm_tf2onnx.onnx: a small Keras model (two bidirectional LSTMs, as a wake-word model has,
then a GRU) converted by tf2onnx. Run in a venv with tensorflow-cpu and tf2onnx (not rnnshape's extras):

    pip install tensorflow-cpu tf2onnx && python tests/onnx_files/make_tf2onnx.py

Made with tensorflow-cpu 2.21.0, tf2onnx 1.17.0 (see the file's producer fields); the weights are Keras'
own random initialisation with seed 0.
"""

import os

import numpy as np
import tensorflow as tf
import tf2onnx

tf.keras.utils.set_random_seed(0)
inputs = tf.keras.Input(shape=(None, 6), batch_size=None, name="features")
x = tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(8, return_sequences=True), name="bi_lstm_1")(inputs)
x = tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(5, return_sequences=True), name="bi_lstm_2")(x)
x = tf.keras.layers.GRU(4, name="gru")(x)
outputs = tf.keras.layers.Dense(1, activation="sigmoid", name="score")(x)
model = tf.keras.Model(inputs, outputs)
# Keras' default biases are zeros; random ones make the bias mapping testable.
for layer in model.layers:
    for w in layer.weights:
        if "bias" in w.name:
            w.assign(np.random.default_rng(0).normal(size=w.shape).astype("float32"))
spec = (tf.TensorSpec((None, None, 6), tf.float32, name="features"),)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_bilstm_tf2onnx.onnx")
tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=path)
print(path, os.path.getsize(path))
