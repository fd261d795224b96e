"""Unpickle a torch.save file (zip or legacy) or a plain pickle without running anything it names.

First ``torch.load(weights_only=True)``, torch's own restricted reader. When it refuses a global (an
``argparse.Namespace``, a pickled module, a class from a package that is not installed), the file is
read again through the inert reader (``rnnshape.checkpoint.inert``): the same torch.load, with a pickle
module whose ``find_class`` replaces every name outside a small allowlist with an inert stand-in. A plain
pickle (``pickle.dump(state_dict, f)``) goes straight to the inert reader. Two kinds of file are refused
before torch sees them, because torch.load would hand them to other code: TorchScript archives
(torch.jit.load compiles their code) and the pre-1.0 tar format (extracted to disk).
"""

from __future__ import annotations

import pickle
import re
import warnings
from dataclasses import dataclass

from rnnshape.checkpoint import inert
from rnnshape.errors import EnvironmentUnfit, UsageError

_HINT = "check that the file was completely written and copied"


@dataclass(frozen=True)
class Loaded:
    obj: object
    format: str  # "pytorch zip", "pytorch legacy", "pickle"
    reader: str  # "weights_only" (torch's restricted reader) or "inert" (rnnshape's)
    foreign: tuple[str, ...] = ()  # qualified names the pickle asked for, replaced by stand-ins, none called


def load_zip(path: str) -> Loaded:
    with open(path, "rb") as f:
        if inert.is_torchscript(f):
            raise UsageError(f"{path} is a TorchScript archive (torch.jit.save): rnnshape does not read those, "
                             f"because loading one compiles the code inside it",
                             hint="inspect the state_dict instead: torch.save(model.state_dict(), 'state.pt')")
    return _load(path, "pytorch zip", mmap=True)


def load_pickle(path: str) -> Loaded:
    """A legacy torch.save file (a pickled magic number first) or any other pickle."""
    import tarfile

    import torch.serialization

    if tarfile.is_tarfile(path):
        raise UsageError(f"{path} is in the tar format of PyTorch before 1.0: rnnshape does not read it",
                         hint="load it with that PyTorch version and save it again with torch.save")
    try:
        with inert.recording() as met, open(path, "rb") as f, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            first = inert.load(f, encoding="utf-8")
    except Exception as err:  # a hostile or damaged pickle can raise anything; nothing in it was called
        raise _forced(path, err) or _unreadable(path, "a pickle", err) from None
    if isinstance(first, int) and first == torch.serialization.MAGIC_NUMBER:
        return _load(path, "pytorch legacy", mmap=False)
    return Loaded(first, "pickle", "inert", _names(met))


def _load(path: str, fmt: str, mmap: bool) -> Loaded:
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Loaded(torch.load(path, map_location="cpu", weights_only=True, mmap=mmap), fmt, "weights_only")
    except pickle.UnpicklingError:
        pass  # a global outside torch's allowlist (or bytes it cannot parse): the inert reader decides
    except Exception as err:
        raise _unreadable(path, "a PyTorch checkpoint", err) from None
    try:
        with inert.recording() as met, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = inert.torch_load(path, mmap=mmap)
    except Exception as err:
        raise _forced(path, err) or _unreadable(path, "a PyTorch checkpoint", err) from None
    return Loaded(obj, fmt, "inert", _names(met))


def _forced(path: str, err: Exception) -> EnvironmentUnfit | None:
    """TORCH_FORCE_WEIGHTS_ONLY_LOAD makes torch.load refuse any pickle_module, the inert reader included."""
    import os

    forced = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "0").lower() not in ("0", "", "false", "no", "off")
    if not forced or "pickle_module" not in str(err):
        return None
    return EnvironmentUnfit(f"{path} needs rnnshape's inert reader (torch.load(weights_only=True) refuses it), "
                            f"which TORCH_FORCE_WEIGHTS_ONLY_LOAD turns off",
                            hint="unset TORCH_FORCE_WEIGHTS_ONLY_LOAD to read it: the inert reader runs nothing either")


def _names(met: list[str]) -> tuple[str, ...]:
    return tuple(sorted(set(met)))


def _unreadable(path: str, what: str, err: Exception) -> UsageError:
    text = str(err).strip()
    reason = text.splitlines()[0] if text else type(err).__name__
    reason = re.sub(r"^\[enforce fail at [^\]]*\]\s*\.?\s*", "", reason).split(". ")[0]
    if what == "a pickle":
        return UsageError(f"{path} is a pickle that rnnshape cannot read ({reason}): truncated or corrupt; "
                          f"nothing was run", hint=_HINT)
    return UsageError(f"{path} is not a readable PyTorch checkpoint (truncated or corrupt?): {reason}; "
                      f"nothing was run", hint=_HINT)
