"""The onnxruntime variant of --deploy: export with torch.onnx, run with ONNX Runtime, read the weights back.

torch, onnx and onnxruntime are imported inside functions: they are optional (the `deploy` extra) and slow.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings as pywarnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from rnnshape.errors import one_line
from rnnshape.model.deploy import EXTRA_HINT, ONNX_OP, OnnxInput, OnnxNode, OnnxView, gate_blocks, onnx_row_order
from rnnshape.model.naming import param_name
from rnnshape.model.spec import Spec

OPSET = 18  # torch.onnx's default for the dynamo exporter in torch 2.9+


class Unsupported(Exception):
    """A variant that cannot run here; the message is the row's one-sentence reason."""


@dataclass(frozen=True)
class OnnxRun:
    run: Callable[[], list]  # one ONNX Runtime call on the prepared inputs
    names: tuple[str, ...]  # the output names, in the order run() returns them
    bytes: int  # the serialized model: graph and initializers
    view: OnnxView


def check_supported(spec: Spec) -> None:
    """The options ONNX cannot carry, before anything is imported or exported."""
    if spec.packed:
        raise Unsupported("torch.onnx cannot export a PackedSequence (--lengths); ONNX's recurrent ops take "
                          "sequence_lens instead, which torch.onnx does not emit")
    if spec.proj_size:
        raise Unsupported("ONNX's LSTM has no projection (--proj-size): torch.onnx exports a graph that "
                          "ONNX Runtime rejects")
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise Unsupported(f"needs onnx, onnxscript and onnxruntime ({err.name} is not installed): "
                          f"{EXTRA_HINT}") from None


def export_and_load(spec: Spec, mods: list, inputs: dict, threads: int) -> OnnxRun:
    """Export the configuration's forward (all its modules, with the same inputs) and open an ORT session."""
    check_supported(spec)
    import onnxruntime as ort
    import torch

    names = [k for k in inputs if k != "input.data"]
    wrapper = _graph_module(spec, mods, names)
    with torch.no_grad():
        out_names = tuple(wrapper.names_of(*[inputs[n] for n in names]))
    providers = ["CPUExecutionProvider"]
    if spec.device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise Unsupported("this onnxruntime has no CUDAExecutionProvider; pip install onnxruntime-gpu, "
                              "or use --device cpu")
        providers.insert(0, "CUDAExecutionProvider")
    try:
        with _quiet():
            program = torch.onnx.export(wrapper, tuple(inputs[n] for n in names), None, dynamo=True,
                                        verbose=False, input_names=names, output_names=list(out_names),
                                        opset_version=OPSET)
        proto = program.model_proto
        data = proto.SerializeToString()
    except Exception as err:  # the exporter's failures are many and long; one line says which
        raise Unsupported(f"torch.onnx.export failed: {one_line(err)}") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: shape-merge warnings would reach the user's stderr
    try:
        session = ort.InferenceSession(data, options, providers=providers)
    except Exception as err:
        raise Unsupported(f"ONNX Runtime cannot load the exported model: {one_line(err)}") from None
    feeds = {n: inputs[n].detach().cpu().numpy() for n in names}
    weights = _node_weights(proto, feeds)
    return OnnxRun(run=lambda: session.run(None, feeds), names=out_names, bytes=len(data),
                   view=read_view(spec, mods, proto, weights))


def _graph_module(spec: Spec, mods: list, names: list[str]):
    """The configuration's forward as one nn.Module taking the input tensors positionally."""
    from torch import nn

    from rnnshape.run.build import forward_fn

    class Graph(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mods = nn.ModuleList(mods)

        def _run(self, *tensors) -> dict:
            return forward_fn(spec, list(self.mods), dict(zip(names, tensors)))()

        def names_of(self, *tensors) -> list[str]:
            return list(self._run(*tensors))

        def forward(self, *tensors):
            return tuple(self._run(*tensors).values())

    return Graph().eval()


def _node_weights(proto, feeds: dict) -> dict:
    """{name: array} of every W, R, B input of the recurrent nodes, as ONNX Runtime feeds them to the node.

    torch.onnx keeps torch's weights as initializers and reorders their gate blocks in the graph (Slice,
    Concat), so the node's W and R exist only at run time: run a copy whose outputs include them.
    """
    import onnx
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in proto.graph.initializer}
    wanted = [name for n in proto.graph.node if n.op_type in ONNX_OP.values() for name in n.input[1:4] if name]
    out = {name: numpy_helper.to_array(inits[name]) for name in wanted if name in inits}
    computed = [name for name in dict.fromkeys(wanted) if name not in inits]
    if computed:
        probe = onnx.ModelProto()
        probe.CopyFrom(proto)
        for name in computed:
            probe.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
        out.update(zip(computed, session.run(computed, feeds)))
    return out


def read_view(spec: Spec, mods: list, proto, weights: dict) -> OnnxView:
    """The exported recurrent nodes, each held to torch's weights moved by the gate mapping."""
    import numpy as np
    from onnx import helper

    layers = _torch_layers(mods)
    recurrent = [n for n in proto.graph.node if n.op_type in ONNX_OP.values()]
    nodes = []
    for k, node in enumerate(recurrent):
        prefix, mod, layer = layers[k] if len(recurrent) == len(layers) else (None, None, None)
        hidden = next(helper.get_attribute_value(a) for a in node.attribute if a.name == "hidden_size")
        attrs = tuple((a.name, _plain(helper.get_attribute_value(a))) for a in node.attribute)
        expected = _expected(spec, mod, layer) if mod is not None else {}
        entries, matches = [], bool(expected)
        for role, name in zip(("W", "R", "B"), node.input[1:4]):
            if not name:
                continue
            got = weights.get(name)
            shape = tuple(got.shape) if got is not None else ()
            want = expected.get(role)
            if want is None or got is None or not np.array_equal(got, want[0]):
                matches = False
            sources = want[1] if want is not None else ()
            entries.append(OnnxInput(role=role, name=name, shape=shape,
                                     sources=tuple(tuple(f"{prefix}{s}" for s in d) for d in sources)))
        kind = spec.kind
        nodes.append(OnnxNode(op_type=node.op_type, layer=f"{prefix}l{layer}" if mod is not None else "?",
                              hidden_size=hidden, inputs=tuple(entries), attributes=attrs,
                              blocks=gate_blocks(kind, hidden), matches=matches))
    ops = Counter(n.op_type for n in proto.graph.node)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
    return OnnxView(opset=opset, nodes=tuple(nodes), ops=tuple(ops.items()))


def _torch_layers(mods: list) -> list[tuple[str, object, int]]:
    """(name prefix, module, layer) of each layer module's layers in data-flow order; cells have none."""
    stacked = len(mods) > 1
    return [(f"{i}." if stacked else "", m, layer) for i, m in enumerate(mods) if hasattr(m, "num_layers")
            for layer in range(m.num_layers)]


def _expected(spec: Spec, mod, layer: int) -> dict:
    """{role: (the array ONNX should hold, per direction the torch parameters it comes from)}."""
    import numpy as np

    order = onnx_row_order(spec.kind, mod.hidden_size)
    params = dict(mod.named_parameters())
    directions = range(2 if mod.bidirectional else 1)

    def names(base: str) -> list[str]:  # per direction: weight_ih_l1, weight_ih_l1_reverse
        return [param_name(base, layer=layer, reverse=bool(d)) for d in directions]

    def rows(name: str):
        return params[name].detach().cpu().float().numpy()[order]

    out = {
        "W": (np.stack([rows(n) for n in names("weight_ih")]), tuple((n,) for n in names("weight_ih"))),
        "R": (np.stack([rows(n) for n in names("weight_hh")]), tuple((n,) for n in names("weight_hh"))),
    }
    if mod.bias:
        pairs = list(zip(names("bias_ih"), names("bias_hh")))
        out["B"] = (np.stack([np.concatenate([rows(i), rows(h)]) for i, h in pairs]), tuple(pairs))
    return out


def _plain(value):
    return value.decode() if isinstance(value, bytes) else value


@contextlib.contextmanager
def _quiet():
    """Silence the exporter: it prints progress on stdout and logs on stderr, at the file-descriptor level
    (logging handlers hold their own reference to the original stream), and warns about deprecations."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with pywarnings.catch_warnings(), contextlib.redirect_stdout(open(os.devnull, "w")) as sink:
            pywarnings.simplefilter("ignore")
            try:
                yield
            finally:
                sink.close()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
