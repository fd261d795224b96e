"""What reading a model file gives (its tensors' names, shapes and dtypes, where they came from), and the
Hugging Face folders and sharded indexes that gather several files' entries into one.

A folder is ``config.json`` beside ``model.safetensors``, ``pytorch_model.bin`` or shards listed by a
``*.index.json`` (``{"weight_map": {name: shard file}}``). Each weight file is read as a single file would be;
the index is checked against what the shards really hold. config.json gives context: the model type and the
recurrent settings it states. This module imports no reader (the readers import it), so
``read_checkpoint`` is passed in.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass

from rnnshape.errors import UsageError


@dataclass(frozen=True)
class Entry:
    name: str
    shape: tuple[int, ...]
    dtype: str  # torch's name: "float32", "bfloat16", ...


@dataclass(frozen=True)
class SourceModule:
    """What a file in another format says about one recurrent module, beyond its torch names and shapes."""

    prefix: str  # the torch prefix its tensors were given
    layer: str  # the module as the file states it: "Keras LSTM 'lstm_1'", "arrays enc_w_ih, enc_w_hh, ..."
    settings: tuple[tuple[str, object], ...] = ()  # the source's own settings (units, activation, ...)
    notes: tuple[str, ...] = ()  # facts to show beside the module
    differs: tuple[str, ...] = ()  # what torch computes otherwise: converted weights would not be exact
    guessed: bool = False  # the kind was told from the shapes alone, not from names or a config


@dataclass(frozen=True)
class Checkpoint:
    """The tensors of one file: where in the file they sat, and what a reader should know about them."""

    file: str
    format: str  # "pytorch zip", "pytorch legacy", "pickle", "torchscript", "safetensors", "onnx", "keras ...", ...
    location: tuple[str, ...]  # keys leading to the state_dict, () for the top level
    entries: tuple[Entry, ...]
    whole_file: bool = False  # no state_dict under a common key: every tensor of the file, by its path
    reader: str = "header"  # "weights_only" (torch's), "inert" (rnnshape's), "header", "onnx", "h5py"
    foreign: tuple[str, ...] = ()  # qualified names the pickle asked for: replaced by stand-ins, none called
    module_class: str | None = None  # the file (or the object at ``location``) is a whole pickled module
    attributes: tuple = ()  # (prefix, ((name, value), ...)): batch_first, dropout, nonlinearity the file stores
    files: tuple[str, ...] = ()  # a folder or an index: the weight files read, in order
    config: tuple[tuple[str, object], ...] = ()  # a folder's config.json: model type and recurrent settings
    onnx: tuple = ()  # .onnx: one OnnxRecurrent per recurrent node group
    origin: str | None = None  # the training framework the file's layout says wrote it, when it says
    hyperparameters: tuple = ()  # (where, ((name, value), ...)): the constructor arguments training code kept
    notes: tuple[str, ...] = ()  # what the reader says about the whole file
    sources: tuple[SourceModule, ...] = ()  # other formats: each recurrent module as the file states it


_KNOWN = ("model.safetensors.index.json", "model.safetensors", "pytorch_model.bin.index.json", "pytorch_model.bin")
_WEIGHTS = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".keras", ".h5", ".npz", ".jit")
_SETTINGS = re.compile(r"rnn|lstm|gru|recurren|hidden|layers|bidirectional|proj|batch_first|dropout|input_size|"
                       r"cell|nonlinearity|^model_type$|^architectures$")


def read_folder(path: str, read_checkpoint) -> Checkpoint:
    """A folder (its known weight file, or its only one) or an index file: one Checkpoint for all shards.

    ``read_checkpoint`` reads one weight file (files.read_checkpoint, passed in: it is what calls this).
    """
    folder = (os.path.dirname(path) or ".") if path.endswith(".index.json") else path
    config = _config(folder)
    if path.endswith(".index.json"):
        ckpt = _sharded(path, read_checkpoint)
    else:
        target = _weights_file(folder)
        ckpt = _sharded(target, read_checkpoint) if target.endswith(".index.json") else read_checkpoint(target)
        ckpt = dataclasses.replace(ckpt, files=ckpt.files or (target,))
    return dataclasses.replace(ckpt, file=path, config=config)


def _weights_file(folder: str) -> str:
    try:
        names = sorted(os.listdir(folder))
    except OSError as err:
        raise UsageError(f"{folder} cannot be read: {err.strerror or err}") from None
    for known in _KNOWN:
        if known in names:
            return os.path.join(folder, known)
    indexes = [n for n in names if n.endswith(".index.json")]
    weights = [n for n in names if n.endswith(_WEIGHTS) and os.path.isfile(os.path.join(folder, n))]
    if len(indexes) == 1:
        return os.path.join(folder, indexes[0])
    if len(weights) == 1 and not indexes:
        return os.path.join(folder, weights[0])
    if not weights and not indexes:
        raise UsageError(f"{folder} is a folder with no weight file (no model.safetensors, pytorch_model.bin, "
                         f"*.index.json or other {', '.join(_WEIGHTS)} file)",
                         hint="give the checkpoint file itself: rnnshape inspect FOLDER/FILE")
    shown = ", ".join((indexes + weights)[:4]) + (", ..." if len(indexes + weights) > 4 else "")
    raise UsageError(f"{folder} holds several weight files ({shown}): name the one to inspect",
                     hint=f"rnnshape inspect {os.path.join(folder, (indexes + weights)[0])}")


def _sharded(index_path: str, read_checkpoint) -> Checkpoint:
    weight_map = _weight_map(index_path)
    folder = os.path.dirname(index_path)
    shards = list(dict.fromkeys(weight_map.values()))
    entries, foreign, readers, formats, files = [], set(), set(), set(), []
    for shard in shards:
        shard_path = os.path.join(folder, shard)
        if os.path.basename(shard) != shard or not os.path.isfile(shard_path):
            raise UsageError(f"{index_path} lists the shard {shard!r}, which is not a file in {folder}",
                             hint="download or copy every shard the index names")
        ckpt = read_checkpoint(shard_path)
        held = {e.name for e in ckpt.entries}
        missing = [n for n, s in weight_map.items() if s == shard and n not in held]
        if missing:
            raise UsageError(f"{index_path} says {shard} holds {missing[0]!r}, but it does not"
                             + (f" (nor {len(missing) - 1} more)" if len(missing) > 1 else ""),
                             hint="the index and its shards come from different saves")
        entries += ckpt.entries
        foreign.update(ckpt.foreign)
        readers.add(ckpt.reader)
        formats.add(ckpt.format)
        files.append(shard_path)
    reader = "inert" if "inert" in readers else readers.pop() if len(readers) == 1 else "mixed"
    fmt = f"{' + '.join(sorted(formats))}, {len(shards)} shard{'s' if len(shards) != 1 else ''}"
    return Checkpoint(index_path, fmt, (), tuple(entries), reader=reader, foreign=tuple(sorted(foreign)),
                      files=tuple(files))


def _weight_map(index_path: str) -> dict[str, str]:
    try:
        with open(index_path, encoding="utf-8") as f:
            index = json.load(f)
    except FileNotFoundError:
        raise UsageError(f"{index_path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"{index_path} is not a readable index file: {err}") from None
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not weight_map or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in weight_map.items()):
        raise UsageError(f"{index_path} has no weight_map of tensor names to shard files",
                         hint='a sharded checkpoint index is {"weight_map": {"name": "shard file", ...}}')
    return weight_map


def _config(folder: str) -> tuple[tuple[str, object], ...]:
    """config.json's model type and recurrent settings (scalars only), when the folder has one."""
    path = os.path.join(folder, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return ()
    if not isinstance(config, dict):
        return ()
    scalar = (str, int, float, bool, type(None))
    return tuple((k, v) for k, v in config.items() if _SETTINGS.search(k) and (
        isinstance(v, scalar) or (isinstance(v, list) and all(isinstance(x, scalar) for x in v))))
