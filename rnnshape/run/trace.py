"""Run the user's model and see every recurrent call: what each received and returned, and the few facts the
pitfalls need; and load the target (`path/file.py:NAME` or `package.module:NAME`). This runs the user's code;
torch is imported inside functions only. The recorder wraps each
recurrent module's ``forward`` on the instance, so it sees calls that skip forward hooks (``rnn.forward(x)``,
AWD-LSTM's WeightDrop); it keeps shapes, dtypes and a few numbers, never a tensor or a graph: an earlier
call's output is found again by a mark in its autograd node's metadata, which dies with the graph.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback

from rnnshape.errors import RnnshapeError, UsageError
from rnnshape.model.enums import Kind
from rnnshape.model.spec import Module
from rnnshape.model.trace import Call, Facts, Seen

_WALK = 2_000  # autograd nodes walked from a state back to the last recurrent output it carries
_KERNELS = ("lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell")
_CLASSES = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
_STRENGTH = {None: 0, "call": 1, "forward": 2, "step": 3, "backward": 4}
_PADDING_CALLS = 16  # calls per module whose input is checked for padding: a padded batch shows in the first


def recurrent_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.RNNBase, nn.RNNCellBase)


def module_config(m) -> Module:
    """The configuration of a recurrent module (a subclass too), read from its attributes."""
    from torch import nn

    if isinstance(m, nn.RNNCellBase):
        gates = m.weight_ih.shape[0] // max(m.hidden_size, 1)
        kind = {4: Kind.LSTM, 3: Kind.GRU}.get(gates, Kind.RNN)
        nonlinearity = getattr(m, "nonlinearity", "tanh") if kind is Kind.RNN else None
        # cells read bias by truthiness: LSTMCell(512, 1024, 1) (Tacotron2) has biases
        return Module(kind, True, m.input_size, m.hidden_size, bias=bool(m.bias), nonlinearity=nonlinearity)
    mode = m.mode
    kind = Kind.LSTM if mode == "LSTM" else Kind.GRU if mode == "GRU" else Kind.RNN
    nonlinearity = ("relu" if mode == "RNN_RELU" else "tanh") if kind is Kind.RNN else None
    return Module(kind, False, m.input_size, m.hidden_size, num_layers=m.num_layers,
                  bidirectional=bool(m.bidirectional), proj_size=getattr(m, "proj_size", 0), bias=bool(m.bias),
                  batch_first=bool(m.batch_first), dropout=float(m.dropout), nonlinearity=nonlinearity)


def _dtype(t) -> str:
    return str(t.dtype).removeprefix("torch.")


def seen(name: str, value) -> Seen | None:
    import torch
    from torch.nn.utils.rnn import PackedSequence

    if isinstance(value, PackedSequence):
        return Seen(name + ".data", tuple(value.data.shape), True, tuple(int(b) for b in value.batch_sizes),
                    _dtype(value.data))
    if isinstance(value, torch.Tensor):
        return Seen(name, tuple(value.shape), dtype=_dtype(value))
    return None


def describe_inputs(m, x, hx) -> tuple[Seen, ...]:
    out = [s for s in (seen("input", x),) if s is not None]
    if hx is None:
        return tuple(out)
    if isinstance(hx, (tuple, list)):
        names = ("h_0", "c_0")[: len(hx)]
        out += [s for s in (seen(n, v) for n, v in zip(names, hx)) if s is not None]
    else:
        lstm = module_config(m).kind is Kind.LSTM
        s = seen("hx" if lstm else "h_0", hx)
        out += [s] if s is not None else []
    return tuple(out)


def describe_outputs(m, output) -> tuple[Seen, ...]:
    """(output, h_n[, c_n]) of a layer module, (h_n[, c_n]) of a cell; anything else positionally."""
    cell = module_config(m).cell
    parts = list(output) if isinstance(output, tuple) else [output]
    if not cell and len(parts) == 2 and isinstance(parts[1], tuple):
        parts = [parts[0], *parts[1]]
    names = ["h_n", "c_n"] if cell else ["output", "h_n", "c_n"]
    if len(parts) > len(names):
        names = ["output"] + [f"output.{i}" for i in range(1, len(parts))]
    return tuple(s for s in (seen(n, v) for n, v in zip(names, parts)) if s is not None)


def padding(m, x) -> tuple[tuple[int, ...], bool] | None:
    """(per sequence, the steps before its trailing padding; whether the padding is all-zero) or None.

    Padding is trailing all-zero steps (two or more in the batch), or trailing runs of one repeated non-zero
    vector (an embedding without padding_idx) shared by two or more sequences, one run 2 long, of different lengths."""
    import torch

    if not isinstance(x, torch.Tensor) or x.dim() != 3 or not x.is_floating_point() or x.device.type == "meta":
        return None
    with torch.no_grad():
        v = x.transpose(0, 1) if m.batch_first else x  # (L, N, H)
        steps = v.shape[0]
        if steps < 2 or v.shape[1] < 2:
            return None
        # padding ends a sequence with a zero step or a repeated one: look at the last two steps first (cheap)
        if not bool(((v[-1] == 0).all(-1) | (v[-1] == v[-2]).all(-1)).any()):
            return None
        trailing = (v == 0).all(-1).flip(0).to(torch.int64).cumprod(0).sum(0)  # (N,)
        pad = int(trailing.sum())
        if 1 < pad < trailing.numel() * steps:  # one zero step could be dropout's doing on a small embedding
            return tuple(steps - int(t) for t in trailing), True
        if pad:
            return None  # every step zero: no data to tell
        repeats = (v[1:] == v[:-1]).all(-1).flip(0).to(torch.int64).cumprod(0).sum(0)  # run length - 1
        if int(repeats.max()) < 1:
            return None
        last = v[-1]
        ends = (last == last[int(repeats.argmax())]).all(-1)
        runs = torch.where(ends, repeats + 1, torch.zeros_like(repeats))
        if int(ends.sum()) < 2 or int(runs.min()) == int(runs.max()):
            return None
        return tuple(steps - int(r) for r in runs), False


def weights_chunked(m) -> bool | None:
    """cuDNN runs from one buffer; weights in several storages get copied on every call. None off cuDNN."""
    import torch

    weights = getattr(m, "_flat_weights", None)
    if not weights or not all(isinstance(w, torch.Tensor) for w in weights):
        return None
    if not all(w.is_cuda for w in weights) or not torch.backends.cudnn.is_acceptable(weights[0]):
        return None
    return one_storage(weights)


def one_storage(weights) -> bool:
    return len({w.untyped_storage().data_ptr() for w in weights}) == 1


def _tensors(value):
    import torch

    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, torch.Tensor):
            yield v
        elif isinstance(v, (tuple, list)):  # a PackedSequence is a tuple too
            stack.extend(v)


def _torch_forward(m) -> bool:
    """Does ``m`` run torch's own forward(input, hx)?"""
    from torch import nn

    own = type(m).forward
    return any(own is base.forward for base in (nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell))


class Recorder:
    """Every call of ``model``'s recurrent modules while entered; ``calls`` holds what they saw, in call order.
    ``kernels=True`` (`trace`; not `watch()`: a TorchFunctionMode costs on every op) also counts recurrent kernels
    run outside any module it wraps (a module built inside forward, kept in a plain list, torch.lstm called)."""

    def __init__(self, model, *, kernels: bool = False) -> None:
        self.model = model
        self.calls: list[Call] = []
        self.forward = 0
        self.open: list[tuple[str, object, tuple[Seen, ...], Facts]] = []  # calls entered, not yet returned
        self.lengths: set[int] = set()  # sizes of 1-D integer arguments of the model's forward
        self.unseen_kernels: dict[str, int] = {}
        self._started, self._depth, self._kernels, self._mode = False, 0, kernels, None
        self._key = f"rnnshape-{id(self)}"
        self._by_call: list[tuple[str, int, int, str | None]] = []  # per call: path, forward, step, carried
        self._backwarded: set[int] = set()  # calls a backward() went through
        self._steps = 0  # optimizer steps taken while entered
        self._patched: list[tuple[object, object]] = []
        self._handles: list = []
        self._configs: dict[int, Module] = {}  # per module object: its configuration, read once
        self._checked: dict[str, int] = {}  # per path: inputs checked for padding so far

    @property
    def forwards(self) -> int:
        """Forward calls of the model begun so far."""
        return self.forward + 1 if self._started else 0

    def __enter__(self) -> Recorder:
        import torch
        from torch.optim.optimizer import register_optimizer_step_post_hook

        kinds = recurrent_types()
        for path, m in self.model.named_modules():
            if (isinstance(m, kinds) or m is self.model) and not isinstance(m, torch.jit.ScriptModule):
                self._wrap(path, m, isinstance(m, kinds), m is self.model)
        self._handles.append(register_optimizer_step_post_hook(self._stepped))
        if self._kernels:
            self._mode = _kernel_counter(self)
            self._mode.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._mode is not None:
            self._mode.__exit__(None, None, None)
            self._mode = None
        for m, before in reversed(self._patched):
            if before is None:
                m.__dict__.pop("forward", None)
            else:
                m.__dict__["forward"] = before
        self._patched.clear()
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _stepped(self, *_) -> None:
        self._steps += 1

    def _wrap(self, path: str, m, recurrent: bool, top: bool) -> None:
        self._patched.append((m, m.__dict__.get("forward")))
        m.__dict__["forward"] = _Forward(self, path, m, m.forward, recurrent, top)  # m(x) and m.forward(x) land here

    def _begin(self, args) -> None:
        import torch

        if self._depth:
            return
        if self._started:
            self.forward += 1
        self._started = True
        self.lengths |= {int(a.shape[0]) for a in args
                         if isinstance(a, torch.Tensor) and a.dim() == 1 and not a.is_floating_point()}

    def _record(self, path: str, m, bound, args, kwargs):
        x = args[0] if args else kwargs.get("input")
        # a subclass with its own forward may take other arguments second (lengths ...): only hx= counts
        hx = args[1] if len(args) > 1 and _torch_forward(m) else kwargs.get("hx")
        inputs = describe_inputs(m, x, hx)
        try:
            facts = self._facts(path, m, x, hx, inputs)
        except Exception:  # a fact we cannot read must never break the user's call
            facts = Facts()
        self.open.append((path, m, inputs, facts))
        output = bound(*args, **kwargs)  # when it raises, the record stays open for the explanation
        self.open.pop()
        k = len(self.calls)
        self._by_call.append((path, self.forward, self._steps, facts.carried))
        self._mark(output, k)
        config = self._configs.get(id(m)) or self._configs.setdefault(id(m), module_config(m))
        self.calls.append(Call(path, type(m).__name__, config, self.forward, inputs,
                               describe_outputs(m, output), facts, m.training, self._steps))
        return output

    def _facts(self, path: str, m, x, hx, inputs) -> Facts:
        import torch

        carried, source = self._carried(hx)
        found = None
        if not isinstance(m, torch.nn.RNNCellBase) and self._checked.get(path, 0) < _PADDING_CALLS:
            self._checked[path] = self._checked.get(path, 0) + 1
            found = padding(m, x)
        storage, from_own = None, False
        one_step = isinstance(m, torch.nn.RNNCellBase) or (
            isinstance(x, torch.Tensor) and x.dim() == 3 and x.shape[1 if m.batch_first else 0] == 1)
        if hx is None and one_step and isinstance(x, torch.Tensor):
            if x._is_view():
                storage = x.untyped_storage().data_ptr()
            from_own = any(self._by_call[k][:2] == (path, self.forward) for k in self._reach(x))
        return Facts(carried=carried, carried_from=source, real_lengths=found[0] if found else None,
                     pad_zero=found[1] if found else True, weights_chunked=weights_chunked(m),
                     weight_dtype=next((_dtype(p) for p in m.parameters()), "float32"), input_storage=storage,
                     input_from_own=from_own)

    def _carried(self, hx) -> tuple[str | None, str | None]:
        """How far back the state's graph reaches: the strongest boundary between it and the recurrent
        outputs it carries (a call's own `carried` is inherited, so the walk stops at the last output)."""
        best, source = None, None
        for k in self._reach(hx):
            path, forward, step, inherited = self._by_call[k]
            here = ("backward" if k in self._backwarded else "step" if step < self._steps
                    else "forward" if forward < self.forward else "call")
            for kind in (here, inherited):
                if _STRENGTH[kind] > _STRENGTH[best]:
                    best, source = kind, path
        return best, source

    def _reach(self, value) -> list[int]:
        """The calls whose outputs ``value`` reaches through autograd, nearest first (none without grad)."""
        if value is None:
            return []
        todo = [t.grad_fn for t in _tensors(value) if t.grad_fn is not None]
        visited: set = set()
        found = []
        while todo and len(visited) < _WALK:
            node = todo.pop()
            if node is None or node in visited:
                continue
            visited.add(node)
            k = node.metadata.get(self._key)
            if k is not None:
                found.append(k)
                continue
            todo.extend(n for n, _ in node.next_functions)
        return found

    def _mark(self, output, k: int) -> None:
        """Tag the outputs' autograd nodes with this call's number (the tag lives and dies with the graph)."""
        done = self._backwarded
        for t in _tensors(output):
            node = t.grad_fn
            if node is None or self._key in node.metadata:
                continue
            node.metadata[self._key] = k
            node.register_hook(lambda grad_in, grad_out, k=k: done.add(k))


class _Forward:
    """The wrapper put on a module instance's ``forward``. A deep copy of the module (an EMA, a snapshot) or a
    pickled one (torch.save(model)) gets the class's own forward back, never this recorder."""

    def __init__(self, recorder: Recorder, path: str, module, bound, recurrent: bool, top: bool) -> None:
        self.recorder, self.path, self.module, self.bound, self.recurrent, self.top = (
            recorder, path, module, bound, recurrent, top)

    def __call__(self, *args, **kwargs):
        rec = self.recorder
        if self.top:
            rec._begin(args)
            rec._depth += 1
        try:
            if self.recurrent:
                return rec._record(self.path, self.module, self.bound, args, kwargs)
            return self.bound(*args, **kwargs)
        finally:
            if self.top:
                rec._depth -= 1

    def __deepcopy__(self, memo):
        copied = memo.get(id(self.module))
        return _plain_forward(copied) if copied is not None else self

    def __reduce__(self):
        return _plain_forward, (self.module,)


def _plain_forward(module):
    return type(module).forward.__get__(module)


def _kernel_counter(recorder: Recorder):
    """A TorchFunctionMode that counts recurrent kernels run while no wrapped module call is open."""
    from torch.overrides import TorchFunctionMode

    class Kernels(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            if name in _KERNELS and not recorder.open:
                recorder.unseen_kernels[name] = recorder.unseen_kernels.get(name, 0) + 1
            return func(*args, **(kwargs or {}))

    return Kernels()


# -- the target: load it, make its inputs, run it ------------------------------------------------------------

class UserCodeError(RnnshapeError):
    """The user's own code raised while rnnshape imported or built it (exit 1)."""


def to_device(args: tuple, device: str) -> tuple:
    """The example arguments on ``device``, tuples and lists (an (h, c) state) too; a lengths vector (a 1-D
    integer tensor as long as another argument's batch) stays on the CPU, where pack_padded_sequence wants it."""
    import torch

    big = [a for a in _tensors(args) if a.dim() >= 2]

    def lengths(a) -> bool:
        return (a.dim() == 1 and not a.is_floating_point() and a.numel() > 0
                and any(a.shape[0] in b.shape[:2] and int(a.max()) <= max(b.shape[:2]) for b in big))

    def move(v):
        if isinstance(v, torch.Tensor):
            return v if lengths(v) else v.to(device)
        if isinstance(v, (tuple, list)) and not hasattr(v, "_fields"):
            return type(v)(move(x) for x in v)
        return v

    return tuple(move(a) for a in args)


def _load_object(target: str):
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise UsageError(f"TARGET must be path/to/file.py:NAME or package.module:NAME (got {target!r})",
                         hint="for example rnnshape trace models.py:Seq2Seq --input 4,7:long")
    if where.endswith(".py") or os.sep in where or "/" in where:
        if not os.path.isfile(where):
            raise UsageError(f"TARGET file does not exist (got {where!r})")
        folder = os.path.dirname(os.path.abspath(where))
        if folder not in sys.path:
            sys.path.insert(0, folder)  # so the file's own sibling imports work
        mod_name = "_rnnshape_target_" + os.path.splitext(os.path.basename(where))[0]
        spec = importlib.util.spec_from_file_location(mod_name, where)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        _user(lambda: spec.loader.exec_module(module), f"importing {where}")
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = _user(lambda: importlib.import_module(where), f"importing {where}")
        except UserCodeError as err:
            if isinstance(err.__cause__, ModuleNotFoundError) and err.__cause__.name == where.split(".")[0]:
                raise UsageError(f"TARGET names a module Python cannot find (got {where!r})",
                                 hint="give a file path (path/to/file.py:NAME) or run from the project root") from None
            raise
    if not hasattr(module, name):
        import torch.nn as nn

        found = [n for n, v in vars(module).items() if not n.startswith("_") and (
            (inspect.isclass(v) and issubclass(v, nn.Module) and v.__module__ == module.__name__)
            or inspect.isfunction(v) and v.__module__ == module.__name__)]
        raise UsageError(f"TARGET names nothing called {name} in {where} (got {target!r})",
                         hint=f"it defines {', '.join(found)}" if found else f"{where} defines no module or function")
    return getattr(module, name)


def load(target: str):
    """(model, example args or None): NAME is a Module class, or a function returning a module or
    (module, example_args)."""
    from torch import nn

    obj = _load_object(target)
    _no_arguments_needed(obj, target)
    if inspect.isclass(obj) and issubclass(obj, nn.Module):
        built = _user(obj, f"building {target}")
    elif callable(obj):
        built = _user(obj, f"calling {target}")
    else:
        raise UsageError(f"TARGET must name an nn.Module subclass or a function (got {type(obj).__name__})")
    args = None
    if isinstance(built, tuple) and len(built) == 2 and isinstance(built[0], nn.Module):
        built, args = built
        args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    if not isinstance(built, nn.Module):
        raise UsageError(f"TARGET must give an nn.Module or (module, example_args) (got {type(built).__name__})",
                         hint="return the model, or (model, example_input)")
    return built, args


def _no_arguments_needed(obj, target: str) -> None:
    """rnnshape calls NAME with no arguments: one it cannot call so is a usage error, said before running it."""
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return
    needed = [p.name for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                                            p.KEYWORD_ONLY)]
    if needed:
        raise UsageError(f"TARGET must be callable with no arguments, but {target} needs {', '.join(needed)}",
                         hint="point TARGET at a function that builds the model (and example inputs) and returns it")


def _user(fn, doing: str):
    try:
        return fn()
    except (Exception, SystemExit) as err:  # SystemExit: a script's parse_args() at import would end rnnshape mutely
        said = f"raised {type(err).__name__}: {err}" if isinstance(err, Exception) else f"called sys.exit({err.code!r})"
        raise UserCodeError(f"{doing} {said}", hint=location(err) if isinstance(err, Exception) else (location(err) or
                            "in your code") + ": keep its argument parsing under if __name__ == '__main__':") from err


def location(err: BaseException) -> str | None:
    """'at models.py:23 in forward': the innermost frame of the user's code (not torch's, not rnnshape's)."""
    frames = traceback.extract_tb(err.__traceback__)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    torch_dir = os.sep + "torch" + os.sep
    mine = [f for f in frames if not f.filename.startswith(here) and torch_dir not in f.filename and "importlib" not in
            f.filename and (not f.filename.startswith(os.path.dirname(os.__file__)) or "-packages" in f.filename)]
    if not mine:
        return None
    f = mine[-1]
    return f"at {os.path.relpath(f.filename)}:{f.lineno} in {f.name}"


def run_forwards(model, args: tuple, *, calls: int, train: bool, recorder) -> BaseException | None:
    """Run ``model(*args)`` ``calls`` times under ``recorder``; the exception the user's code raised, if any."""
    model.train(train)
    try:
        with recorder:
            for _ in range(calls):
                model(*args)
    except Exception as err:  # the user's forward failed: the caller explains it
        return err
    return None
