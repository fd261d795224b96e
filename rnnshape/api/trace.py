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

from rnnshape.model import pitfalls
from rnnshape.model.trace import Trace, TraceEntry, TraceError, group, spec_for, verify
from rnnshape.model.trace_error import explain


def command(entry: TraceEntry) -> str | None:
    """The `rnnshape` command that rebuilds this module and runs it on input of the same shape."""
    from rnnshape.model.options import command_line

    return None if entry.spec is None else command_line(entry.spec)


def summarise(calls, batch: int | None = None) -> tuple[TraceEntry, ...]:
    """Raw hook records -> entries: grouped, each with its Spec, prediction, command and pitfalls."""
    from rnnshape.model.predict import predict

    out = []
    for entry in group(calls):
        spec = spec_for(entry)
        if spec is not None:
            entry = verify(replace(entry, spec=spec), predict(spec))
            entry = replace(entry, command=command(entry))
        out.append(entry)
    return pitfalls.find(tuple(out), batch)


def failure(recorder, err: BaseException) -> TraceError:
    """The user's forward raised: explained when inside a recurrent call, one line otherwise."""
    from rnnshape.run.trace import module_config
    from rnnshape.run.trace_target import location

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

    from rnnshape.errors import UsageError
    from rnnshape.run.build import resolve_device
    from rnnshape.run.trace import Recorder
    from rnnshape.run.trace_target import load, make_inputs, parse_input, run_forwards

    if calls < 1:
        raise UsageError(f"--calls must be >= 1 (got {calls})")
    if batch is not None and batch < 1:
        raise UsageError(f"--batch must be >= 1 (got {batch})")
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
        args = tuple(a.to(device) if isinstance(a, torch.Tensor) else a for a in example)
    else:
        raise UsageError(f"{target} gives a module without example inputs: say what to feed it (got no --input)",
                         hint="--input SHAPE[:DTYPE], e.g. --input 32,50:long for token ids, once per argument")
    model = model.to(device)
    if not any(isinstance(m, _recurrent()) for m in model.modules()):
        warnings.append(f"{target} has no recurrent module (RNN, LSTM, GRU or their cells): nothing to trace")
    recorder = Recorder(model)
    with contextlib.redirect_stdout(echo):
        err = run_forwards(model, args, calls=calls, train=train, recorder=recorder)
    entries = summarise(recorder.calls, batch if batch is not None else recorder.batch)
    error = failure(recorder, err) if err is not None else None
    return Trace(target, recorder.forwards, train, entries, error, torch.__version__, tuple(warnings))


def _recurrent():
    from rnnshape.run.trace import recurrent_types

    return recurrent_types()


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
    """``with rnnshape.watch(model) as t: model(x)``: ``t.calls`` holds the recurrent calls, as `trace` lists them."""

    def __init__(self, model, batch: int | None = None) -> None:
        from rnnshape.run.trace import Recorder

        self._recorder = Recorder(model)
        self._batch = batch

    def __enter__(self) -> Watch:
        self._recorder.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._recorder.__exit__(*exc)

    @property
    def calls(self) -> tuple[Entry, ...]:
        batch = self._batch if self._batch is not None else self._recorder.batch
        return tuple(Entry(**{f.name: getattr(e, f.name) for f in fields(e)})
                     for e in summarise(self._recorder.calls, batch))

    def to_dict(self) -> dict:
        """The `rnnshape trace --json` document of what was recorded."""
        from rnnshape.render.trace import trace_dict

        return trace_dict(Trace("", self._recorder.forwards, self._recorder.model.training, self.calls,
                                torch_version=_torch_version()))

    def _repr_html_(self) -> str:
        from rnnshape.render.trace import html

        return html(self.calls, _torch_version())

    def __repr__(self) -> str:
        return f"<Watch: {len(self.calls)} recurrent calls>"


def watch(model, batch: int | None = None) -> Watch:
    """Record every call of ``model``'s recurrent modules inside the ``with`` block.

    ``batch`` is your input's batch size, as ``--batch``: a module that reads it as time is flagged.
    """
    return Watch(model, batch)
