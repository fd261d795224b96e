"""`rnnshape inspect` on ONNX files that real exporters wrote and real packages ship (issue 22).

Every module found is held to the ONNX file itself: the torch module built here from what inspect prints,
loaded (strict) with the arrays rnnshape maps back, gives ONNX Runtime's outputs to 1e-5 on a random input.
ONNX Runtime computes W, R, B from the file's own graph (through its Slice/Concat/... nodes, inside the
branches), so rnnshape's constant folder is checked too.

Files: silero-vad's models (the pip package, in the test extra), pytorch/examples' word_language_model
RNNModel (tests/onnx_files/word_language_model.py, as its authors wrote it) exported by torch's two
exporters, a Keras model converted by tf2onnx (tests/onnx_files/make_tf2onnx.py wrote it), and graphs
built here with If/Loop/Scan.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from rnnshape.checkpoint.files import read_tensors
from rnnshape.checkpoint.onnxfile import onnx_state_dicts

onnx = pytest.importorskip("onnx", reason="needs the onnx extra: pip install 'rnnshape[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="needs the deploy extra: pip install 'rnnshape[deploy]'")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

FILES = Path(__file__).parent / "onnx_files"


def _corpus_class(name: str):
    """A class of the public models in tests/corpus (pytorch/examples' word_language_model, as its authors wrote it)."""
    spec = importlib.util.spec_from_file_location("corpus_wlm_onnx", Path(__file__).parent / "corpus" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RNNModel = _corpus_class("word_language_model").RNNModel

CLASSES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def _inspect(cli, path) -> dict:
    r = cli("inspect", str(path), "--json")
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


def _torch_module(m: dict) -> nn.Module:
    """The module inspect printed, built from its JSON fields with torch's own constructors."""
    extra = {"nonlinearity": m["nonlinearity"]} if m["kind"] == "rnn" and m.get("nonlinearity") else {}
    if m["cell"]:
        cls = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.RNNCell}[m["kind"]]
        return cls(m["input_size"], m["hidden_size"], bias=m["bias"], **extra)
    return CLASSES[m["kind"]](m["input_size"], m["hidden_size"], num_layers=m["num_layers"],
                              bidirectional=m["bidirectional"], bias=m["bias"], **extra)


def _loaded(path, m: dict) -> nn.Module:
    """The printed module, loaded (strict) with what files.read_tensors (the one interface for every format,
    which --save-state-dict writes) gives under its prefix; the same as onnx_state_dicts' arrays."""
    module = _torch_module(m)
    state = onnx_state_dicts(str(path))[m["prefix"]]
    cut = len(m["prefix"]) + 1 if m["prefix"] else 0
    tensors = {k[cut:]: v for k, v in read_tensors(path).items() if k[:cut] == (m["prefix"] + "." if cut else "")}
    assert set(tensors) == set(state) and all(np.array_equal(tensors[k].numpy(), state[k]) for k in state)
    module.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    return module.eval()


def _all_nodes(graph, out: dict, inits: dict) -> None:
    for i in graph.initializer:
        inits[i.name] = i
    for node in graph.node:
        for o in node.output:
            out[o] = node
        for a in node.attribute:
            for sub in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
                _all_nodes(sub, out, inits)


def _ort_weights(model, names: list[str]) -> list[np.ndarray]:
    """The named tensors as ONNX Runtime computes them from the file's own nodes (any subgraph)."""
    producer, inits = {}, {}
    _all_nodes(model.graph, producer, inits)
    order, seen, used = [], set(), {}

    def visit(name):
        if not name or name in seen:
            return
        seen.add(name)
        if name in inits:
            used[name] = inits[name]
            return
        node = producer[name]
        for i in node.input:
            visit(i)
        order.append(node)

    for n in names:
        visit(n)
    order = list({id(n): n for n in order}.values())
    for elem in (TensorProto.FLOAT, TensorProto.FLOAT16):
        graph = helper.make_graph(order, "weights", [], [helper.make_tensor_value_info(n, elem, None) for n in names],
                                  list(used.values()))
        probe = helper.make_model(graph, opset_imports=list(model.opset_import), ir_version=model.ir_version)
        try:
            session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
        except Exception:  # a float16 model: its outputs are declared with the wrong type
            continue
        return session.run(names, {})
    raise AssertionError(f"ONNX Runtime cannot compute {names}")


def _node(model, name: str):
    producer, _ = {}, {}
    _all_nodes(model.graph, producer, _)
    return next(n for n in producer.values() if n.name == name)


def _witness(path, doc: dict, m: dict) -> float:
    """max |torch - ONNX Runtime| over output and final states, each ONNX node run on its file's weights."""
    model = onnx.load(str(path))
    (g,) = [g for g in doc["onnx"] if g["prefix"] == m["prefix"]]
    module = _loaded(path, m)
    torch.manual_seed(1)
    L, N = 5, 2
    x = torch.randn(L, N, m["input_size"])
    with torch.no_grad():
        if m["cell"]:
            out = module(x[0])
            want = [out[0], out[1]] if isinstance(out, tuple) else [out]
        else:
            y, h = module(x)
            want = [y, *(h if isinstance(h, tuple) else (h,))]
    feed, finals = x.numpy(), []
    if m["cell"]:
        feed = feed[:1]
    for layer in g["layers"]:
        node = _node(model, layer["node"])
        w = _ort_weights(model, [i for i in node.input[1:4] if i])
        inputs = ["X", "W", "R"] + (["B"] if len(w) == 3 else [])
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        outs = ["Y", "Y_h"] + (["Y_c"] if node.op_type == "LSTM" else [])
        single = helper.make_node(node.op_type, inputs, outs, **attrs)
        graph = helper.make_graph([single], "one", [helper.make_tensor_value_info("X", TensorProto.FLOAT, None)],
                                  [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs],
                                  [numpy_helper.from_array(a.astype(np.float32), n) for a, n in zip(w, inputs[1:])])
        session = ort.InferenceSession(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
                                       .SerializeToString(), providers=["CPUExecutionProvider"])
        y, *states = session.run(outs, {"X": feed})
        feed = y.transpose(0, 2, 1, 3).reshape(y.shape[0], y.shape[2], -1)  # (L, D, N, H) -> (L, N, D·H)
        finals.append(states)
    if m["cell"]:
        got = [finals[0][0][0], *([finals[0][1][0]] if len(finals[0]) > 1 else [])]
    else:
        got = [feed] + [np.concatenate([s[k] for s in finals]) for k in range(len(finals[0]))]
    return max(float(np.abs(a.numpy() - b).max()) for a, b in zip(want, got))


def _export(module, args, path, dynamo: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=dynamo, verbose=False)


# --- silero-vad: the files the pip package ships --------------------------------------------------------

def _silero(name: str) -> Path:
    spec = importlib.util.find_spec("silero_vad")
    if spec is None:
        pytest.skip("needs silero-vad (the test extra)")
    return Path(spec.submodule_search_locations[0]) / "data" / name


@pytest.mark.parametrize("name, expected", [
    # spox-inlined: 16 kHz and 8 kHz models in If_0's branches, each LSTM node called in both of If_1's
    ("silero_vad.onnx", {"decoder.rnn[If_0.else]", "decoder.rnn[If_0.then]"}),
    ("silero_vad_16k_op15.onnx", {"model.decoder.rnn"}),  # torch's TorchScript exporter, W/R/B sliced in If
    ("silero_vad_half.onnx", {"decoder.rnn"}),  # float16
    ("silero_vad_16k_sequence.onnx", {"recurrent"}),
    ("silero_vad_openvino_16k.onnx", {"decoder.rnn"}),
])
def test_silero_vad_lstm_nodes_in_if_branches_are_found_and_compute_as_torch(cli, name, expected):
    path = _silero(name)
    doc = _inspect(cli, path)
    assert {m["prefix"] for m in doc["modules"]} == expected
    for m in doc["modules"]:
        assert (m["kind"], m["input_size"], m["hidden_size"], m["num_layers"]) == ("lstm", 128, 128, 1)
        assert _witness(path, doc, m) <= (1e-2 if "half" in name else 1e-5)
    if name == "silero_vad.onnx":
        assert all(g["branch"].startswith("If_0.") and len(g["calls"]) == 1 for g in doc["onnx"])


def test_silero_vad_weights_are_the_packages_own_torch_weights(cli):
    """The LSTMCell of the package's TorchScript model, read back from its ONNX files by three exporters' routes:
    an LSTM node fed by Slice/Concat in an If branch (op15), spox-inlined Constants, and dynamo's Gemm cells."""
    jit = torch.jit.load(str(_silero("silero_vad.jit")))
    want = {k: v.numpy() for k, v in jit.state_dict().items() if ".decoder.rnn." in k}
    read = {name: onnx_state_dicts(str(_silero(name))) for name in (
        "silero_vad.onnx", "silero_vad_16k_op15.onnx", "silero_vad_op18_ifless.onnx", "silero_vad_16k_sequence.onnx")}
    for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        for got in (read["silero_vad_16k_op15.onnx"]["model.decoder.rnn"][k],
                    read["silero_vad_op18_ifless.onnx"]["model.decoder.rnn"][k],
                    read["silero_vad_16k_sequence.onnx"]["recurrent"][f"{k}_l0"],
                    read["silero_vad.onnx"]["decoder.rnn[If_0.then]"][f"{k}_l0"]):
            assert np.array_equal(got, want[f"_model.decoder.rnn.{k}"])
        assert np.array_equal(read["silero_vad.onnx"]["decoder.rnn[If_0.else]"][f"{k}_l0"],
                              want[f"_model_8k.decoder.rnn.{k}"])


def test_silero_vad_dynamo_export_finds_its_cells_in_the_branches(cli):
    doc = _inspect(cli, _silero("silero_vad_op18_ifless.onnx"))
    assert {(m["prefix"], m["constructor"]) for m in doc["modules"]} == {
        ("model.decoder.rnn", "nn.LSTMCell(input_size=128, hidden_size=128)"),
        ("model_8k.decoder.rnn", "nn.LSTMCell(input_size=128, hidden_size=128)")}
    assert {g["branch"] for g in doc["onnx"]} == {"node_cond__1.then", "node_cond__1.else"}
    path = str(_silero("silero_vad_op18_ifless.onnx"))
    r = cli("inspect", path, "--against", "lstm --cell --input-size 128 --hidden-size 128", "--prefix",
            "model_8k.decoder.rnn")
    assert r.code == 0, r.stderr
    r = cli("inspect", path, "--against", "gru --cell --input-size 128 --hidden-size 128", "--prefix",
            "model_8k.decoder.rnn")
    assert r.code == 1


# --- pytorch/examples' word_language_model, both torch exporters ---------------------------------------

@pytest.mark.parametrize("rnn_type", ["LSTM", "GRU", "RNN_RELU"])
@pytest.mark.parametrize("dynamo", [True, False])
def test_word_language_model_exports_name_the_rnn_and_compute_as_torch(cli, tmp_path, rnn_type, dynamo):
    torch.manual_seed(0)
    model = RNNModel(rnn_type, 50, 8, 10, 2).eval()
    tokens = torch.randint(0, 50, (6, 3))
    hidden = model.init_hidden(3)
    path = tmp_path / "wlm.onnx"
    _export(model, (tokens, hidden), path, dynamo)
    doc = _inspect(cli, path)
    (m,) = doc["modules"]
    assert m["prefix"] == "rnn" and m["constructor"] == _constructor(model.rnn)
    assert doc["onnx"][0]["named_from"] == ("metadata scopes" if dynamo else "node names")
    state = onnx_state_dicts(str(path))["rnn"]
    assert set(state) == set(model.rnn.state_dict())
    assert all(np.array_equal(state[k], v.detach().numpy()) for k, v in model.rnn.state_dict().items())
    if dynamo and rnn_type == "RNN_RELU":  # no RNN node: MatMul, Add, Relu per step, rebuilt into nn.RNN
        assert doc["onnx"][0]["op"] == "MatMul" and doc["onnx"][0]["num_layers"] == 2
        rebuilt = copy.deepcopy(model)
        rebuilt.rnn = _loaded(path, m)  # the printed module with the read weights, in the model's place
        assert _whole_file(path, rebuilt, (tokens, hidden)) <= 1e-5
    else:
        assert _witness(path, doc, m) <= 1e-5
    flags = {"LSTM": "lstm", "GRU": "gru", "RNN_RELU": "rnn"}[rnn_type]
    extra = ["--nonlinearity", "relu"] if rnn_type == "RNN_RELU" else []
    r = cli("inspect", path, "--against", " ".join([flags, "--input-size 8 --hidden-size 10 --layers 2", *extra]))
    assert r.code == 0, r.stderr
    r = cli(flags, "--input-size", "8", "--hidden-size", "10", "--layers", "2", *extra, "--check", path,
            "--dry-run")
    assert r.code == 0, r.stderr


def _whole_file(path, module: nn.Module, args) -> float:
    """max |module(*args) - ONNX Runtime running the whole file| over every output."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {i.name: a.numpy() for i, a in zip(session.get_inputs(), args)})
    with torch.no_grad():
        want = module(*args)
    want = [t for w in want for t in (w if isinstance(w, tuple) else (w,))]
    return max(float(np.abs(w.numpy() - g).max()) for w, g in zip(want, got, strict=True))


class _Wrapped(nn.Module):
    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)


@pytest.mark.parametrize("kwargs, flags, arguments", [
    (dict(num_layers=2, bidirectional=True, nonlinearity="relu"), "--layers 2 --bidirectional --nonlinearity relu",
     "num_layers=2, nonlinearity='relu', bidirectional=True"),
    (dict(num_layers=3, nonlinearity="relu"), "--layers 3 --nonlinearity relu", "num_layers=3, nonlinearity='relu'"),
    (dict(batch_first=True, bias=False, nonlinearity="relu"), "--batch-first --no-bias --nonlinearity relu",
     "nonlinearity='relu', bias=False, batch_first=True"),
    (dict(num_layers=2, bidirectional=True), "--layers 2 --bidirectional",  # tanh: unrolled too (torch 2.13)
     "num_layers=2, bidirectional=True"),
])
def test_rnn_unrolled_by_the_dynamo_exporter_is_rebuilt_exactly(cli, tmp_path, kwargs, flags, arguments):
    """torch's dynamo exporter writes nn.RNN as MatMul + Add + Relu/Tanh per step, its weights stored
    transposed under names like val_23: layers, directions and biases come back from the data flow."""
    torch.manual_seed(0)
    model = _Wrapped(nn.RNN(5, 6, **kwargs)).eval()
    x = torch.randn((3, 4, 5) if kwargs.get("batch_first") else (4, 3, 5))
    path = tmp_path / "rnn.onnx"
    _export(model, (x,), path, True)
    doc = _inspect(cli, path)
    (m,) = doc["modules"]
    assert m["prefix"] == "rnn" and m["constructor"] == f"nn.RNN(input_size=5, hidden_size=6, {arguments})"
    state = onnx_state_dicts(str(path))["rnn"]
    assert set(state) == set(model.rnn.state_dict())
    assert all(np.array_equal(state[k], v.detach().numpy()) for k, v in model.rnn.state_dict().items())
    loaded = _loaded(path, m)
    loaded.batch_first = m["batch_first"]  # the file's Transpose of the input, reported as batch_first
    assert m["batch_first"] == kwargs.get("batch_first", False)
    assert _whole_file(path, _Wrapped(loaded).eval(), (x,)) <= 1e-5
    r = cli("inspect", str(path), "--against", f"rnn --input-size 5 --hidden-size 6 {flags}")
    assert r.code == 0, r.stderr
    out = tmp_path / "rnn.safetensors"
    r = cli("inspect", str(path), "--save-state-dict", str(out))
    assert r.code == 0, r.stderr
    saved = read_tensors(out)
    assert set(saved) == set(model.rnn.state_dict())  # one module: saved under its local names, loadable as is
    assert all(np.array_equal(saved[k].numpy(), v.detach().numpy()) for k, v in model.rnn.state_dict().items())


def test_rnn_unrolled_over_one_step_says_its_recurrent_weights_are_gone(cli, tmp_path):
    """One time step and no state: the exporter folds weight_hh·0 + bias_hh into a constant, so nothing stores
    weight_hh: said, not guessed."""
    path = tmp_path / "rnn.onnx"
    _export(_Wrapped(nn.RNN(5, 6, nonlinearity="relu")).eval(), (torch.randn(1, 3, 5),), path, True)
    doc = _inspect(cli, path)
    assert doc["modules"] == [] and "exported unrolled" in doc["onnx"][0]["error"]


class _Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(6, 6, nonlinearity="relu", bias=False)

    def forward(self, x):
        return self.rnn(self.rnn(x)[0])


def test_rnn_called_twice_unrolled_is_one_layer_called_twice(cli, tmp_path):
    """input_size == hidden_size, no bias: the second call's products read the same stored weights, which must
    not pass for a second layer."""
    torch.manual_seed(0)
    model, x, path = _Twice().eval(), torch.randn(4, 3, 6), tmp_path / "twice.onnx"
    _export(model, (x,), path, True)
    doc = _inspect(cli, path)
    (m,) = doc["modules"]
    assert m["constructor"] == "nn.RNN(input_size=6, hidden_size=6, nonlinearity='relu', bias=False)"
    assert len(doc["onnx"][0]["calls"]) == 1
    rebuilt = _Twice().eval()
    rebuilt.rnn = _loaded(path, m)
    assert _whole_file(path, rebuilt, (x,)) <= 1e-5


def _constructor(rnn: nn.Module) -> str:
    extra = ", nonlinearity='relu'" if getattr(rnn, "nonlinearity", "tanh") == "relu" else ""
    return f"nn.{type(rnn).__name__}(input_size={rnn.input_size}, hidden_size={rnn.hidden_size}, num_layers=2{extra})"


class _TwoStacks(nn.Module):
    """Two LSTM modules in a row: the dynamo exporter names both nodes' scopes, which must not merge."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.LSTM(5, 7, 2), nn.LSTM(7, 7)

    def forward(self, x):
        return self.b(self.a(x)[0])[0]


@pytest.mark.parametrize("dynamo", [True, False])
def test_two_modules_stay_two(cli, tmp_path, dynamo):
    torch.manual_seed(0)
    path = tmp_path / "two.onnx"
    _export(_TwoStacks().eval(), (torch.randn(4, 3, 5),), path, dynamo)
    doc = _inspect(cli, path)
    assert [(m["prefix"], m["num_layers"]) for m in doc["modules"]] == [("a", 2), ("b", 1)]
    for m in doc["modules"]:
        assert _witness(path, doc, m) <= 1e-5


class _Cells(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Module()
        self.enc.cell = nn.LSTMCell(5, 7)
        self.gru = nn.GRUCell(7, 6)
        self.rnn = nn.RNNCell(6, 4, nonlinearity="relu")

    def forward(self, x, h, c, g, r):
        h, c = self.enc.cell(x, (h, c))
        g = self.gru(h, g)
        return h, c, g, self.rnn(g, r)


@pytest.mark.parametrize("dynamo", [True, False])
def test_cells_exported_as_matrix_products_are_found_and_compute_as_torch(cli, tmp_path, dynamo):
    torch.manual_seed(0)
    cells = _Cells().eval()
    args = (torch.randn(3, 5), torch.randn(3, 7), torch.randn(3, 7), torch.randn(3, 6), torch.randn(3, 4))
    path = tmp_path / "cells.onnx"
    _export(cells, args, path, dynamo)
    doc = _inspect(cli, path)
    assert {m["prefix"]: m["constructor"] for m in doc["modules"]} == {
        "enc.cell": "nn.LSTMCell(input_size=5, hidden_size=7)", "gru": "nn.GRUCell(input_size=7, hidden_size=6)",
        "rnn": "nn.RNNCell(input_size=6, hidden_size=4, nonlinearity='relu')"}
    rebuilt = _Cells().eval()
    for m in doc["modules"]:
        owner = rebuilt.enc if m["prefix"] == "enc.cell" else rebuilt
        setattr(owner, m["prefix"].rsplit(".", 1)[-1], _loaded(path, m))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {i.name: a.numpy() for i, a in zip(session.get_inputs(), args)})
    with torch.no_grad():
        want = rebuilt(*args)
    assert max(float(np.abs(w.numpy() - g).max()) for w, g in zip(want, got)) <= 1e-5


def test_a_cell_whose_recurrent_weights_were_folded_away_is_said(cli, tmp_path):
    """No state passed: the dynamo exporter folds weight_hh·0 + bias_hh into one constant."""
    path = tmp_path / "cell.onnx"
    _export(nn.LSTMCell(5, 7), (torch.randn(3, 5),), path, True)
    doc = _inspect(cli, path)
    assert doc["modules"] == [] and "only weight_ih is stored" in doc["onnx"][0]["error"]


# --- tf2onnx --------------------------------------------------------------------------------------------

def test_tf2onnx_keras_model_every_layer_found_and_the_whole_model_computes_as_torch(cli):
    """Two Bidirectional LSTMs (ONNX LSTM nodes named LSTM__228, LSTM__202: no path) and a GRU that tf2onnx
    wrote as a Loop of MatMuls: three modules; torch built from what inspect prints, loaded with the arrays
    rnnshape maps back, then the file's own Dense head, gives ONNX Runtime's score on a random input."""
    path = FILES / "keras_bilstm_tf2onnx.onnx"
    doc = _inspect(cli, path)
    got = [(m["kind"], m["input_size"], m["hidden_size"], m["bidirectional"]) for m in doc["modules"]]
    assert got == [("lstm", 6, 8, True), ("lstm", 16, 5, True), ("gru", 10, 4, False)]
    assert len({m["prefix"] for m in doc["modules"]}) == 3 and all(m["prefix"] for m in doc["modules"])
    assert [len(m["parameters"]) for m in doc["modules"]] == [8, 8, 4]
    for m in doc["modules"][:2]:
        assert _witness(path, doc, m) <= 1e-5
        against = f"lstm --input-size {m['input_size']} --hidden-size {m['hidden_size']} --bidirectional"
        r = cli("inspect", path, "--against", against, "--prefix", m["prefix"])
        assert r.code == 0, r.stderr
    lstm1, lstm2, gru = (_loaded(path, m) for m in doc["modules"])
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    dense_w = torch.from_numpy(inits["functional_1/score_1/Cast/ReadVariableOp:0"])
    dense_b = torch.from_numpy(inits["functional_1/score_1/Add/ReadVariableOp:0"])
    x = torch.randn(3, 7, 6)
    with torch.no_grad():
        h = gru(lstm2(lstm1(x.transpose(0, 1))[0])[0])[1][-1]
        want = torch.sigmoid(h @ dense_w + dense_b).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (score,) = session.run(None, {"features": x.numpy()})
    assert np.abs(score - want).max() <= 1e-5


# --- graphs built here: If, Loop, Scan, and a node that cannot be read -----------------------------------

def _init(name, shape, rng):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def _branchy(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    lstm = helper.make_node("LSTM", ["x", "lW", "lR", "lB"], ["ly"], name="/enc/lstm/LSTM", hidden_size=3)
    then = helper.make_graph([lstm], "then", [], [helper.make_tensor_value_info("ly", TensorProto.FLOAT, None)])
    # the GRU's W is sliced out of a stored (2, 9, 4) tensor, as exporters do inside branches
    starts, ends = numpy_helper.from_array(np.array([1]), "s"), numpy_helper.from_array(np.array([2]), "e")
    cut = helper.make_node("Slice", ["gWall", "s", "e"], ["gW"], name="/dec/gru/Slice")
    gru = helper.make_node("GRU", ["x", "gW", "gR", "gB"], ["gy"], name="/dec/gru/GRU", hidden_size=3,
                           linear_before_reset=1)
    other = helper.make_graph([cut, gru], "else", [], [helper.make_tensor_value_info("gy", TensorProto.FLOAT, None)],
                              [starts, ends])
    branch = helper.make_node("If", ["cond"], ["y"], name="choose", then_branch=then, else_branch=other)
    rnn = helper.make_node("RNN", ["x", "rW", "rR", "rB"], ["ry"], name="/step/rnn/RNN", hidden_size=2,
                           activations=["Relu"])
    body = helper.make_graph([rnn, helper.make_node("Identity", ["c_in"], ["c_out"])], "body",
                             [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                              helper.make_tensor_value_info("c_in", TensorProto.BOOL, [])],
                             [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
                              helper.make_tensor_value_info("ry", TensorProto.FLOAT, None)])
    loop = helper.make_node("Loop", ["n", "cond"], ["steps"], name="repeat", body=body)
    broken = helper.make_node("LSTM", ["x", "x4", "lR"], ["by"], name="/bad/LSTM", hidden_size=3)
    graph = helper.make_graph(
        [branch, loop, broken], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 2, 4]),
         helper.make_tensor_value_info("x4", TensorProto.FLOAT, [1, 12, 4]),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("n", TensorProto.INT64, [])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in ("y", "steps", "by")],
        [_init("lW", (1, 12, 4), rng), _init("lR", (1, 12, 3), rng), _init("lB", (1, 24), rng),
         _init("gWall", (2, 9, 4), rng), _init("gR", (1, 9, 3), rng), _init("gB", (1, 18), rng),
         _init("rW", (1, 2, 4), rng), _init("rR", (1, 2, 2), rng), _init("rB", (1, 4), rng)])
    path = tmp_path / "branchy.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_if_and_loop_subgraphs_and_an_unreadable_node(cli, tmp_path):
    path = _branchy(tmp_path)
    doc = _inspect(cli, path)
    assert {m["prefix"]: m["constructor"] for m in doc["modules"]} == {
        "enc.lstm": "nn.LSTM(input_size=4, hidden_size=3)", "dec.gru": "nn.GRU(input_size=4, hidden_size=3)",
        "step.rnn": "nn.RNN(input_size=4, hidden_size=2, nonlinearity='relu')"}
    branches = {g["prefix"]: g["branch"] for g in doc["onnx"]}
    assert branches["enc.lstm"] == "choose.then" and branches["dec.gru"] == "choose.else"
    assert branches["step.rnn"] == "repeat.body"
    (bad,) = [g for g in doc["onnx"] if g["error"]]
    assert "'/bad/LSTM'" in bad["error"] and "graph's input" in bad["error"]
    for m in doc["modules"]:
        assert _witness(path, doc, m) <= 1e-5
    r = cli("gru", "--input-size", "4", "--hidden-size", "3", "--check", str(path))
    assert r.code == 0, r.stderr
    text = cli("inspect", str(path))
    assert text.code == 0 and "'/bad/LSTM'" in text.stdout and "Traceback" not in text.stderr


def test_scan_body_and_external_data_beside_the_model(cli, tmp_path):
    """A GRU in a Scan body, its weights in an external data file; the file missing is that node's reason."""
    rng = np.random.default_rng(0)
    gru = helper.make_node("GRU", ["xs", "W", "R", "B"], ["y"], name="/body/gru/GRU", hidden_size=3,
                           linear_before_reset=1)
    body = helper.make_graph([gru, helper.make_node("Identity", ["s_in"], ["s_out"])], "body",
                             [helper.make_tensor_value_info("s_in", TensorProto.FLOAT, [1]),
                              helper.make_tensor_value_info("xs", TensorProto.FLOAT, [5, 2, 4])],
                             [helper.make_tensor_value_info("s_out", TensorProto.FLOAT, [1]),
                              helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    scan = helper.make_node("Scan", ["s0", "seqs"], ["s", "ys"], name="over_batches", body=body, num_scan_inputs=1)
    graph = helper.make_graph([scan], "g", [helper.make_tensor_value_info("s0", TensorProto.FLOAT, [1]),
                                            helper.make_tensor_value_info("seqs", TensorProto.FLOAT, [7, 5, 2, 4])],
                              [helper.make_tensor_value_info("ys", TensorProto.FLOAT, None)],
                              [_init("W", (1, 9, 4), rng), _init("R", (1, 9, 3), rng), _init("B", (1, 18), rng)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "scan.onnx"
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location="scan.onnx.data",
              size_threshold=0)
    doc = _inspect(cli, path)
    (m,) = doc["modules"]
    assert (m["prefix"], m["constructor"]) == ("body.gru", "nn.GRU(input_size=4, hidden_size=3)")
    assert doc["onnx"][0]["branch"] == "over_batches.body"
    assert _witness(path, doc, m) <= 1e-5
    (tmp_path / "scan.onnx.data").unlink()
    doc = _inspect(cli, path)
    assert doc["modules"] == [] and "scan.onnx.data, which is not beside the model" in doc["onnx"][0]["error"]
