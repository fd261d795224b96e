"""What reading a checkpoint gives: its tensors' names, shapes and dtypes, and where they came from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    name: str
    shape: tuple[int, ...]
    dtype: str  # torch's name: "float32", "bfloat16", ...


@dataclass(frozen=True)
class Checkpoint:
    """The tensors of one file: where in the file they sat, and what a reader should know about them."""

    file: str
    format: str  # "pytorch zip", "pytorch legacy", "pickle", "safetensors", "onnx", "folder"
    location: tuple[str, ...]  # keys leading to the state_dict, () for the top level
    entries: tuple[Entry, ...]
    whole_file: bool = False  # no state_dict under a common key: every tensor of the file, by its path
    reader: str = "header"  # "weights_only" (torch's), "inert" (rnnshape's), "header" (safetensors), "onnx"
    foreign: tuple[str, ...] = ()  # qualified names the pickle asked for: replaced by stand-ins, none called
    module_class: str | None = None  # the file (or the object at ``location``) is a whole pickled module
    attributes: tuple = ()  # (prefix, ((name, value), ...)) for a pickled module's recurrent submodules
    files: tuple[str, ...] = ()  # a folder or an index: the weight files read, in order
    config: tuple[tuple[str, object], ...] = ()  # a folder's config.json: model type and recurrent settings
    onnx: tuple = ()  # .onnx: one OnnxRecurrent per recurrent node group
    origin: str | None = None  # the training framework the file's layout says wrote it, when it says
    hyperparameters: tuple = ()  # (where, ((name, value), ...)): the constructor arguments training code kept
