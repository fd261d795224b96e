"""The torch run: device checks, building the modules, the forward, timing, kernel and memory measurement.

The second witness: it never imports the predictor. torch is imported inside functions only.
"""
