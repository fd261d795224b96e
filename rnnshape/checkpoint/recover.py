"""Recover recurrent modules' configurations from a checkpoint's (name, shape) list. Pure Python, no torch.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rnnshape.checkpoint.entries import Entry
from rnnshape.errors import UsageError
from rnnshape.model.predict import predict
from rnnshape.model.report import Prediction
from rnnshape.model.spec import Dtype, Kind, Module, Spec, make_spec
from rnnshape.views.code import constructor as constructor_line

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
    >>> hyperparameters(loads(pickle.dumps({"model": {}, "opt": argparse.Namespace(lr=0.1, rnn_size=500, enc_layers=2)})))
    (("checkpoint['opt']", (('rnn_size', 500), ('enc_layers', 2), ('lr', 0.1))),)
    """
    from rnnshape.checkpoint.walk import mapping

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
    from rnnshape.checkpoint.walk import mapping

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
