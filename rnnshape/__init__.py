"""rnnshape: see what a PyTorch RNN, LSTM or GRU does to your tensors.

>>> from rnnshape import analyze
>>> analyze("lstm", num_layers=4, bidirectional=True, dry_run=True).prediction.totals.parameters
49280
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# The public names, imported on first use: `import rnnshape` (and every renderer that reads __version__)
# stays free of the layers below, and torch is imported only when a run needs it.
_PUBLIC = {
    "analyze": "rnnshape.api",
    "inspect": "rnnshape.api",
    "compare": "rnnshape.api",
    "sweep": "rnnshape.api",
    "predict": "rnnshape.model.predict",
    "Spec": "rnnshape.model.spec",
    "make_spec": "rnnshape.model.spec",
    "watch": "rnnshape.api.trace",
}
__all__ = ["Spec", "__version__", "analyze", "compare", "inspect", "make_spec", "predict", "sweep", "watch"]


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'rnnshape' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
