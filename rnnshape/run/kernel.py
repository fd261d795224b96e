"""Which kernel path ran: watch one forward's aten ops with a TorchDispatchMode, and count its FLOPs
the way FlopCounterMode does, to show when a fused kernel hides the matmuls from such a counter.
torch is imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Callable

from rnnshape.model.report import Kernel

# The fused RNN ops, by the path they belong to; none has a FlopCounterMode formula.
FUSED = {"mkldnn_rnn_layer": "onednn", "_cudnn_rnn": "cudnn", "miopen_rnn": "miopen"}
# The same ops as autograd records them (the node each leaves in the graph of a forward)
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
    tests/test_compare_cli.py holds it equal to observe_kernel's."""
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
        path = FUSED.get(name.split(".")[-1])
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
