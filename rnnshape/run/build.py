"""The torch witness: build the configuration, run a dummy batch through it, observe what torch produced,
count its FLOPs on meta, and see which kernel path ran (a TorchDispatchMode watching one forward's aten ops,
counting FLOPs as FlopCounterMode does, to show when a fused kernel hides the matmuls from such a counter).

Everything torch is imported inside functions: this module must stay off the --help path.
"""

from __future__ import annotations

import warnings as pywarnings
from collections.abc import Callable
from dataclasses import dataclass

from rnnshape.errors import EnvironmentUnfit, UsageError
from rnnshape.model.enums import InitState
from rnnshape.model.naming import state_name, suffix
from rnnshape.model.report import FUSED_OPS, Kernel
from rnnshape.model.spec import Kind, Spec

SEED = 0


@dataclass(frozen=True)
class Observed:
    """What torch produced, as plain data: the second witness."""

    module_repr: str
    parameters: tuple[tuple[str, tuple[int, ...]], ...]
    inputs: tuple[tuple[str, tuple[int, ...]], ...]
    outputs: tuple[tuple[str, tuple[int, ...]], ...]
    torch_version: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Built:
    """A module on its device with its dummy inputs, ready to run."""

    module: object
    forward: Callable[[], dict]  # runs the configuration, returns {output name: tensor}
    inputs: dict


def load_torch():
    """``import torch`` with the garbage collector paused, then what it made frozen out of later collections.

    The import makes a few hundred thousand objects that live as long as the process (modules, functions, op
    overloads): the collector's passes over them during the import, and the full collections that the run's
    next allocations trigger, took 0.2-0.3 s of a 1.2 s start and freed nothing (measured with gc.callbacks,
    issue 21). ``gc.freeze()`` moves them to the permanent generation, so later collections see only the
    run's own objects; only the command line asks for it (``rnnshape.run.FREEZE_AFTER_TORCH_IMPORT``), since it
    would freeze a Python caller's objects too. The run's first touch of torch (:func:`resolve_device`) comes
    through here.
    """
    import gc
    import sys

    from rnnshape import run

    if "torch" in sys.modules:
        return sys.modules["torch"]
    enabled = gc.isenabled()
    gc.disable()
    try:
        import torch
    finally:
        if run.FREEZE_AFTER_TORCH_IMPORT:
            gc.freeze()
        if enabled:
            gc.enable()
    return torch


def resolve_device(asked: str) -> str:
    """``auto`` picks the GPU when there is one; a missing device is an environment error (exit 3)."""
    torch = load_torch()

    if asked == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if asked.startswith("cuda"):
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
            raise EnvironmentUnfit(
                f"--device {asked}: no CUDA device is available (torch {torch.__version__} is {build}); "
                f"devices here: cpu, meta",
                hint="use --device cpu, or --device meta to run without allocating memory",
            )
        count = torch.cuda.device_count()
        index = int(asked.split(":")[1]) if ":" in asked else 0
        if index >= count:
            have = ", ".join(f"cuda:{i}" for i in range(count))
            raise EnvironmentUnfit(f"--device {asked}: no such CUDA device (devices here: cpu, meta, {have})")
    return asked


def check_dtype(spec: Spec) -> None:
    import torch

    if spec.device.startswith("cuda") and spec.dtype.value == "bfloat16":
        if not torch.cuda.is_bf16_supported():
            raise UsageError(
                f"--dtype bfloat16 is not supported by {torch.cuda.get_device_name(spec.device)}",
                hint="use --dtype float16 or float32",
            )


def build(spec: Spec) -> Built:
    """Construct the modules with keyword arguments only (positional proj_size silently breaks RNN/GRU)."""
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    dtype = getattr(torch, spec.dtype.value)
    factory = {"device": spec.device, "dtype": dtype}
    mods = []
    with pywarnings.catch_warnings():
        # The spec already warns about dropout on one layer, in rnnshape's words.
        pywarnings.filterwarnings("ignore", message="dropout option adds dropout")
        for m in spec.modules():
            mods.append(getattr(nn, m.torch_class)(**m.constructor_kwargs(), **factory))
    module = mods[0] if len(mods) == 1 else nn.ModuleList(mods)
    module.eval()  # deterministic: dropout only acts in train mode
    inputs = _make_inputs(spec, mods, factory)
    return Built(module=module, forward=forward_fn(spec, mods, inputs), inputs=inputs)


def _make_inputs(spec: Spec, mods: list, factory: dict) -> dict:
    import torch

    L, N, width = spec.seq_len, spec.batch, spec.input_size
    shape = (L, width) if spec.unbatched else ((N, L, width) if spec.batch_first else (L, N, width))
    x = torch.randn(shape, **factory)
    if spec.packed:
        # Zero the padding so the tensor is what a user would hold.
        t_dim = 1 if spec.batch_first else 0
        for b, n in enumerate(spec.lengths):
            idx = [slice(None)] * 3
            idx[t_dim], idx[1 - t_dim] = slice(n, None), b
            x[tuple(idx)] = 0
    inputs = {"input": x}
    if spec.explicit_state:
        make = torch.zeros if spec.init_state is InitState.ZEROS else torch.randn
        for i, mod in enumerate(mods):
            for state, shape in _state_shapes(mod, None if spec.unbatched else spec.batch):
                inputs[state_name(state, initial=True, index=i if len(mods) > 1 else None)] = make(shape, **factory)
    return inputs


def _state_shapes(mod, batch: int | None) -> list[tuple[str, tuple[int, ...]]]:
    """h_0 (and c_0) as torch documents them, read off the built module itself (not the predictor's)."""
    batch_dims = () if batch is None else (batch,)
    if hasattr(mod, "num_layers"):  # a layer module: (D*num_layers, [N,] H_out), c_0 (.., H_cell)
        first = (mod.num_layers * (2 if mod.bidirectional else 1),)
        h_width = getattr(mod, "proj_size", 0) or mod.hidden_size
    else:  # a cell: ([N,] H)
        first, h_width = (), mod.hidden_size
    out = [("h", first + batch_dims + (h_width,))]
    if isinstance(mod, _lstm_classes()):
        out.append(("c", first + batch_dims + (mod.hidden_size,)))
    return out


def _lstm_classes() -> tuple[type, ...]:
    from torch import nn

    return (nn.LSTM, nn.LSTMCell)


def _state(inputs: dict, kind: Kind, sfx: str):
    h = inputs.get("h_0" + sfx)
    if h is None:
        return None
    return (h, inputs["c_0" + sfx]) if kind.has_cell_state else h


def forward_fn(spec: Spec, mods: list, inputs: dict) -> Callable[[], dict]:
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    sfxs = [suffix(i if len(mods) > 1 else None) for i in range(len(mods))]
    x = inputs["input"]
    lstm = spec.kind.has_cell_state

    if spec.cell:
        t_dim = 1 if spec.batch_major else 0

        def forward() -> dict:
            states = [_state(inputs, spec.kind, s) for s in sfxs]
            for xt in x.unbind(t_dim):  # the hand-written loop: one time step at a time
                inp = xt
                for i, cell in enumerate(mods):
                    states[i] = cell(inp, states[i])
                    inp = states[i][0] if lstm else states[i]
            return _finals(states, sfxs, lstm)

        return forward

    if spec.packed:
        packed = _pack(spec, x, pack_padded_sequence)
        inputs["input.data"] = packed.data

    def forward() -> dict:
        out = packed if spec.packed else x
        finals = []
        for mod, s in zip(mods, sfxs):
            out, hn = mod(out, _state(inputs, spec.kind, s))
            finals.append(hn)
        result = {}
        if spec.packed:
            padded, _ = pad_packed_sequence(out, batch_first=spec.batch_first, total_length=spec.seq_len)
            result["output"], result["output.data"] = padded, out.data
        else:
            result["output"] = out
        result.update(_finals(finals, sfxs, lstm))
        return result

    return forward


def _pack(spec: Spec, x, pack_padded_sequence):
    if spec.device != "meta":
        return pack_padded_sequence(x, list(spec.lengths), batch_first=spec.batch_first, enforce_sorted=False)
    # On meta, pad_packed_sequence cannot un-sort (it moves meta indices to the CPU), so sort the batch
    # by length here and pack it pre-sorted: every shape is the same, only the batch order differs.
    import torch

    order = sorted(range(len(spec.lengths)), key=lambda b: -spec.lengths[b])
    x = x.index_select(0 if spec.batch_first else 1, torch.tensor(order, device=x.device))
    lengths = [spec.lengths[b] for b in order]
    return pack_padded_sequence(x, lengths, batch_first=spec.batch_first, enforce_sorted=True)


def _finals(states: list, sfxs: list[str], lstm: bool) -> dict:
    out = {}
    for st, s in zip(states, sfxs):
        if lstm:
            out["h_n" + s], out["c_n" + s] = st
        else:
            out["h_n" + s] = st
    return out


def observe(spec: Spec, built: Built) -> Observed:
    """Run once under no_grad and record what torch produced.

    On one thread: shapes and the kernel path do not depend on it, and on a busy machine a first forward
    on several OpenMP threads can stall for a second (reference, section 9). Timing uses the real count.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pywarnings.catch_warnings(record=True) as caught, torch.no_grad():
            pywarnings.simplefilter("always")
            outputs = built.forward()
    finally:
        torch.set_num_threads(threads)
    seen = []
    for w in caught:
        text = str(w.message).split(" (Triggered internally")[0]
        if text not in seen:
            seen.append(text)
    inputs = [(k, tuple(v.shape)) for k, v in built.inputs.items()]
    order = {"input": 0, "input.data": 1}
    inputs.sort(key=lambda kv: order.get(kv[0], 2))
    return Observed(
        module_repr=repr(built.module),
        parameters=tuple((n, tuple(p.shape)) for n, p in built.module.named_parameters()),
        inputs=tuple(_state_order(inputs)),
        outputs=tuple(_state_order([(k, tuple(v.shape)) for k, v in outputs.items()])),
        torch_version=torch.__version__,
        warnings=tuple(seen),
    )


def _state_order(items: list) -> list:
    """Inputs/outputs in the report's order: tensors first, then states by module index, h before c."""

    def key(kv):
        name = kv[0]
        if name.startswith(("h_", "c_")):
            index = int(name.split(".")[1]) if "." in name else 0
            return (1, index, name[0] == "c")
        return (0, 0, False)

    return sorted(items, key=key)


def count_flops(spec: Spec) -> int:
    """FlopCounterMode over a meta copy: the dispatch-based count, for --check-flops.

    On meta, torch decomposes every recurrent op into per-step addmm/mm, which the counter sees. On CPU
    the fused oneDNN LSTM kernel (aten.mkldnn_rnn_layer) has no FLOP formula and reads 0; that is why
    rnnshape counts analytically and only cross-checks here.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from rnnshape.model.spec import with_device

    meta = build(with_device(spec, "meta"))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        meta.forward()
    return int(counter.get_total_flops())


# Which kernel path ran

# The fused RNN ops (FUSED_OPS) as autograd records them: the node each leaves in the graph of a forward
FUSED_NODES = {"MkldnnRnnLayerBackward0": "onednn", "CudnnRnnBackward0": "cudnn", "MiopenRnnBackward0": "miopen"}


def observe_kernel(fn: Callable[[], object]) -> Kernel:
    """Run ``fn`` once under no_grad, recording every aten op and FlopCounterMode's total."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    seen: dict[str, int] = {}
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter, _recorder(seen):
        fn()
    return Kernel(path=path_of(seen), ops=tuple(seen.items()), flop_counter_flops=int(counter.get_total_flops()))


def graph_path(fn: Callable[[], object]) -> str:
    """The path of :func:`observe_kernel` from the autograd graph of one forward (with grad): no dispatch mode,
    whose first use in a process imports torch._dynamo (seconds), so that compare can say it for every entry.
    tests/test_timing_torch.py holds it equal to observe_kernel's."""
    import torch

    with torch.enable_grad():
        result = fn()
    tensors = [t for t in (result.values() if isinstance(result, dict) else [result]) if isinstance(t, torch.Tensor)]
    seen, stack = set(), [t.grad_fn for t in tensors]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        path = FUSED_NODES.get(type(node).__name__)
        if path:
            return path
        stack.extend(n for n, _ in node.next_functions)
    return "aten"


def path_of(ops: dict[str, int] | tuple) -> str:
    """'onednn', 'cudnn' or 'miopen' when a fused RNN op ran, else 'aten' (a matmul per step).

    >>> path_of({"aten.mkldnn_rnn_layer": 8, "aten.cat": 3})
    'onednn'
    >>> path_of({"aten.addmm": 88})
    'aten'
    """
    names = [name for name, _ in (ops.items() if isinstance(ops, dict) else ops)]
    for name in names:
        path = FUSED_OPS.get(name.split(".")[-1])
        if path:
            return path
    return "aten"


def _recorder(seen: dict[str, int]):
    from torch.utils._python_dispatch import TorchDispatchMode

    class _Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = str(func.overloadpacket)
            seen[name] = seen.get(name, 0) + 1
            return func(*args, **(kwargs or {}))

    return _Recorder()
