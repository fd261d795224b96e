"""Find the state_dict in what a checkpoint file unpickled to: plain containers, and the inert reader's
``Foreign`` stand-ins (a Namespace's attributes, a dict subclass's items, a whole pickled nn.Module).

A pickled nn.Module is a Foreign whose recorded state is the module's ``__dict__``: ``_parameters``,
``_buffers`` and ``_modules`` name the same tensors that its ``state_dict()`` would, in the same order,
so the names are rebuilt from them without the module's class ever existing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rnnshape.checkpoint.inert import Foreign

# Keys under which training scripts commonly keep the state_dict, most specific first.
COMMON_KEYS = ("state_dict", "model_state_dict", "model_state", "model", "net", "network", "module",
               "weights", "params", "ema", "model_ema", "state")
# Attributes of a pickled recurrent module that its state_dict does not keep.
MODULE_ATTRIBUTES = ("batch_first", "dropout", "nonlinearity", "mode")
_DEPTH = 8


@dataclass(frozen=True)
class Found:
    location: tuple[str, ...]  # keys leading to the state_dict, () for the top level
    state: Mapping  # name -> tensor (and whatever else the state_dict held)
    module_class: str | None = None  # a whole pickled module: its qualified class name
    attributes: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()  # per recurrent submodule


def is_tensor(value) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def mapping(obj) -> Mapping | None:
    """``obj`` as a mapping when it is one: a dict, a dict subclass's items, an object's attributes."""
    if isinstance(obj, Mapping):
        return obj
    if not isinstance(obj, Foreign) or is_module(obj):
        return None
    if obj.foreign_items:
        return {k: v for k, v in obj.foreign_items if isinstance(k, (str, int, float, bool, type(None)))}
    state = _state(obj)
    if state is not None:
        return state
    return obj.foreign_kwargs or None


def _state(obj: Foreign) -> Mapping | None:
    state = obj.foreign_state
    if isinstance(state, tuple) and len(state) == 2:  # (__dict__, __slots__ values)
        state = state[0] if isinstance(state[0], Mapping) else state[1]
    return state if isinstance(state, Mapping) else None


def sequence(obj) -> list | tuple | None:
    if isinstance(obj, (list, tuple)):
        return obj
    if isinstance(obj, Foreign) and obj.foreign_list:
        return obj.foreign_list
    return None


def is_module(obj) -> bool:
    """A pickled nn.Module: its state is a __dict__ with _parameters and _modules."""
    if not isinstance(obj, Foreign):
        return False
    state = _state(obj)
    return state is not None and "_parameters" in state and "_modules" in state


def module_state(obj: Foreign, prefix: str = "", depth: int = 0) -> dict:
    """What ``state_dict()`` would return: parameters, persistent buffers, then each child's, recursively."""
    state = _state(obj) or {}
    out = {}
    skip = state.get("_non_persistent_buffers_set")
    skip = skip if isinstance(skip, (set, frozenset)) else set()
    for key, ignore in (("_parameters", set()), ("_buffers", skip)):
        for name, value in (mapping(state.get(key)) or {}).items():
            if is_tensor(value) and name not in ignore:
                out[prefix + str(name)] = value
    if depth < 4 * _DEPTH:
        for name, child in (mapping(state.get("_modules")) or {}).items():
            if is_module(child):
                out.update(module_state(child, f"{prefix}{name}.", depth + 1))
    return out


def module_attributes(obj: Foreign, prefix: str = "", depth: int = 0):
    """``(prefix, ((attribute, value), ...))`` for each recurrent submodule: what the state_dict does not keep."""
    state = _state(obj) or {}
    kept = tuple((a, state[a]) for a in MODULE_ATTRIBUTES
                 if a in state and isinstance(state[a], (bool, int, float, str)))
    if "hidden_size" in state and kept:
        yield prefix.removesuffix("."), kept
    if depth < 4 * _DEPTH:
        for name, child in (mapping(state.get("_modules")) or {}).items():
            if is_module(child):
                yield from module_attributes(child, f"{prefix}{name}.", depth + 1)


def is_state_dict(obj) -> bool:
    if not isinstance(obj, Mapping) or not obj:
        return False
    if not all(isinstance(k, str) and not isinstance(v, (Mapping, list, tuple)) for k, v in obj.items()):
        return False
    return any(is_tensor(v) for v in obj.values())


def locate(obj, location: tuple[str, ...] = (), depth: int = 0) -> Found | None:
    """The state_dict: ``obj`` itself, a pickled module, or under a common key (recursively)."""
    if is_module(obj):
        state = module_state(obj)
        if state:
            return Found(location, state, type(obj).qualname(), tuple(module_attributes(obj)))
    found = mapping(obj)
    if is_state_dict(found):  # a dict, or a stand-in's items (a dict subclass from a package not installed)
        return Found(location, found)
    if found is not None and depth < _DEPTH:
        for key in COMMON_KEYS:
            if key in found:
                hit = locate(found[key], location + (key,), depth + 1)
                if hit is not None:
                    return hit
    return None


def flatten(obj, prefix: str = "", depth: int = 0):
    """``(path, tensor)`` for every tensor reachable through containers and stand-ins."""
    if is_tensor(obj):
        yield prefix or "(tensor)", obj
        return
    if depth >= _DEPTH:
        return
    if is_module(obj):
        for name, value in module_state(obj).items():
            yield (f"{prefix}.{name}" if prefix else name), value
        return
    found = mapping(obj)
    items = found.items() if found is not None else enumerate(sequence(obj) or ())
    for k, v in items:
        yield from flatten(v, f"{prefix}.{k}" if prefix else str(k), depth + 1)


def describe(obj) -> str:
    found = mapping(obj)
    if isinstance(obj, Foreign):
        return f"a {type(obj).qualname()} object"
    if found is not None:
        keys = ", ".join(str(k) for k in list(found)[:5]) + (", ..." if len(found) > 5 else "")
        return f"a dict with keys {keys}" if found else "an empty dict"
    return f"a {type(obj).__name__}"


# Where training code keeps the constructor's arguments beside the weights: Lightning's hyper_parameters,
# fairseq's args (an argparse.Namespace) or cfg (a dict whose "model" holds them), OpenNMT-py's opt.
_HYPER_KEYS = ("hyper_parameters", "hparams", "args", "cfg", "opt", "config", "hyperparameters", "model_args")
_SIZES = re.compile(r"(size|dim|hidden|layer|units|embed|bidirectional|brnn|rnn|lstm|gru|cell|proj|input|"
                    r"vocab|heads|dropout|batch_first|nonlinearity)", re.IGNORECASE)


def hyperparameters(obj) -> tuple[tuple[str, tuple[tuple[str, object], ...]], ...]:
    """``(where, ((name, value), ...))`` for each hyperparameter object of a checkpoint, size-holding names first.

    Only plain values (numbers, strings, booleans, None, short lists of them) are kept; nothing is called.

    >>> import argparse, pickle
    >>> from rnnshape.checkpoint.inert import loads
    >>> opt = argparse.Namespace(lr=0.1, rnn_size=500, enc_layers=2)
    >>> hyperparameters(loads(pickle.dumps({"model": {}, "opt": opt})))
    (("checkpoint['opt']", (('rnn_size', 500), ('enc_layers', 2), ('lr', 0.1))),)
    """
    top = mapping(obj)
    out = []
    for key in _HYPER_KEYS:
        found = _plain_mapping(top.get(key)) if top is not None else None
        if not found:
            continue
        where = f"checkpoint[{key!r}]"
        model = _plain_mapping(found.get("model")) if key == "cfg" else None
        if model:  # fairseq: cfg["model"] holds the architecture's arguments; the rest is training setup
            found, where = model, f"{where}['model']"
        values = [(str(k), v) for k, v in found.items() if _plain(v)]
        if values:
            values.sort(key=lambda kv: 0 if _SIZES.search(kv[0]) else 1)  # stable: file order within each
            out.append((where, tuple(values)))
    return tuple(out)


def _plain_mapping(obj) -> dict | None:
    found = mapping(obj)
    if found is None:
        return None
    content = found.get("_content")
    if "_metadata" in found and content is not None:  # an OmegaConf DictConfig, pickled: its nodes hold _val
        content = mapping(content) or {}
        found = {k: (mapping(v) or {}).get("_val", v) for k, v in content.items()}
    return dict(found)


def _plain(value, depth: int = 0) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return not isinstance(value, str) or len(value) <= 200
    if isinstance(value, (list, tuple)) and depth == 0 and len(value) <= 16:
        return all(_plain(v, 1) for v in value)
    return False
