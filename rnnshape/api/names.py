"""Errors in the Python API's terms: keyword arguments (num_layers) where the command line has flags."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from rnnshape.errors import UsageError

# The command line's flags as the Python API's keyword arguments, where the two differ.
_ARGUMENTS = {"layers": "num_layers", "no-bias": "bias=False", "no-time": "time=False", "the command": "kind"}


def python_names(err: UsageError) -> UsageError:
    """The same error, naming keyword arguments (num_layers) where it named flags (--layers)."""
    def name(match: re.Match) -> str:
        flag = match.group(1)
        return _ARGUMENTS.get(flag, flag.replace("-", "_"))

    def rename(text: str | None) -> str | None:
        if text is None:
            return None
        text = text.replace("the command", _ARGUMENTS["the command"])
        return re.sub(r"(?<![\w-])--([a-z][a-z-]*)", name, text)

    return type(err)(rename(err.message), hint=rename(err.hint))


@contextmanager
def python_terms(cli: bool) -> Iterator[None]:
    """Re-raise a UsageError naming keyword arguments, unless the command line (``cli``) is asking."""
    try:
        yield
    except UsageError as err:
        if cli:
            raise
        raise python_names(err) from None
