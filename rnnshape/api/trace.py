"""Trace your own model: every recurrent call, its shapes, and the bugs torch stays silent about.

>>> import torch
>>> from torch import nn
>>> import rnnshape
>>> model = nn.Sequential(nn.Linear(4, 8), nn.GRU(8, 16))
>>> with rnnshape.watch(model) as t:
...     _ = model(torch.randn(7, 3, 4))
>>> [(c.path, c.count, c.command) for c in t.calls]
[('1', 1, 'rnnshape gru --input-size 8 --hidden-size 16 --seq-len 7 --batch 3')]
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, fields, replace

from rnnshape.errors import UsageError
from rnnshape.model.enums import Dtype, InitState
from rnnshape.model.report import Prediction
from rnnshape.model.spec import Spec, make_spec
from rnnshape.model.trace import Trace, TraceEntry, TraceError, _by_name, _input, explain, find, group

# -- the Spec each call rebuilds, and the predictor's check ---------------------------------------------------


def lengths_from_batch_sizes(batch_sizes: tuple[int, ...]) -> tuple[int, ...]:
    """A PackedSequence's lengths, longest first: sequence i runs while batch_sizes[t] > i."""
    return tuple(sum(1 for b in batch_sizes if b > i) for i in range(batch_sizes[0])) if batch_sizes else ()


def spec_for(entry: TraceEntry) -> Spec | None:
    """The configuration that rebuilds this module and its input, or None when no Spec describes the call."""
    m = entry.module
    ins = _by_name(entry.inputs)
    x = _input(entry.inputs)
    if x is None:
        return None
    state = InitState.ZEROS if ("h_0" in ins or "c_0" in ins) else InitState.NONE
    dtype = x.dtype if x.dtype in {d.value for d in Dtype} else Dtype.FLOAT32.value
    common = dict(input_size=m.input_size, hidden_size=m.hidden_size, bias=bool(m.bias),
                  nonlinearity=m.nonlinearity, init_state=state, dtype=dtype)
    try:
        if m.cell:
            if len(x.shape) not in (1, 2):
                return None
            per_forward = max(entry.count // max(entry.forwards, 1), 1)
            batch = x.shape[0] if len(x.shape) == 2 else None
            return make_spec(m.kind, cell=True, seq_len=per_forward, batch=batch, unbatched=batch is None, **common)
        layer = dict(num_layers=m.num_layers, bidirectional=m.bidirectional, proj_size=m.proj_size,
                     batch_first=m.batch_first, dropout=m.dropout, **common)
        if x.packed:
            lengths = lengths_from_batch_sizes(x.batch_sizes or ())
            return make_spec(m.kind, lengths=lengths, seq_len=max(lengths), **layer)
        if len(x.shape) == 2:
            return make_spec(m.kind, seq_len=x.shape[0], unbatched=True, **layer)
        if len(x.shape) != 3:
            return None
        seq_len, batch = (x.shape[1], x.shape[0]) if m.batch_first else (x.shape[0], x.shape[1])
        return make_spec(m.kind, seq_len=seq_len, batch=batch, **layer)
    except UsageError:
        return None


def verify(entry: TraceEntry, prediction: Prediction) -> TraceEntry:
    """Dims from the prediction on every tensor torch produced; a shape that differs is said, not shown."""
    table = {t.name: (t.shape, t.dims) for t in prediction.inputs + prediction.outputs}
    if entry.module.cell and "input" in table:
        shape, dims = table["input"]
        table["input"] = (shape[1:], dims[1:])  # the spec's (L, N, H_in) minus the loop's time axis
    seen = []
    for s in entry.inputs + entry.outputs:
        if s.name not in table:
            seen.append(s)
            continue
        shape, dims = table[s.name]
        if shape != s.shape:
            return replace(entry, mismatch=f"torch gave {s.name} {s.shape}, where rnnshape predicts {shape} "
                                           f"for this configuration: a bug in rnnshape, please report it")
        seen.append(replace(s, dims=dims))
    n = len(entry.inputs)
    return replace(entry, inputs=tuple(seen[:n]), outputs=tuple(seen[n:]), prediction=prediction)


# -- the inputs rnnshape makes for --input -----------------------------------------------------------------

_FLOATS = {"float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
           "float16": "float16", "half": "float16", "bfloat16": "bfloat16"}
_INTS = {"long": "int64", "int64": "int64", "int": "int32", "int32": "int32", "int16": "int16", "int8": "int8",
         "uint8": "uint8", "bool": "bool"}


@dataclass(frozen=True)
class InputSpec:
    shape: tuple[int, ...]
    dtype: str = "float32"


def parse_input(text: str) -> InputSpec:
    """``32,50:long`` -> InputSpec((32, 50), 'int64')."""
    shape_text, _, dtype = text.partition(":")
    dtype = dtype.strip().lower() or "float32"
    if dtype not in _FLOATS and dtype not in _INTS:
        raise UsageError(field="inputs", rule="dtype must be one of " + ", ".join(sorted({**_FLOATS, **_INTS})),
                         value=dtype, hint="for example '32,50:long' as {inputs}")
    try:
        shape = tuple(int(p) for p in shape_text.split(","))
    except ValueError:
        raise UsageError(field="inputs", rule="must be a comma-separated shape with an optional :dtype", value=text,
                         hint="for example '32,50:long' or '7,4,16' as {inputs}") from None
    if any(d < 0 for d in shape):
        raise UsageError(field="inputs", rule="dimensions must be >= 0", value=text)
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


def command(entry: TraceEntry) -> str | None:
    """The `rnnshape` command that rebuilds this module and runs it on input of the same shape (the one
    spec-to-command writer, rnnshape.model.options.command_line)."""
    from rnnshape.model.options import command_line

    return None if entry.spec is None else command_line(entry.spec)


def summarise(calls, batch: int | None = None, *, steps_are_forwards: bool = True,
              lengths: tuple[int, ...] = ()) -> tuple[TraceEntry, ...]:
    """Raw call records -> entries: grouped, each with its Spec, prediction, command and pitfalls."""
    from rnnshape.model.predict import predict

    out = []
    for entry in group(calls):
        spec = spec_for(entry)
        if spec is not None:
            entry = verify(replace(entry, spec=spec), predict(spec))
            entry = replace(entry, command=command(entry))
        out.append(entry)
    return find(tuple(out), batch, steps_are_forwards=steps_are_forwards, lengths=lengths)


def failure(recorder, err: BaseException) -> TraceError:
    """The user's forward raised: explained when inside a recurrent call, one line otherwise."""
    from rnnshape.run.trace import location, module_config

    said = f"{type(err).__name__}: {err}".splitlines()[0]
    where = location(err)
    inside = [rec for rec in recorder.open if _passed_through(err, rec[1])]
    if inside:
        path, m, inputs, facts = inside[-1]
        found = explain(path, type(m).__name__, module_config(m), inputs, said, facts.weight_dtype)
        return replace(found, location=where)
    return TraceError(f"the model's forward raised {said}" + (f" ({where})" if where else ""), None, None, said,
                      where)


def _passed_through(err: BaseException, module) -> bool:
    """Did ``err`` propagate out of ``module``'s call? (A call whose error the user caught stays open.)"""
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_locals.get("self") is module:
            return True
        tb = tb.tb_next
    return False


def trace(target: str, inputs=(), *, calls: int = 1, train: bool = False, batch: int | None = None,
          device: str = "cpu", echo=None) -> Trace:
    """Import and run ``target`` (`file.py:NAME` or `package.module:NAME`): the recurrent calls inside it.

    ``inputs`` are InputSpec or ``"32,50:long"`` strings; without them NAME must return (module, example_args).
    What the user's code prints goes to ``echo`` (a text stream; default: stderr), never where the result goes.
    """
    import torch

    from rnnshape.errors import UsageError, escape
    from rnnshape.model.spec import DEVICE
    from rnnshape.run.build import resolve_device
    from rnnshape.run.trace import Recorder, load, run_forwards, to_device

    if calls < 1:
        raise UsageError(field="calls", rule="must be >= 1", value=calls)
    if batch is not None and batch < 1:
        raise UsageError(field="batch", rule="must be >= 1", value=batch)
    if not isinstance(device, str) or not DEVICE.match(device):  # the kinds' rule: torch's own error is no usage error
        raise UsageError(field="device", rule="must be auto, cpu, cuda, cuda:N or meta", got=escape(repr(device)))
    specs = [parse_input(s) if isinstance(s, str) else s for s in inputs]
    device = resolve_device(device)
    echo = echo if echo is not None else sys.stderr
    with contextlib.redirect_stdout(echo):  # the user's prints must not mix with the result (--json)
        model, example = load(target)
    warnings = []
    if specs:
        if example is not None:
            warnings.append(f"--input replaces the example inputs {target} returns")
        args = make_inputs(specs, device)
    elif example is not None:
        args = to_device(example, device)
    else:
        raise UsageError(field="inputs", message=escape(target) + " gives a module without example inputs: say what "
                         "to feed it (got no {inputs})", hint="give {inputs}: a SHAPE[:DTYPE] per argument, e.g. "
                         "'32,50:long' for token ids")
    model = model.to(device)
    recorder = Recorder(model, kernels=True)
    with contextlib.redirect_stdout(echo):
        err = run_forwards(model, args, calls=calls, train=train, recorder=recorder)
    entries = summarise(recorder.calls, batch, lengths=tuple(sorted(recorder.lengths)))
    error = failure(recorder, err) if err is not None else None
    unseen = tuple(blind_spots(model, recorder))
    if not entries and error is None:
        warnings.append(nothing_seen(model, unseen))
    return Trace(target, recorder.forwards, train, entries, error, torch.__version__, tuple(warnings), unseen)


def blind_spots(model, recorder) -> list[str]:
    """What rnnshape knows it could not see: scripted recurrent modules, kernels run outside any module."""
    out = scripted(model)
    if recorder.unseen_kernels:
        ran = ", ".join(f"{name} × {n}" for name, n in sorted(recorder.unseen_kernels.items()))
        out.append(f"torch's recurrent kernels ran outside any module rnnshape could wrap ({ran}): a module built "
                   f"inside forward, kept in a plain Python list instead of nn.ModuleList, or torch's functions "
                   f"called directly")
    return out


def scripted(model) -> list[str]:
    """Recurrent modules inside torch.jit-scripted or traced code, where no Python wrapper can see a call."""
    import torch

    from rnnshape.run.trace import _CLASSES, _KERNELS

    out = []
    for path, m in model.named_modules():
        if not isinstance(m, torch.jit.ScriptModule):
            continue
        name = getattr(m, "original_name", type(m).__name__)
        try:
            code = m.code if name not in _CLASSES else ""
        except Exception:
            code = ""
        if name in _CLASSES or any(f"{k}(" in code for k in _KERNELS):
            out.append(f"{path or '(the model)'} ({name}) is torch.jit code: its recurrent calls run inside "
                       f"TorchScript, where rnnshape cannot see them")
    return out


def nothing_seen(model, unseen) -> str:
    """Why no recurrent call may have been seen, rather than "none was called"."""
    from rnnshape.run.trace import recurrent_types

    if unseen:
        return "no recurrent call that rnnshape can see: " + "; ".join(unseen)
    if not any(isinstance(m, recurrent_types()) for m in model.modules()):
        return ("the model has no nn.RNN, nn.LSTM, nn.GRU or cell among its submodules: nothing to trace (a "
                "recurrence written with nn.Linear, or a third-party layer such as QRNN, is not one of them)")
    return ("none of the model's recurrent modules ran in this forward (a branch not taken, or a module built "
            "but unused)")


@dataclass(frozen=True, repr=False)
class Entry(TraceEntry):
    """One entry of ``watch(...).calls``: the JSON's data, and the terminal's tables in a notebook."""

    def to_dict(self) -> dict:
        from rnnshape.render.trace import entry_dict

        return entry_dict(self)

    def __rich__(self):
        from rnnshape.render.trace import entry_view

        return entry_view(self, _torch_version())

    def _repr_html_(self) -> str:
        from rnnshape.render.trace import html

        return html((self,), _torch_version())

    def __repr__(self) -> str:
        codes = ", ".join(p.code for p in self.pitfalls)
        return f"<Call {self.path or '(the model)'} · {self.cls} × {self.count}" + (f" · {codes}>" if codes else ">")


def _torch_version() -> str | None:
    return getattr(sys.modules.get("torch"), "__version__", None)


class Watch:
    """``with rnnshape.watch(model) as t: model(x)``: ``t.calls`` holds the recurrent calls, as `trace` lists them.

    It keeps shapes, dtypes and the few numbers the pitfalls need, never a tensor or a graph. When a recurrent
    call fails inside the block, ``t.error`` explains it and the explanation is added to the exception's notes.
    """

    def __init__(self, model, batch: int | None = None) -> None:
        from rnnshape.run.trace import Recorder

        self._recorder = Recorder(model)
        self._batch = batch
        self.error: TraceError | None = None

    def __enter__(self) -> Watch:
        self._recorder.__enter__()
        return self

    def __exit__(self, kind, err, tb) -> None:
        self._recorder.__exit__(kind, err, tb)
        if isinstance(err, Exception) and self._recorder.open:
            self.error = failure(self._recorder, err)
            self._recorder.open.clear()
            if self.error.path is not None and hasattr(err, "add_note"):
                hint = f"\nhint: {self.error.hint}" if self.error.hint else ""
                err.add_note(f"rnnshape: {self.error.message}{hint}")

    @property
    def calls(self) -> tuple[Entry, ...]:
        r = self._recorder
        return tuple(Entry(**{f.name: getattr(e, f.name) for f in fields(e)})
                     for e in summarise(r.calls, self._batch, steps_are_forwards=False,
                                        lengths=tuple(sorted(r.lengths))))

    def to_dict(self) -> dict:
        """The `rnnshape trace --json` document of what was recorded."""
        from rnnshape.render.trace import trace_dict

        return trace_dict(Trace("", self._recorder.forwards, self._recorder.model.training, self.calls,
                                self.error, torch_version=_torch_version()))

    def _repr_html_(self) -> str:
        from rnnshape.render.trace import html

        return html(self.calls, _torch_version())

    def __repr__(self) -> str:
        calls = self.calls  # one entry per module and signature; a cell looped T times is one entry of count T
        modules = len({c.path for c in calls})
        n = sum(c.count for c in calls)
        return f"<Watch: {n} recurrent call{'s' * (n != 1)} in {modules} module{'s' * (modules != 1)}>"


def watch(model, batch: int | None = None) -> Watch:
    """Record every call of ``model``'s recurrent modules inside the ``with`` block (``module(x)`` and
    ``module.forward(x)`` alike).

    ``batch`` is your input's batch size, as ``--batch``: a module that reads it as time is flagged. In a
    watched loop a state carried with its graph across a ``backward()`` or an optimizer step is flagged; one
    carried between calls within a step (BPTT, a per-token decoder) is not.
    """
    import torch

    from rnnshape.errors import UsageError, UsageTypeError, escape

    if not isinstance(model, torch.nn.Module):
        raise UsageTypeError(field="model", rule="must be a torch.nn.Module", got=escape(_short(model)),
                             hint="watch the model you call: with rnnshape.watch(model) as t: model(x)")
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int)):
        raise UsageTypeError(field="batch", rule="must be an integer", value=batch)
    if batch is not None and batch < 1:
        raise UsageError(field="batch", rule="must be >= 1", value=batch,
                         hint="your input's batch size, or leave it out")
    return Watch(model, batch)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
