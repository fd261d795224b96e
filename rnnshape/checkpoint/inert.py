"""The inert reader: a ``pickle_module`` for torch.load that never calls anything a pickle names.

A pickle is a program: GLOBAL names a callable, REDUCE calls it. Every name goes through
``Unpickler.find_class``, and ours returns a real object only for the allowlist in ``_allowed``: torch's
tensor rebuild functions behind wrappers of our own (the two that would call what they are given check
it first), dtypes, ``torch.Size``, ``OrderedDict``, ``defaultdict`` and builtin types that only convert.
Every other name, ``os.system`` as much as ``argparse.Namespace`` or a class from a module that is not
installed, becomes a fresh subclass of
``Foreign``: calling it, building it or giving it state only records the arguments. So the objects a
pickle can call are the allowlist and ``Foreign``; nothing it names is imported, let alone run.

torch.load(f, weights_only=False, pickle_module=this module) subclasses ``Unpickler`` for the one data
pickle and calls ``load`` for the legacy format's other pickles, so every pickle in the file goes
through ``find_class`` here (read torch/serialization.py: ``_load`` and ``_legacy_load``).

>>> import pickle, argparse
>>> obj = loads(pickle.dumps({"args": argparse.Namespace(lr=0.1)}))
>>> obj["args"], obj["args"].foreign_state
(<foreign argparse.Namespace>, {'lr': 0.1})
"""

from __future__ import annotations

import contextvars
import copyreg
import io
import pickle
import sys
from collections import OrderedDict, defaultdict

_met: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("rnnshape_foreign_met", default=None)


class Foreign:
    """Stands in for an object a pickle named. It records what the pickle gives it and never calls anything."""

    foreign_module = "?"
    foreign_name = "?"
    dump_patches = False  # torch's legacy reader reads this on module classes: never write a .patch file

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        self.foreign_args = args
        self.foreign_kwargs = kwargs
        self.foreign_state = None
        self.foreign_items: list[tuple[object, object]] = []  # SETITEM(S) on a dict subclass
        self.foreign_list: list[object] = []  # APPEND(S) on a list subclass
        return self

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.foreign_state = state

    def __setitem__(self, key, value):
        self.foreign_items.append((key, value))

    def append(self, value):
        self.foreign_list.append(value)

    def extend(self, values):
        self.foreign_list.extend(values)

    def __call__(self, *args, **kwargs):
        return _foreign_class(self.qualname() + "(...)", "")(*args, **kwargs)

    @classmethod
    def qualname(cls) -> str:
        return f"{cls.foreign_module}.{cls.foreign_name}" if cls.foreign_name else cls.foreign_module

    def __repr__(self) -> str:
        return f"<foreign {self.qualname()}>"


def _foreign_class(module: str, name: str) -> type:
    # __module__ is ours, so nothing (inspect, torch's source check) looks the foreign module up
    return type("Foreign", (Foreign,), {"foreign_module": module, "foreign_name": name,
                                        "__qualname__": f"Foreign[{module}.{name}]"})


class Unpickler(pickle.Unpickler):
    """pickle's own Unpickler, with every global resolved by the allowlist or to an inert stand-in."""

    def __init__(self, *args, **kwargs):
        # EXT1/2/4 opcodes look in copyreg's extension cache before calling find_class: an object some
        # earlier unpickling in this process put there would be used as it is. Empty it, so that every
        # extension code goes through find_class (it is only a cache).
        copyreg.clear_extension_cache()
        super().__init__(*args, **kwargs)

    def find_class(self, module, name):
        module, name = _python3_name(module, name)
        key = f"{module}.{name}"
        allowed = _allowed()
        if key in allowed:
            return allowed[key]() if key in _FRESH else allowed[key]
        met = _met.get()
        if met is not None and key not in _TOKENS:
            met.append(key)
        return _foreign_class(str(module), str(name))


def _python3_name(module, name):
    """Protocol 0-2 pickles may use Python 2 names (``__builtin__.eval``, ``commands.Popen`` for subprocess)."""
    import _compat_pickle

    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def load(file, **kwargs):
    return Unpickler(file, **kwargs).load()


def loads(data: bytes, **kwargs):
    return Unpickler(io.BytesIO(data), **kwargs).load()


class recording:
    """``with recording() as met:`` collects the qualified names of every global replaced by ``Foreign``."""

    def __enter__(self) -> list[str]:
        self.met: list[str] = []
        self._token = _met.set(self.met)
        return self.met

    def __exit__(self, *exc) -> None:
        _met.reset(self._token)


def torch_load(source, mmap: bool = False):
    """torch.load through this module (``source`` a path or a seekable binary file), tensors on the CPU."""
    import torch

    # weights_only=False is what lets torch accept a pickle_module; the safety is in find_class above
    return torch.load(source, map_location="cpu", weights_only=False, mmap=mmap, pickle_module=sys.modules[__name__])


# --- the allowlist ---------------------------------------------------------------------------------------
# Wrappers, not torch's function objects: a pickle can BUILD state onto any object it holds (setting
# attributes such as __defaults__), and that must only ever reach these, never torch's own functions.

def _rebuild(name: str):
    def rebuild(*args):
        import torch._utils

        return getattr(torch._utils, name)(*args)

    rebuild.__name__ = name
    return rebuild


_REBUILD_NAMES = ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
                  "_rebuild_parameter_with_state", "_rebuild_meta_tensor_no_storage")
_REBUILDS = {name: _rebuild(name) for name in _REBUILD_NAMES}


def _rebuild_from_type_v2(func, new_type, args, state):
    """torch's wrapper for tensors with Python attributes or subclasses: rebuild the plain tensor only."""
    if any(func is f for f in _REBUILDS.values()) and isinstance(args, tuple):
        return func(*args)
    return _foreign_class("torch._tensor", "_rebuild_from_type_v2")(func, new_type, args, state)


def _load_from_bytes(data):
    """A storage pickled by plain pickle holds a whole torch file as bytes: read it through here too.

    The bytes stay alive in the pickle's memo until the load ends, so a copy would double the memory of a
    big file: a legacy-format storage is read without its data, then viewed in place over those bytes.
    """
    buffer = io.BytesIO(bytes(data)) if isinstance(data, (bytes, bytearray)) else None
    if buffer is None or is_torchscript(buffer):
        return _foreign_class("torch.storage", "_load_from_bytes")(data)
    if isinstance(data, bytes) and not data.startswith(b"PK"):
        view = _storage_in_place(data, buffer)
        if view is not None:
            return view
        buffer.seek(0)
    return torch_load(buffer)


def _storage_in_place(data: bytes, buffer):
    """The storage of a legacy torch.save of one storage, sharing ``data``'s memory; None if it is not that."""
    import warnings

    import torch
    from torch.serialization import skip_data

    try:
        with skip_data(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TypedStorage's deprecation; the bytes are read-only, nothing writes
            storage = torch_load(buffer)
            start = buffer.tell()
            if not isinstance(storage, torch.storage.TypedStorage) or start + 8 > len(data):
                return None
            size = int.from_bytes(data[start:start + 8], "little")  # elements, then the raw bytes
            nbytes = size * storage.element_size()
            if nbytes != storage.nbytes() or start + 8 + nbytes > len(data):
                return None
            flat = (torch.frombuffer(data, dtype=torch.uint8, count=nbytes, offset=start + 8) if nbytes
                    else torch.empty(0, dtype=torch.uint8))
            return torch.storage.TypedStorage(wrap_storage=flat.untyped_storage(), dtype=storage.dtype,
                                              _internal=True)
    except Exception:  # anything unexpected: the ordinary (copying) read decides
        return None


def is_torchscript(source) -> bool:
    """torch.load hands a TorchScript archive to torch.jit.load, which compiles its code: never send one."""
    import zipfile

    try:
        with zipfile.ZipFile(source) as z:
            found = any(n.endswith("constants.pkl") or "/code/" in n for n in z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        found = False
    if hasattr(source, "seek"):
        source.seek(0)
    return found


def _encode(obj, encoding="utf-8", errors="strict"):
    """``_codecs.encode``: how protocol 2 pickles bytes. Only plain text encodings (others import codecs)."""
    if isinstance(obj, str) and encoding in ("latin1", "latin-1", "utf-8", "utf8", "ascii") and errors == "strict":
        return obj.encode(encoding)
    return _foreign_class("_codecs", "encode")(obj, encoding, errors)


def _copyreg_new(qualname: str):
    """copyreg's reconstructors, made inert: they only ever instantiate a Foreign class."""
    module, name = qualname.rsplit(".", 1)

    def make(cls=None, *args):
        if name == "__newobj_ex__" and len(args) == 2 and isinstance(args[0], tuple) and isinstance(args[1], dict):
            args, kwargs = args  # __newobj_ex__(cls, args, kwargs)
        else:
            kwargs = {}
        if isinstance(cls, type) and issubclass(cls, Foreign):
            return cls(*args, **{str(k): v for k, v in kwargs.items()})
        return _foreign_class(module, name)(cls, *args)

    return make


class _UntypedStorageType:
    """What torch's persistent_load needs of ``torch.UntypedStorage`` in a pickle: its dtype (bytes)."""

    def __init__(self):
        import torch

        self.dtype = torch.uint8


# torch's tensor classes are named as the type argument of _rebuild_from_type_v2, which ignores it:
# an inert stand-in, not reported as foreign (the real classes could be called or given state)
_TOKENS = {"torch.Tensor", "torch._tensor.Tensor", "torch.nn.parameter.Parameter"}
_FRESH = {"torch.UntypedStorage", "torch.storage.UntypedStorage"}  # a new object per use
_ALLOWED: dict[str, object] = {}


def _allowed() -> dict[str, object]:
    if _ALLOWED:
        return _ALLOWED
    import torch

    table: dict[str, object] = {f"torch._utils.{name}": f for name, f in _REBUILDS.items()}
    table.update({
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch.storage._load_from_bytes": _load_from_bytes,
        "torch.serialization._get_layout": lambda name: torch.serialization._get_layout(str(name)),
        "torch.Size": torch.Size,
        "torch.device": torch.device,
        "torch.UntypedStorage": _UntypedStorageType,
        "torch.storage.UntypedStorage": _UntypedStorageType,
        "collections.OrderedDict": OrderedDict,
        "collections.defaultdict": defaultdict,  # its factory is only called on a missing key, never here
        "builtins.set": set,
        "builtins.frozenset": frozenset,
        "builtins.complex": complex,
        # plain types (a defaultdict's factory, a dtype's scalar type): called, they only convert
        **{f"builtins.{t.__name__}": t for t in (int, float, bool, list, dict, tuple)},
        "_codecs.encode": _encode,
        "copyreg._reconstructor": _copyreg_new("copyreg._reconstructor"),
        "copyreg.__newobj__": _copyreg_new("copyreg.__newobj__"),
        "copyreg.__newobj_ex__": _copyreg_new("copyreg.__newobj_ex__"),
    })
    # dtypes, layouts and memory formats are pickled by name (GLOBAL torch float32); vars() does not
    # trigger torch's lazy submodule imports the way getattr would
    for name, value in vars(torch).items():
        if isinstance(value, (torch.dtype, torch.layout, torch.memory_format)):
            table[f"torch.{name}"] = value
    _ALLOWED.update(table)
    return _ALLOWED
