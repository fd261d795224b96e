"""Forward hooks on every recurrent module of a user's model: what each call received and returned.

torch is imported inside functions only. The hooks never change a call: they read shapes, and the
facts the pitfalls need (autograd history of a passed state, trailing zero steps, the weights' storage).
A call that raises leaves its record open, so the failure can be explained with the inputs it got.
"""

from __future__ import annotations

from rnnshape.model.enums import Kind
from rnnshape.model.spec import Module
from rnnshape.model.trace import Call, Facts, Seen

_GRAPH_LIMIT = 50_000  # autograd nodes walked per state tensor when looking for an earlier forward's output


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
        return Module(kind, True, m.input_size, m.hidden_size, bias=m.bias, nonlinearity=nonlinearity)
    mode = m.mode
    kind = Kind.LSTM if mode == "LSTM" else Kind.GRU if mode == "GRU" else Kind.RNN
    nonlinearity = ("relu" if mode == "RNN_RELU" else "tanh") if kind is Kind.RNN else None
    return Module(kind, False, m.input_size, m.hidden_size, num_layers=m.num_layers,
                  bidirectional=m.bidirectional, proj_size=getattr(m, "proj_size", 0), bias=m.bias,
                  batch_first=m.batch_first, dropout=float(m.dropout), nonlinearity=nonlinearity)


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


def real_lengths(m, x) -> tuple[int, ...] | None:
    """Per sequence, the steps before its trailing all-zero steps; None unless some (not all) are padding."""
    import torch

    if not isinstance(x, torch.Tensor) or x.dim() != 3 or not x.is_floating_point() or x.device.type == "meta":
        return None
    with torch.no_grad():
        zero = (x == 0).all(dim=-1)  # (L, N), or (N, L) batch-first
        if m.batch_first:
            zero = zero.transpose(0, 1)
        trailing = zero.flip(0).to(torch.int64).cumprod(0).sum(0)  # (N,)
        steps = zero.shape[0]
        pad = int(trailing.sum())
        if pad == 0 or pad == zero.numel():
            return None
        return tuple(steps - int(t) for t in trailing)


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


def batch_guess(first) -> int | None:
    """Token ids (N, L) from a DataLoader put the batch first; any other input's batch is not guessed."""
    import torch

    if isinstance(first, torch.Tensor) and first.dim() == 2 and not first.is_floating_point():
        return int(first.shape[0])
    return None


class Recorder:
    """Hooks on ``model``'s recurrent modules; ``calls`` holds what they saw, in call order."""

    def __init__(self, model) -> None:
        self.model = model
        self.calls: list[Call] = []
        self.forward = 0
        self.open: list[tuple[str, object, tuple[Seen, ...], Facts]] = []  # calls entered, not yet returned
        self._started = False
        self.batch: int | None = None  # the batch of the first input, when it is token ids (batch_guess)
        self._earlier: set = set()  # grad_fn nodes of recurrent outputs from forwards before this one
        self._current: set = set()
        self._clean: set = set()  # nodes already walked without reaching an earlier forward (graphs only grow)
        self._handles: list = []

    @property
    def forwards(self) -> int:
        """Forward calls of the model begun so far."""
        return self.forward + 1 if self._started else 0

    def __enter__(self) -> Recorder:
        kinds = recurrent_types()
        self._handles.append(self.model.register_forward_pre_hook(self._begin, prepend=True))
        for path, m in self.model.named_modules():
            if isinstance(m, kinds):
                self._handles.append(m.register_forward_pre_hook(self._pre(path), with_kwargs=True))
                self._handles.append(m.register_forward_hook(self._post(path), with_kwargs=True))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _begin(self, module, args) -> None:
        import torch

        if not self._started:
            first = next((a for a in args if isinstance(a, torch.Tensor)), None)
            self.batch = batch_guess(first)
        if self._started:
            self.forward += 1
            self._earlier |= self._current
            self._current = set()
        self._started = True

    def _pre(self, path: str):
        def hook(m, args, kwargs):
            x = args[0] if args else kwargs.get("input")
            # a subclass with its own forward may take other arguments second (lengths ...): only hx= counts
            hx = args[1] if len(args) > 1 and _torch_forward(m) else kwargs.get("hx")
            try:
                facts = Facts(state_history=self._from_earlier(hx), real_lengths=real_lengths(m, x),
                              weights_chunked=weights_chunked(m), weight_dtype=_weight_dtype(m))
            except Exception:  # a fact we cannot read must never break the user's call
                facts = Facts()
            self.open.append((path, m, describe_inputs(m, x, hx), facts))
        return hook

    def _post(self, path: str):
        def hook(m, args, kwargs, output):
            _, _, inputs, facts = self.open.pop()
            self._remember(output)
            self.calls.append(Call(path, type(m).__name__, module_config(m), self.forward, inputs,
                                   describe_outputs(m, output), facts, m.training))
        return hook

    def _remember(self, output) -> None:
        import torch

        stack = [output]
        while stack:
            v = stack.pop()
            if isinstance(v, torch.Tensor):
                if v.grad_fn is not None:
                    self._current.add(v.grad_fn)
            elif isinstance(v, (tuple, list)):  # a PackedSequence is a tuple too
                stack.extend(v)

    def _from_earlier(self, hx) -> bool:
        """Does this state reach, through autograd, an output of a recurrent call of an earlier forward?"""
        import torch

        if not self._earlier or hx is None:
            return False
        states = list(hx) if isinstance(hx, (tuple, list)) else [hx]
        todo = [s.grad_fn for s in states if isinstance(s, torch.Tensor) and s.grad_fn is not None]
        visited: set = set()
        while todo and len(visited) < _GRAPH_LIMIT:
            node = todo.pop()
            if node is None or node in visited or node in self._clean:
                continue
            if node in self._earlier:
                return True
            visited.add(node)
            todo.extend(n for n, _ in node.next_functions)
        if not todo:
            self._clean |= visited
        return False


def _torch_forward(m) -> bool:
    """Does ``m`` run torch's own forward(input, hx)?"""
    from torch import nn

    own = type(m).forward
    return any(own is base.forward for base in (nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell))


def _weight_dtype(m) -> str:
    p = next(iter(m.parameters()), None)
    return _dtype(p) if p is not None else "float32"
