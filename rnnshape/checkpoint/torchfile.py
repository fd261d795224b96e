"""torch.save files (zip or legacy), plain pickles and TorchScript archives, read without running anything.

First ``torch.load(weights_only=True)``, torch's own restricted reader. When it refuses a global (an
``argparse.Namespace``, a pickled module, a class from a package that is not installed), the file is
read again through the inert reader (``rnnshape.checkpoint.inert``): the same torch.load, with a pickle
module whose ``find_class`` replaces every name outside a small allowlist with an inert stand-in. A plain
pickle (``pickle.dump(state_dict, f)``) goes straight to the inert reader.

A TorchScript archive (torch.jit.save, scripted or traced) is never given to torch.load, which would hand it
to torch.jit.load and compile its code: its ``data.pkl`` is read by the inert reader alone, through torch's
zip reader. TorchScript pickles each module as an object of a ``__torch__.*`` class whose state holds every
attribute flat (parameters, buffers, submodules, plain values, not ``_parameters``/``_modules``), so tensors
are named by their attribute path (``_model.decoder.rnn.weight_ih``), and a scripted nn.LSTM keeps its
constructor arguments (``batch_first``, ``mode``) beside its weights. The pre-1.0 tar format is refused
(torch would extract it to disk).
"""

from __future__ import annotations

import pickle
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

from rnnshape.checkpoint import inert
from rnnshape.checkpoint.entries import Checkpoint, Entry
from rnnshape.checkpoint.inert import Foreign
from rnnshape.errors import EnvironmentUnfit, UsageError

_HINT = "check that the file was completely written and copied"


@dataclass(frozen=True)
class Loaded:
    obj: object
    format: str  # "pytorch zip", "pytorch legacy", "pickle", "torchscript"
    reader: str  # "weights_only" (torch's restricted reader) or "inert" (rnnshape's)
    foreign: tuple[str, ...] = ()  # qualified names the pickle asked for, replaced by stand-ins, none called


def read(path: str, fmt: str):
    """The Checkpoint of a torch file (``fmt`` from files.detect: torch zip, torchscript, pickle)."""
    loaded = _loaded(path, fmt)
    names, found = _named(path, loaded)
    entries = tuple(Entry(k, tuple(int(d) for d in v.shape), str(v.dtype).removeprefix("torch."))
                    for k, v in names.items())
    common = dict(reader=loaded.reader, foreign=loaded.foreign, origin=_origin(loaded.obj),
                  hyperparameters=hyperparameters(loaded.obj))
    if loaded.format == "torchscript":
        top = type(loaded.obj).qualname() if isinstance(loaded.obj, Foreign) else type(loaded.obj).__name__
        note = (f"a TorchScript archive ({top.removeprefix('__torch__.')}), read without compiling or running "
                f"its code: tensors are named by their attribute path, and TorchScript keeps every tensor "
                f"attribute (buffers and constants too)")
        return Checkpoint(path, "torchscript", (), entries, whole_file=False, notes=(note,),
                          attributes=tuple(_script_attributes(path, loaded.obj)), **common)
    if found is not None:
        return Checkpoint(path, loaded.format, found.location, entries, module_class=found.module_class,
                          attributes=found.attributes, **common)
    return Checkpoint(path, loaded.format, (), entries, whole_file=True, **common)


def tensors(path: str, fmt: str) -> dict:
    """name -> tensor, the names of ``read``'s entries (the values were never converted: torch's own layout)."""
    return _named(path, _loaded(path, fmt))[0]


def _loaded(path: str, fmt: str) -> Loaded:
    if fmt == "torchscript":
        return load_torchscript(path)
    if fmt == "torch zip":
        return load_zip(path)
    return load_pickle(path)


def _named(path: str, loaded: Loaded):
    obj = loaded.obj
    if loaded.format == "torchscript":
        found, named = None, dict(flatten(obj, depth_limit=4 * _DEPTH))
    else:
        found = locate(obj)
        named = ({k: v for k, v in found.state.items() if is_tensor(v)} if found is not None
                 else dict(flatten(obj)))
    if not named:
        met = f"; it names {', '.join(loaded.foreign)}, none of which was run" if loaded.foreign else ""
        raise UsageError(f"{path} holds no tensors ({describe(obj)}{met}): not a model checkpoint")
    return named, found


def _origin(obj) -> str | None:
    """Layouts that name their writer: a Lightning .ckpt, a fairseq or OpenNMT-py checkpoint."""
    top = mapping(obj) if not is_module(obj) else None
    top = top or {}
    version = top.get("pytorch-lightning_version")
    if isinstance(version, str):
        return f"PyTorch Lightning {version}"
    if "model" in top and ("optimizer_history" in top or ("args" in top and "cfg" in top)):
        return "fairseq"
    if "model" in top and "opt" in top and ("vocab" in top or "generator" in top):
        return "OpenNMT-py"
    return None


def load_zip(path: str) -> Loaded:
    return _load(path, "pytorch zip", mmap=True)


def load_torchscript(path: str) -> Loaded:
    """``data.pkl`` of a torch.jit.save archive through the inert reader; its code is never compiled or run."""
    import os
    import zipfile

    import torch

    with zipfile.ZipFile(path) as z:
        if not any(n.count("/") == 1 and n.endswith("/data.pkl") for n in z.namelist()):
            raise UsageError(f"{path} is a TorchScript archive without data.pkl (the model.json layout of PyTorch "
                             f"before 1.4): rnnshape does not read it",
                             hint="load it with torch.jit.load in a PyTorch you trust and save it again with "
                                  "torch.jit.save, or save its state_dict with torch.save")
    try:
        with inert.recording() as met, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = torch._C.PyTorchFileReader(path)
            # what torch.load(mmap=True) does: storages are views of the mapped file, read only when touched
            storage = torch.UntypedStorage.from_file(path, shared=False, nbytes=os.path.getsize(path))
            obj = torch.serialization._load(reader, map_location="cpu", pickle_module=inert,
                                            pickle_file="data.pkl", overall_storage=storage)
    except Exception as err:  # a damaged or hostile archive can raise anything; nothing in it was called
        raise _forced(path, err) or _unreadable(path, "a TorchScript archive", err) from None
    # __torch__.* are TorchScript's own class names (its code, never compiled here), not Python objects
    foreign = tuple(n for n in _names(met) if not n.startswith(("__torch__.", "torch.jit._pickle.")))
    return Loaded(obj, "torchscript", "inert", foreign)


def _script_attributes(path: str, obj):
    """batch_first, dropout and mode of each scripted recurrent module: attributes, or constants of its class.

    ``torch.jit.script`` compiles nn.LSTM's ``__constants__`` (mode, batch_first, dropout, ...) into its class
    as ``dropout : Final[float] = 0.3`` lines of the archive's code; that text is read, never compiled.
    """
    import zipfile

    with zipfile.ZipFile(path) as z:
        code = {n.split("/code/", 1)[1]: n for n in z.namelist() if "/code/" in n and n.endswith(".py")}
        seen: dict[str, dict] = {}

        def constants(cls: str) -> dict:
            if cls not in seen:
                module, _, name = cls.rpartition(".")
                member = code.get(module.replace(".", "/") + ".py")
                seen[cls] = _final_constants(z.read(member).decode("utf-8", "replace"), name) if member else {}
            return seen[cls]

        yield from _walk_script(obj, "", 0, constants)


_FINAL = re.compile(r"^  (\w+) : Final\[\w+\] = (.+)$")


def _final_constants(text: str, class_name: str) -> dict:
    import ast

    out, inside = {}, False
    for line in text.splitlines():
        if line.startswith("class "):
            inside = line.startswith(f"class {class_name}(")
        elif inside and (m := _FINAL.match(line)):
            try:
                out[m[1]] = ast.literal_eval(m[2])
            except (ValueError, SyntaxError):
                pass
    return out


def _walk_script(obj, prefix: str, depth: int, constants):
    state = _state(obj) if isinstance(obj, Foreign) else None
    if not isinstance(state, Mapping) or depth > 4 * _DEPTH:
        return
    known = {**constants(type(obj).qualname()), **state}
    kept = tuple((a, known[a]) for a in MODULE_ATTRIBUTES
                 if a in known and isinstance(known[a], (bool, int, float, str)))
    if "hidden_size" in known and kept:
        yield prefix.removesuffix("."), kept
    for name, child in state.items():
        if isinstance(child, Foreign):
            yield from _walk_script(child, f"{prefix}{name}.", depth + 1, constants)


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


# --- finding the state_dict in what a file unpickled to ---------------------------------------------------

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


def flatten(obj, prefix: str = "", depth: int = 0, depth_limit: int = _DEPTH):
    """``(path, tensor)`` for every tensor reachable through containers and stand-ins."""
    if is_tensor(obj):
        yield prefix or "(tensor)", obj
        return
    if depth >= depth_limit:
        return
    if is_module(obj):
        for name, value in module_state(obj).items():
            yield (f"{prefix}.{name}" if prefix else name), value
        return
    found = mapping(obj)
    items = found.items() if found is not None else enumerate(sequence(obj) or ())
    for k, v in items:
        yield from flatten(v, f"{prefix}.{k}" if prefix else str(k), depth + 1, depth_limit)


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
