"""Load the user's model (`path/file.py:NAME` or `package.module:NAME`), make its inputs, run its forward.

This imports and runs the user's own code. torch is imported inside functions only.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from dataclasses import dataclass

from rnnshape.errors import RnnshapeError, UsageError

_FLOATS = {"float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
           "float16": "float16", "half": "float16", "bfloat16": "bfloat16"}
_INTS = {"long": "int64", "int64": "int64", "int": "int32", "int32": "int32", "int16": "int16", "int8": "int8",
         "uint8": "uint8", "bool": "bool"}


class UserCodeError(RnnshapeError):
    """The user's own code raised while rnnshape imported or built it (exit 1)."""


@dataclass(frozen=True)
class InputSpec:
    shape: tuple[int, ...]
    dtype: str = "float32"


def parse_input(text: str) -> InputSpec:
    """``32,50:long`` -> InputSpec((32, 50), 'int64')."""
    shape_text, _, dtype = text.partition(":")
    dtype = dtype.strip().lower() or "float32"
    if dtype not in _FLOATS and dtype not in _INTS:
        raise UsageError(f"--input dtype must be one of {', '.join(sorted({**_FLOATS, **_INTS}))} (got {dtype!r})",
                         hint="for example --input 32,50:long")
    try:
        shape = tuple(int(p) for p in shape_text.split(","))
    except ValueError:
        raise UsageError(f"--input must be a comma-separated shape with an optional :dtype (got {text!r})",
                         hint="for example --input 32,50:long or --input 7,4,16") from None
    if any(d < 0 for d in shape):
        raise UsageError(f"--input dimensions must be >= 0 (got {text!r})")
    return InputSpec(shape, _FLOATS.get(dtype) or _INTS[dtype])


def make_inputs(specs: list[InputSpec], device: str = "cpu") -> tuple:
    """Zeros for integer dtypes, randn (seed 0) for float ones."""
    import torch

    gen = torch.Generator().manual_seed(0)
    out = []
    for s in specs:
        dtype = getattr(torch, s.dtype)
        if s.dtype in _INTS.values():
            out.append(torch.zeros(s.shape, dtype=dtype, device=device))
        else:
            out.append(torch.randn(s.shape, generator=gen).to(device=device, dtype=dtype))
    return tuple(out)


def _load_object(target: str):
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise UsageError(f"TARGET must be path/to/file.py:NAME or package.module:NAME (got {target!r})",
                         hint="for example rnnshape trace models.py:Seq2Seq --input 4,7:long")
    if where.endswith(".py") or os.sep in where or "/" in where:
        if not os.path.isfile(where):
            raise UsageError(f"TARGET file does not exist (got {where!r})")
        folder = os.path.dirname(os.path.abspath(where))
        if folder not in sys.path:
            sys.path.insert(0, folder)  # so the file's own sibling imports work
        mod_name = "_rnnshape_target_" + os.path.splitext(os.path.basename(where))[0]
        spec = importlib.util.spec_from_file_location(mod_name, where)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        _user(lambda: spec.loader.exec_module(module), f"importing {where}")
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = _user(lambda: importlib.import_module(where), f"importing {where}")
        except UserCodeError as err:
            if isinstance(err.__cause__, ModuleNotFoundError) and err.__cause__.name == where.split(".")[0]:
                raise UsageError(f"TARGET names a module Python cannot find (got {where!r})",
                                 hint="give a file path (path/to/file.py:NAME) or run from the project root") from None
            raise
    if not hasattr(module, name):
        import torch.nn as nn

        found = [n for n, v in vars(module).items() if not n.startswith("_") and (
            (inspect.isclass(v) and issubclass(v, nn.Module) and v.__module__ == module.__name__)
            or inspect.isfunction(v) and v.__module__ == module.__name__)]
        raise UsageError(f"TARGET names nothing called {name} in {where} (got {target!r})",
                         hint=f"it defines {', '.join(found)}" if found else f"{where} defines no module or function")
    return getattr(module, name)


def load(target: str):
    """(model, example args or None): NAME is a Module class, or a function returning a module or
    (module, example_args)."""
    from torch import nn

    obj = _load_object(target)
    _no_arguments_needed(obj, target)
    if inspect.isclass(obj) and issubclass(obj, nn.Module):
        built = _user(obj, f"building {target}")
    elif callable(obj):
        built = _user(obj, f"calling {target}")
    else:
        raise UsageError(f"TARGET must name an nn.Module subclass or a function (got {type(obj).__name__})")
    args = None
    if isinstance(built, tuple) and len(built) == 2 and isinstance(built[0], nn.Module):
        built, args = built
        args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    if not isinstance(built, nn.Module):
        raise UsageError(f"TARGET must give an nn.Module or (module, example_args) (got {type(built).__name__})",
                         hint="return the model, or (model, example_input)")
    return built, args


def _no_arguments_needed(obj, target: str) -> None:
    """rnnshape calls NAME with no arguments: one it cannot call so is a usage error, said before running it."""
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return
    needed = [p.name for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                                            p.KEYWORD_ONLY)]
    if needed:
        raise UsageError(f"TARGET must be callable with no arguments, but {target} needs {', '.join(needed)}",
                         hint="point TARGET at a function that builds the model (and example inputs) and returns it")


def _user(fn, doing: str):
    try:
        return fn()
    except Exception as err:
        raise UserCodeError(f"{doing} raised {type(err).__name__}: {err}", hint=location(err)) from err


def location(err: BaseException) -> str | None:
    """'at models.py:23 in forward': the innermost frame of the user's code (not torch's, not rnnshape's)."""
    frames = traceback.extract_tb(err.__traceback__)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    torch_dir = os.sep + "torch" + os.sep
    mine = [f for f in frames if not f.filename.startswith(here) and torch_dir not in f.filename
            and "importlib" not in f.filename]
    if not mine:
        return None
    f = mine[-1]
    return f"at {os.path.relpath(f.filename)}:{f.lineno} in {f.name}"


def run_forwards(model, args: tuple, *, calls: int, train: bool, recorder) -> BaseException | None:
    """Run ``model(*args)`` ``calls`` times under ``recorder``; the exception the user's code raised, if any."""
    model.train(train)
    try:
        with recorder:
            for _ in range(calls):
                model(*args)
    except Exception as err:  # the user's forward failed: the caller explains it
        return err
    return None
