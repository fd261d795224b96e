"""`rnnshape inspect`: the recurrent modules a checkpoint file holds, recovered from its names and shapes.

Recover recurrent modules' configurations from a checkpoint's (name, shape) list. Pure Python, no torch.

Every recurrent parameter is ``G·H`` rows tall (G = 1 RNN, 3 GRU, 4 LSTM) and ``weight_hh`` is
``(G·H, H_out)``, so the kind follows from the shapes: without a projection ``H_out = H`` and
``G = rows / columns``; with one, ``weight_hr`` is ``(P, H)`` and names H directly. The shapes therefore
decide the kind whenever ``H >= 1``. What they never record is an RNN's nonlinearity: tanh and relu
modules have identical parameters, so both are listed as candidates. (A cell with ``hidden_size=0``
has empty weights that fit every kind; those are candidates too, and not modelled further.)

A recovered configuration counts only when the predictor's parameter list for it equals the
checkpoint's names and shapes exactly; anything else is reported as not recognised, with the reason.

>>> from rnnshape.checkpoint.files import Entry
>>> entries = [Entry("enc.weight_ih_l0", (80, 100), "float32"), Entry("enc.weight_hh_l0", (80, 20), "float32")]
>>> [m.constructor for m in find_modules(entries)]
['nn.LSTM(input_size=100, hidden_size=20, bias=False)']

>>> import tempfile, os, json, struct
>>> header = json.dumps({"gru.weight_ih_l0": {"dtype": "F32", "shape": [60, 10], "data_offsets": [0, 2400]},
...                      "gru.weight_hh_l0": {"dtype": "F32", "shape": [60, 20], "data_offsets": [2400, 7200]}})
>>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
>>> _ = open(path, "wb").write(struct.pack("<Q", len(header)) + header.encode() + bytes(7200))
>>> [m.constructor for m in inspect_checkpoint(path).modules]
['nn.GRU(input_size=10, hidden_size=20, bias=False)']
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rnnshape.checkpoint.entries import Entry
from rnnshape.errors import UsageError, escape
from rnnshape.model.predict import predict
from rnnshape.model.report import Prediction, Shows
from rnnshape.model.spec import Dtype, Kind, Module, Spec, make_spec
from rnnshape.views.code import constructor as constructor_line

if TYPE_CHECKING:  # types only: the readers are imported when a file is read, not on every start (issue 21)
    from rnnshape.checkpoint.files import Checkpoint

_NAME = re.compile(
    r"^(?:(?P<prefix>.+)\.)?(?P<param>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)"
    r"(?P<sfx>_l(?P<layer>\d+)(?P<rev>_reverse)?)?$"
)
_KINDS = {k.gates: k for k in Kind}  # row blocks -> kind, from the kind table
_BLOCKS = ", ".join(f"{k.torch_name} {g}" for g, k in sorted(_KINDS.items()))  # "RNN 1, GRU 3, LSTM 4"


@dataclass(frozen=True)
class Candidate:
    """One configuration whose parameters are exactly the checkpoint's."""

    kind: Kind
    cell: bool
    nonlinearity: str | None
    constructor: str


@dataclass(frozen=True)
class Recovered:
    """One recurrent module found in a checkpoint, under ``prefix`` ('' for a bare module's state_dict)."""

    prefix: str
    cell: bool
    entries: tuple[Entry, ...]  # the checkpoint's tensors for this module, full names
    spec: Spec | None  # the verified configuration; None when not recognised
    candidates: tuple[Candidate, ...] = ()  # set when the shapes fit more than one configuration
    reason: str | None = None  # why it is not recognised
    notes: tuple[str, ...] = ()
    prediction: Prediction | None = None  # the predictor's view of ``spec``, which the recovery was held to
    stored: tuple[str, ...] = ()  # the function's arguments the file records (batch_first, dropout, nonlinearity)
    untorchable: tuple[str, ...] = ()  # what the source computes that no torch module can: why it is not exact

    @property
    def recognised(self) -> bool:
        return self.spec is not None

    @property
    def module(self) -> Module | None:
        return self.spec.modules()[0] if self.spec else None

    @property
    def constructor(self) -> str | None:
        return constructor_line(self.module) if self.spec else None

    def local(self) -> dict[str, tuple[int, ...]]:
        """Names relative to the module, as its own state_dict() has them."""
        cut = len(self.prefix) + 1 if self.prefix else 0
        return {e.name[cut:]: e.shape for e in self.entries}


class _NotRecognised(Exception):
    pass


def find_modules(entries) -> tuple[Recovered, ...]:
    """Every recurrent module among ``entries`` (Entry or (name, shape[, dtype]) tuples), in file order."""
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        e = e if isinstance(e, Entry) else Entry(e[0], tuple(e[1]), e[2] if len(e) > 2 else "float32")
        match = _NAME.match(e.name)
        if match:
            groups.setdefault(match["prefix"] or "", []).append(e)
    return tuple(recover(prefix, tuple(group)) for prefix, group in groups.items())


def recover(prefix: str, entries: tuple[Entry, ...]) -> Recovered:
    """The configuration of one module's parameters, verified against the predictor."""
    suffixed = {bool(_NAME.match(e.name)["sfx"]) for e in entries}
    cell = suffixed == {False}
    shell = Recovered(prefix, cell, entries, None)
    cut = len(prefix) + 1 if prefix else 0
    local = {e.name[cut:]: e.shape for e in entries}
    try:
        if len(suffixed) > 1:
            raise _NotRecognised("it mixes cell names (weight_ih) with layer names (weight_ih_l0)")
        kwargs = _cell_kwargs(local) if cell else _layer_kwargs(local)
    except _NotRecognised as err:
        return _with(shell, reason=str(err), candidates=getattr(err, "candidates", ()))
    dtypes = {e.dtype for e in entries}
    dtype = dtypes.pop() if len(dtypes) == 1 else None
    notes = []
    if dtype not in {d.value for d in Dtype}:
        notes.append(f"parameters are stored as {dtype or 'mixed dtypes'}; memory is shown at float32")
        dtype = "float32"
    kind = kwargs.pop("kind")
    variants = ["tanh", "relu"] if kind.info.takes_nonlinearity else [None]
    specs, predictions = [], []
    for nonlinearity in variants:
        try:
            spec = make_spec(kind, cell=cell, dtype=dtype, nonlinearity=nonlinearity, **kwargs)
        except UsageError as err:
            return _with(shell, reason=f"the shapes suggest an invalid configuration: {err.message}")
        prediction = predict(spec)
        predicted = {p.name: p.shape for p in prediction.parameters}
        if predicted != local:
            return _with(shell, reason=_difference(predicted, local))
        specs.append(spec)
        predictions.append(prediction)
    candidates = ()
    if len(specs) > 1:
        candidates = tuple(Candidate(s.kind, s.cell, s.nonlinearity, constructor_line(s.modules()[0])) for s in specs)
        notes.append("an RNN's nonlinearity (tanh or relu) is not stored in its weights: both load; "
                     "the constructor shows torch's default, tanh")
    return Recovered(prefix, cell, entries, specs[0], candidates, None, tuple(notes), predictions[0])


def _with(r: Recovered, **changes) -> Recovered:
    return Recovered(**{**r.__dict__, **changes})


def _matrix(local, name: str) -> tuple[int, int]:
    shape = local.get(name)
    if shape is None:
        raise _NotRecognised(f"it has no {name}")
    if len(shape) != 2:
        raise _NotRecognised(f"{name} is {len(shape)}-D {shape}, not a matrix")
    return shape


def _gate_kind(rows: int, hidden: int, where: str) -> Kind:
    if hidden < 1 or rows % hidden:
        raise _NotRecognised(f"{where} has {rows} rows, not a multiple of the hidden size {hidden}")
    g = rows // hidden
    if g not in _KINDS:
        raise _NotRecognised(f"{where} has {rows} rows = {g}·H with H={hidden}: no recurrent module "
                             f"stacks {g} gate blocks ({_BLOCKS})")
    return _KINDS[g]


def _cell_kwargs(local) -> dict:
    rows, input_size = _matrix(local, "weight_ih")
    _, hidden = _matrix(local, "weight_hh")
    if hidden == 0:
        err = _NotRecognised("hidden_size 0: empty weights fit every kind")
        err.candidates = tuple(
            Candidate(k, True, nl, constructor_line(Module(k, True, input_size, 0, nonlinearity=nl)))
            for k, nl in ((k, "tanh" if k.info.takes_nonlinearity else None) for k in Kind)
        )
        raise err
    kind = _gate_kind(rows, hidden, "weight_ih")
    return {"kind": kind, "input_size": input_size, "hidden_size": hidden, "bias": "bias_ih" in local}


def _layer_kwargs(local) -> dict:
    rows, input_size = _matrix(local, "weight_ih_l0")
    _, h_out = _matrix(local, "weight_hh_l0")
    proj, hidden = _matrix(local, "weight_hr_l0") if "weight_hr_l0" in local else (0, h_out)
    kind = _gate_kind(rows, hidden, "weight_ih_l0")
    if proj and not kind.info.takes_proj_size:
        raise _NotRecognised(f"weight_hr_l0 is a projection, which only LSTM has, but the rows say "
                             f"{kind.torch_name} (built with a positional proj_size, torch cannot run it)")
    layers = {int(m["layer"]) for m in map(_NAME.match, local) if m and m["layer"] is not None}
    return {
        "kind": kind,
        "input_size": input_size,
        "hidden_size": hidden,
        "num_layers": max(layers) + 1,
        "bidirectional": any(name.endswith("_reverse") for name in local),
        "proj_size": proj,
        "bias": "bias_ih_l0" in local,
    }


def _difference(predicted: dict, local: dict) -> str:
    missing = [n for n in predicted if n not in local]
    extra = [n for n in local if n not in predicted]
    if missing:
        return f"a module with these shapes would also have {missing[0]}" + (
            f" and {len(missing) - 1} more" if len(missing) > 1 else "")
    if extra:
        return f"it has {extra[0]}, which no module with these shapes has"
    name = next(n for n in predicted if predicted[n] != local[n])
    return f"{name} is {local[name]}, where a module with these shapes has {predicted[name]}"


# ---- a file: read it, recover its modules, and what it says beside the weights ----

_WRAPPERS = (
    ("module.", "saved from DataParallel or DistributedDataParallel"),
    ("_orig_mod.", "saved from a torch.compile'd model"),
)


@dataclass(frozen=True, repr=False)
class Inspection(Shows):  # shows itself through rnnshape.api.results
    checkpoint: Checkpoint
    modules: tuple[Recovered, ...]
    notes: tuple[str, ...]


def inspect_checkpoint(path: str | os.PathLike, prefix: str | None = None) -> Inspection:
    """Read ``path`` and recover every recurrent module in it (only the one under ``prefix`` if given)."""
    from rnnshape.checkpoint.files import read_checkpoint

    ckpt = read_checkpoint(path)
    onnx = {g.prefix: g for g in ckpt.onnx}
    sources = {s.prefix: s for s in ckpt.sources}
    attributes: dict[str, list] = {}
    for where, pairs in ckpt.attributes:
        attributes.setdefault(where, []).extend(pairs)
    modules = tuple(_with_source(_with_attributes(m, attributes.get(m.prefix, ()), onnx.get(m.prefix)),
                                 sources.get(m.prefix))
                    for m in find_modules(ckpt.entries))
    if prefix is not None:
        modules = (select(modules, prefix, ckpt.file),)
    notes = _notes(ckpt)
    if any(m.spec is not None and not m.cell and "batch_first" not in m.stored for m in modules):
        notes += ("batch_first and dropout are not stored in a state_dict: the constructors leave them out "
                  "(torch's defaults), the JSON says null, and a module saved with either loads all the same",)
    return Inspection(ckpt, modules, notes)


def select(modules: tuple[Recovered, ...], prefix: str, file: str) -> Recovered:
    for m in modules:
        if m.prefix == prefix:
            return m
    here = ", ".join(repr(m.prefix) for m in modules)
    raise UsageError(
        field="prefix", rule=f"names no recurrent module in {escape(file)}", value=prefix,
        hint=escape(f"the recurrent modules there are {here}" if modules else f"{file} holds no recurrent module"),
    )


def location_text(location: tuple[str, ...]) -> str:
    """``checkpoint["model"]["state_dict"]``: how to reach the state_dict in code."""
    return "checkpoint" + "".join(f"[{k!r}]" for k in location)


_NOT_STORED = {
    "batch_first": "a state_dict does not store batch_first: the file says nothing of the input's layout",
    "dropout": "a state_dict does not store dropout (it has no weights)",
    "nonlinearity": "tanh and relu have the same weights: the file does not say which (see candidates)",
}


def not_stored(m: Recovered) -> dict[str, str]:
    """The constructor arguments the file does not record, each with the reason (the JSON shows them null)."""
    if m.spec is None:
        return {}
    if m.cell:
        out = {"batch_first": "a cell takes one time step: batch_first does not apply",
               "dropout": "a cell has no dropout"}
    else:
        out = {k: v for k, v in _NOT_STORED.items() if k != "nonlinearity" and k not in m.stored}
    if m.module.kind.info.takes_nonlinearity and "nonlinearity" not in m.stored:
        out["nonlinearity"] = _NOT_STORED["nonlinearity"]
    return out


def _with_attributes(m: Recovered, attributes, onnx=None) -> Recovered:
    """A pickled module keeps what a state_dict does not: batch_first, dropout, an RNN's nonlinearity.

    An ONNX node records its layout and activations; a reader may add ("untorchable", why) for what the
    source computes that no torch module can (ONNX's own notes on a node say the same).
    """
    if m.spec is None:
        return m
    untorchable = tuple(v for k, v in attributes if k == "untorchable" and isinstance(v, str))
    conventions = dict(v for k, v in attributes if k == "convention")  # {option: why}: the format's rule, unrecorded
    known = {k: v for k, v in attributes if k not in ("untorchable", "convention")}
    if onnx is not None:
        known.setdefault("batch_first", onnx.layout == 1)
        # a recurrent node's notes are what torch computes otherwise; a cell made of products notes naming facts
        recurrent_node = onnx.op in ("LSTM", "GRU", "RNN")
        untorchable += tuple(onnx.notes) if recurrent_node else ()
    mode = known.pop("mode", None)
    if mode in ("RNN_TANH", "RNN_RELU"):
        known["nonlinearity"] = mode[4:].lower()
    module = m.module
    changes = {k: v for k, v in known.items() if k in ("batch_first", "dropout", "nonlinearity")
               and (k != "nonlinearity" or module.kind.value == "rnn") and (k == "nonlinearity" or not m.cell)}
    if not changes and not untorchable:
        return m
    try:
        spec = make_spec(module.kind, cell=m.cell, input_size=module.input_size, hidden_size=module.hidden_size,
                         num_layers=module.num_layers, bidirectional=module.bidirectional,
                         proj_size=module.proj_size, bias=module.bias, dtype=m.spec.dtype,
                         **{**{"nonlinearity": module.nonlinearity}, **changes})
    except (UsageError, TypeError, ValueError):
        return dataclasses.replace(m, untorchable=untorchable)
    said = ", ".join(f"{k}={v!r}" for k, v in changes.items() if k not in conventions)
    ruled = tuple(f"{k}={v!r}: {conventions[k]}; the file does not store it" for k, v in changes.items()
                  if k in conventions)
    notes = tuple(n for n in m.notes if "nonlinearity" not in n or "nonlinearity" not in changes)
    module = spec.modules()[0]  # the candidates differ only in the nonlinearity: they show the stored rest too
    candidates = () if "nonlinearity" in changes else tuple(
        dataclasses.replace(c, constructor=constructor_line(dataclasses.replace(module, nonlinearity=c.nonlinearity)))
        for c in m.candidates)
    # the tables read the prediction: it must be of the spec shown (batch_first moves the batch dimension)
    return dataclasses.replace(m, spec=spec, candidates=candidates, prediction=predict(spec),
                               notes=notes + ((f"stored in the file: {said}",) if said else ()) + ruled,
                               stored=tuple(changes), untorchable=untorchable)


def _with_source(m: Recovered, source) -> Recovered:
    """A Keras, NumPy or other non-torch file's own word on the module: its settings, what torch does otherwise."""
    if source is None:
        return m
    said = tuple(source.notes) + tuple(f"torch computes this differently: {d}" for d in source.differs)
    return dataclasses.replace(m, notes=tuple(m.notes) + said,
                               untorchable=tuple(m.untorchable) + tuple(source.differs))


def _notes(ckpt: Checkpoint) -> tuple[str, ...]:
    notes = list(ckpt.notes)
    if len(ckpt.files) > 1:
        notes.append(f"read {len(ckpt.files)} shards: " + ", ".join(os.path.basename(f) for f in ckpt.files))
    elif ckpt.files and ckpt.files[0] != ckpt.file:
        notes.append(f"read {ckpt.files[0]}")
    if ckpt.config:
        said = ", ".join(f"{k}={v!r}" for k, v in ckpt.config)
        notes.append(f"config.json: {said}")
    if ckpt.origin:
        notes.append(f"a {ckpt.origin} checkpoint" + (
            ": the names are the LightningModule's attributes (strip its 'model.' or similar prefix to load "
            "the inner model)" if ckpt.origin.startswith("PyTorch Lightning") else ""))
    if ckpt.format == "onnx":
        notes.append("ONNX keeps each layer as W, R, B in its own gate order: the torch names and shapes "
                     "below are what those tensors map onto (the rows of each are listed at the end)")
    if ckpt.reader == "inert":
        met = ", ".join(ckpt.foreign) if ckpt.foreign else "no other object"
        notes.append(f"read by rnnshape's inert reader: the pickle names {met}; each became an inert "
                     f"stand-in, and nothing in the file was called")
    if ckpt.module_class:
        where = location_text(ckpt.location) if ckpt.location else "the file"
        notes.append(f"{where} is a whole pickled module ({ckpt.module_class}): the names are its state_dict()'s")
    elif ckpt.location:
        notes.append(f"the state_dict is {location_text(ckpt.location)}; load that, not the whole file")
    if ckpt.whole_file:
        notes.append("no state_dict under a common key (state_dict, model, ...): tensors are named by "
                     "their path in the file")
    names = [e.name for e in ckpt.entries]
    for wrapper, why in _WRAPPERS:
        if names and all(n.startswith(wrapper) for n in names):
            notes.append(f"every name starts with {wrapper!r} ({why}): strip it to load into the plain model")
    return tuple(notes)
