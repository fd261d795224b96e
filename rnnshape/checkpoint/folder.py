"""Hugging Face-style model folders and sharded weights: ``config.json`` beside ``model.safetensors``,
``pytorch_model.bin`` or shards listed by a ``*.index.json`` (``{"weight_map": {name: shard file}}``).

Each weight file is read as a single file would be (safetensors from its header, .bin through torch's
restricted reader or the inert one); the index is checked against what the shards really hold.
config.json is read as JSON for context: the model type and any recurrent settings it states.
"""

from __future__ import annotations

import json
import os
import re

from rnnshape.errors import UsageError

# Most specific first: the names transformers' save_pretrained writes.
_KNOWN = ("model.safetensors.index.json", "model.safetensors", "pytorch_model.bin.index.json", "pytorch_model.bin")
_WEIGHTS = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx")
_SETTINGS = re.compile(r"rnn|lstm|gru|recurren|hidden|layers|bidirectional|proj|batch_first|dropout|input_size|"
                       r"cell|nonlinearity|^model_type$|^architectures$")


def read_folder(path: str, read_checkpoint):
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
        ckpt = _replace(ckpt, files=ckpt.files or (target,))
    return _replace(ckpt, file=path, config=config)


def _replace(ckpt, **changes):
    import dataclasses

    return dataclasses.replace(ckpt, **changes)


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


def _sharded(index_path: str, read_checkpoint):
    from rnnshape.checkpoint.entries import Checkpoint

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
