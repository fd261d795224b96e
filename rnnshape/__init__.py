"""rnnshape: see what a PyTorch RNN, LSTM or GRU does to your tensors.

>>> from rnnshape import analyze
>>> analyze("lstm", num_layers=4, bidirectional=True, dry_run=True).prediction.totals.parameters
49280
"""

__version__ = "0.1.0"

from rnnshape.api import analyze  # noqa: E402  (torch is imported only when a run needs it)
from rnnshape.model.predict import predict  # noqa: E402
from rnnshape.model.spec import Spec, make_spec  # noqa: E402

__all__ = ["Spec", "__version__", "analyze", "make_spec", "predict", "watch"]


def __getattr__(name: str):
    # `watch` lives with the trace machinery; loaded on first use so `import rnnshape` stays torch-free
    if name == "watch":
        from rnnshape.tracing import watch

        return watch
    raise AttributeError(f"module 'rnnshape' has no attribute {name!r}")
