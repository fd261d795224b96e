"""The torch run: device checks, building the modules, the forward, timing, kernel and memory measurement.

The second witness: it never imports the predictor. torch is imported inside functions only.
"""

#: Whether :func:`rnnshape.run.build.load_torch` may ``gc.freeze()`` what ``import torch`` made. Only the command
#: line's entry point sets it: there the process is rnnshape's own; a Python caller's process is left as it is
#: (frozen objects are never collected again, and they would include the caller's).
FREEZE_AFTER_TORCH_IMPORT = False
