"""`inspect --save-state-dict`, the fidelity of `--check`/`--against`, and what a file does not store.

Every check is against torch modules built here, independently: the written file must load with
``load_state_dict(strict=True)`` into a module the test constructs, and compute what the source computes.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import warnings

import pytest
import torch
from checkpoint_files import build, save
from torch import nn


def read_safetensors(path) -> dict:
    """An independent reader: the 8-byte header length, the JSON header, then raw little-endian bytes."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert n % 8 == 0  # the data starts 8-byte aligned, as the safetensors library requires
    dtypes = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        data = bytearray(raw[8 + n + a:8 + n + b])
        out[name] = torch.frombuffer(data, dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return out


def _sub(state: dict, prefix: str) -> dict:
    return {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(30, 16)
        self.encoder = nn.LSTM(16, 12, num_layers=2, bidirectional=True, proj_size=5)
        self.decoder = nn.GRUCell(10, 8, bias=False)
        self.rnn = nn.RNN(8, 6, nonlinearity="relu").to(torch.float64)
        self.head = nn.Linear(8, 4)


@pytest.mark.parametrize("out_name", ["w.safetensors", "w.pt"])
@pytest.mark.parametrize("how", ["state_dict", "safetensors", "legacy", "pickle.dump"])
def test_every_module_is_written_and_loads_strictly_into_a_module_built_here(cli, tmp_path, how, out_name):
    torch.manual_seed(0)
    net = Net()
    src = tmp_path / ("src.safetensors" if how == "safetensors" else "src.pt")
    if how == "pickle.dump":  # tensors read in place over the pickle's bytes: the values must still be right
        src.write_bytes(pickle.dumps(net.state_dict(), protocol=4))
    else:
        save(src, net.state_dict(), how)
    out = tmp_path / out_name
    r = cli("inspect", src, "--save-state-dict", out, "--json")
    assert r.code == 0, r.stderr
    assert [m["prefix"] for m in r.json()["modules"]] == ["encoder", "decoder", "rnn"]
    sd = read_safetensors(out) if out_name.endswith(".safetensors") else torch.load(out, weights_only=True)
    theirs = {"encoder": nn.LSTM(16, 12, num_layers=2, bidirectional=True, proj_size=5),
              "decoder": nn.GRUCell(10, 8, bias=False), "rnn": nn.RNN(8, 6).to(torch.float64)}
    for prefix, module in theirs.items():
        module.load_state_dict(_sub(sd, prefix), strict=True)  # raises on a missing, extra or misshapen tensor
        for name, value in getattr(net, prefix).state_dict().items():
            assert value.dtype == module.state_dict()[name].dtype and torch.equal(value, module.state_dict()[name])
    assert len(sd) == sum(len(m.state_dict()) for m in theirs.values())  # embed and head are not recurrent


def test_module_writes_one_module_under_its_own_names(cli, tmp_path):
    net = Net()
    src, out = tmp_path / "src.pt", tmp_path / "enc.safetensors"
    save(src, net.state_dict(), "model")
    r = cli("inspect", src, "--module", "encoder", "--save-state-dict", out)
    assert r.code == 0, r.stderr
    assert "load_state_dict(strict=True)" in r.stdout and "nn.LSTM(input_size=16" in r.stdout
    lstm = nn.LSTM(16, 12, num_layers=2, bidirectional=True, proj_size=5)
    lstm.load_state_dict(read_safetensors(out), strict=True)
    x = torch.randn(4, 3, 16)
    assert torch.equal(lstm(x)[0], net.encoder(x)[0])


def test_what_cannot_be_written_is_refused_and_nothing_is_written(cli, tmp_path):
    src = tmp_path / "src.pt"
    state = dict(build({"kind": "gru", "input_size": 3, "hidden_size": 4}).state_dict())
    state["odd.weight_ih_l0"] = torch.zeros(12, 3)  # no weight_hh_l0: not a module torch builds
    torch.save(state, src)
    out = tmp_path / "out.safetensors"
    r = cli("inspect", src, "--save-state-dict", out)
    assert r.code == 1 and "'odd'" in r.stderr and "--module" in r.stderr and not out.exists()
    assert os.listdir(tmp_path) == ["src.pt"]  # no temporary file left behind
    r = cli("inspect", src, "--module", "", "--save-state-dict", out)
    assert r.code == 0, r.stderr
    nn.GRU(3, 4).load_state_dict(read_safetensors(out), strict=True)
    r = cli("inspect", src, "--save-state-dict", tmp_path / "out.npz")
    assert r.code == 2 and "--save-state-dict" in r.stderr and ".safetensors" in r.stderr


@pytest.mark.parametrize("layout", ["folder", "shards"])
def test_a_hugging_face_folder_converts(cli, tmp_path, layout):
    from checkpoint_files import save_safetensors

    torch.manual_seed(2)
    net = Net()
    state = {f"model.{k}": v for k, v in net.state_dict().items()}
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "custom"}))
    if layout == "folder":
        save_safetensors(folder / "model.safetensors", state)
    else:
        names = list(state)
        halves = {"model-00001-of-00002.safetensors": names[:5], "model-00002-of-00002.safetensors": names[5:]}
        for file, part in halves.items():
            save_safetensors(folder / file, {k: state[k] for k in part})
        index = {"weight_map": {k: file for file, part in halves.items() for k in part}}
        (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    out = tmp_path / "enc.safetensors"
    r = cli("inspect", folder, "--module", "model.encoder", "--save-state-dict", out)
    assert r.code == 0, r.stderr
    lstm = nn.LSTM(16, 12, num_layers=2, bidirectional=True, proj_size=5)
    lstm.load_state_dict(read_safetensors(out), strict=True)
    assert all(torch.equal(v, net.encoder.state_dict()[k]) for k, v in lstm.state_dict().items())


def _export(module, path, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), dynamo=False)


class _Holder(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)[0]


@pytest.mark.parametrize("make", [
    lambda: nn.LSTM(5, 7, num_layers=2, bidirectional=True),
    lambda: nn.GRU(6, 4, num_layers=2),
    lambda: nn.GRU(3, 5, bidirectional=True, bias=False),
    lambda: nn.RNN(4, 3, nonlinearity="relu"),
    lambda: nn.LSTM(4, 6, batch_first=True),
])
def test_an_onnx_export_converts_back_to_the_module_that_was_exported(cli, tmp_path, make):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    torch.manual_seed(1)
    original = make().eval()
    x = torch.randn((3, 4, original.input_size) if original.batch_first else (4, 3, original.input_size))
    path, out = tmp_path / "m.onnx", tmp_path / "m.safetensors"
    _export(_Holder(original), path, x)
    r = cli("inspect", path, "--save-state-dict", out, "--json")
    assert r.code == 0, r.stderr
    (m,) = r.json()["modules"]
    assert m["compared_with"].startswith("onnxruntime") and m["max_abs_diff"] < 1e-5
    kw = {"input_size": original.input_size, "hidden_size": original.hidden_size, "num_layers": original.num_layers,
          "bidirectional": original.bidirectional, "bias": original.bias, "batch_first": original.batch_first}
    if isinstance(original, nn.RNN):
        kw["nonlinearity"] = original.nonlinearity
    again = type(original)(**kw).eval()
    again.load_state_dict(_sub(read_safetensors(out), "rnn") or read_safetensors(out), strict=True)
    with torch.no_grad():
        assert torch.allclose(again(x)[0], original(x)[0], atol=1e-6, rtol=0)


def test_an_onnx_gru_torch_cannot_compute_is_refused(cli, tmp_path):
    np = pytest.importorskip("numpy")
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    def init(name, shape):
        return numpy_helper.from_array(np.ones(shape, dtype=np.float32), name)

    node = helper.make_node("GRU", ["x", "W", "R", ""], ["y"], name="/dec/gru/GRU", hidden_size=4)  # lbr 0
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 1, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [init("W", (1, 12, 5)), init("R", (1, 12, 4))])
    path, out = tmp_path / "g.onnx", tmp_path / "g.safetensors"
    onnx.save(helper.make_model(graph), str(path))
    r = cli("inspect", path, "--save-state-dict", out)
    assert r.code == 1 and "linear_before_reset=0" in r.stderr and not out.exists()
    r = cli("gru", "--input-size", "5", "--hidden-size", "4", "--no-bias", "--check", path, "--json")
    assert r.code == 1 and r.json()["loads"] is True
    assert [m["field"] for m in r.json()["mismatches"]] == ["function"]


def test_a_stored_function_difference_fails_the_check(cli, tmp_path):
    path = tmp_path / "whole.pt"
    torch.save({"model": nn.RNN(4, 3, nonlinearity="relu", batch_first=True)}, path)
    r = cli("rnn", "--input-size", "4", "--hidden-size", "3", "--check", path, "--json")
    assert r.code == 1
    doc = r.json()
    assert doc["loads"] is True and doc["match"] is False
    assert {m["field"] for m in doc["mismatches"]} == {"batch_first", "nonlinearity"}
    r = cli("rnn", "--input-size", "4", "--hidden-size", "3", "--check", path)
    assert "computes another function" in r.stdout and "--nonlinearity relu" in r.stdout


def test_a_bare_state_dict_reports_what_it_does_not_store_as_null(cli, tmp_path):
    path = tmp_path / "sd.pt"
    torch.save({**{f"rnn.{k}": v for k, v in nn.RNN(4, 3).state_dict().items()},
                **{f"cell.{k}": v for k, v in nn.LSTMCell(3, 2).state_dict().items()}}, path)
    doc = cli("inspect", path, "--json").json()
    rnn, cell = doc["modules"]
    assert (rnn["batch_first"], rnn["dropout"], rnn["nonlinearity"]) == (None, None, None)
    assert set(rnn["not_stored"]) == {"batch_first", "dropout", "nonlinearity"}
    assert len(rnn["candidates"]) == 2
    assert (cell["batch_first"], cell["dropout"], cell["nonlinearity"]) == (None, None, None)
    # and a state_dict that does not say batch_first never fails a check for it
    assert cli("inspect", path, "--prefix", "rnn", "--against",
               "rnn --input-size 4 --hidden-size 3 --batch-first --nonlinearity relu").code == 0


class _System:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_a_file_torch_load_refuses_is_said_and_fails_the_check(cli, tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": nn.GRU(3, 4).state_dict(), "hook": _System()}, path)
    with pytest.raises(pickle.UnpicklingError):  # what the user's own torch.load would meet
        torch.load(path)
    r = cli("gru", "--input-size", "3", "--hidden-size", "4", "--check", path, "--json")
    assert r.code == 1
    doc = r.json()
    assert doc["loads"] is True and doc["mismatches"] == [] and "posix.system" in doc["torch_load"]
    assert "never load it with weights_only=False" in doc["torch_load"]
    ok = tmp_path / "ok.pt"
    torch.save({"state_dict": nn.GRU(3, 4).state_dict(), "epoch": 3}, ok)
    assert cli("gru", "--input-size", "3", "--hidden-size", "4", "--check", ok).code == 0


def test_hyperparameters_are_shown_the_way_frameworks_save_them(cli, tmp_path):
    """fairseq (args Namespace, and cfg whose model is a Namespace), OpenNMT-py (opt), Lightning (hyper_parameters)."""
    import argparse

    state = {f"encoder.lstm.{k}": v for k, v in nn.LSTM(32, 64, num_layers=2).state_dict().items()}
    fairseq_old = {"args": argparse.Namespace(lr=[0.25], arch="lstm", encoder_hidden_size=64, encoder_layers=2,
                                              encoder_embed_dim=32, optimizer="nag"),
                   "model": state, "optimizer_history": [{"num_updates": 10}], "extra_state": {}}
    fairseq_new = {"args": None, "cfg": {"common": {"seed": 1}, "model": argparse.Namespace(
        arch="lstm", dropout=0.1, encoder_hidden_size=64, encoder_layers=2)}, "model": state,
        "optimizer_history": [], "extra_state": {}}
    onmt = {"model": state, "generator": {}, "vocab": {}, "opt": argparse.Namespace(
        rnn_type="LSTM", learning_rate=1.0, enc_layers=2, hidden_size=64, word_vec_size=32), "optim": {}}
    lightning = {"state_dict": state, "pytorch-lightning_version": "2.4.0", "epoch": 1,
                 "hyper_parameters": {"lr": 1e-3, "hidden_size": 64, "num_layers": 2}}
    expect = {"fairseq_old": ("checkpoint['args']", "encoder_hidden_size"),
              "fairseq_new": ("checkpoint['cfg']['model']", "encoder_hidden_size"),
              "onmt": ("checkpoint['opt']", "enc_layers"),
              "lightning": ("checkpoint['hyper_parameters']", "hidden_size")}
    for name, obj in {"fairseq_old": fairseq_old, "fairseq_new": fairseq_new, "onmt": onmt,
                      "lightning": lightning}.items():
        path = tmp_path / f"{name}.pt"
        torch.save(obj, path)
        r = cli("inspect", path, "--json")
        assert r.code == 0, r.stderr
        (hp,) = r.json()["hyperparameters"]
        where, size_key = expect[name]
        assert hp["where"] == where and size_key in hp["values"]
        keys = list(hp["values"])
        assert keys.index(size_key) < keys.index(next(k for k in keys if k in ("lr", "learning_rate", "arch")))
        assert r.json()["modules"][0]["hidden_size"] == 64
        shown = cli("inspect", path, env={"COLUMNS": "100"}).stdout
        assert f"Hyperparameters in {where}" in shown and size_key in shown


DATA = os.path.join(os.path.dirname(__file__), "data", "formats")
# What tests/data/formats/make_keras_files.py built with keras 3.15.1, as torch modules (batch_first: Keras is).
KERAS_TORCH = {
    "stack": {"lstm": lambda: nn.LSTM(5, 4, batch_first=True), "gru": lambda: nn.GRU(4, 3, batch_first=True),
              "simple_rnn": lambda: nn.RNN(3, 2, nonlinearity="relu", batch_first=True)},
    "nested": {"encoder.enc_lstm": lambda: nn.LSTM(3, 4, batch_first=True),
               "dec_gru": lambda: nn.GRU(4, 2, batch_first=True)},
}


@pytest.mark.parametrize("model", sorted(KERAS_TORCH))
def test_keras_files_convert_to_modules_that_compute_what_keras_computed(cli, tmp_path, model):
    """Keras's own outputs (recorded by keras 3.15.1 in keras_reference.npz) from torch modules built here."""
    pytest.importorskip("h5py", reason="needs the keras extra: pip install 'rnnshape[keras]'")
    import numpy as np

    out = tmp_path / "k.safetensors"
    r = cli("inspect", os.path.join(DATA, f"{model}.keras"), "--save-state-dict", out, "--json")
    assert r.code == 0, r.stderr
    assert all(m["compared_with"] == "Keras's equations (NumPy)" and m["max_abs_diff"] < 1e-5
               for m in r.json()["modules"])
    sd = read_safetensors(out)
    with np.load(os.path.join(DATA, "keras_reference.npz")) as ref:
        for prefix, make in KERAS_TORCH[model].items():
            module = make()
            module.load_state_dict(_sub(sd, prefix), strict=True)
            x, want = (torch.from_numpy(ref[f"{model}/{prefix}/{k}"]) for k in ("x", "y"))
            with torch.no_grad():
                got = module(x)[0]
            got = got if want.dim() == 3 else got[:, -1]
            assert (got - want).abs().max().item() < 1e-5, prefix


def test_keras_layers_torch_cannot_compute_are_refused(cli, tmp_path):
    pytest.importorskip("h5py", reason="needs the keras extra: pip install 'rnnshape[keras]'")
    path, out = os.path.join(DATA, "odd.keras"), tmp_path / "odd.safetensors"
    r = cli("inspect", path, "--save-state-dict", out)
    assert r.code == 1 and "reset_after=False" in r.stderr and not out.exists()
    r = cli("inspect", path, "--module", "odd_lstm", "--save-state-dict", out)
    assert r.code == 1 and "hard_sigmoid" in r.stderr and not out.exists()
    r = cli("inspect", path, "--module", "bi_lstm", "--save-state-dict", out, "--json")
    assert r.code == 0 and r.json()["modules"][0]["max_abs_diff"] < 1e-5
    nn.LSTM(3, 4, batch_first=True, bidirectional=True).load_state_dict(read_safetensors(out), strict=True)
    r = cli("lstm", "--input-size", "2", "--hidden-size", "3", "--no-bias", "--batch-first", "--check", path,
            "--json")
    assert r.code == 1 and r.json()["loads"] and any("hard_sigmoid" in m["message"] for m in r.json()["mismatches"])


class _Scripted(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(6, 5, num_layers=2, bidirectional=True)
        self.decoder = nn.GRUCell(10, 4)

    def forward(self, x):
        y, _ = self.encoder(x)
        return self.decoder(y[-1])


def test_torchscript_converts_and_trust_runs_it(cli, tmp_path):
    torch.manual_seed(3)
    original = _Scripted().eval()
    path, out = tmp_path / "m.pt", tmp_path / "m.safetensors"
    torch.jit.save(torch.jit.script(original), str(path))
    r = cli("inspect", path, "--save-state-dict", out, "--json")
    assert r.code == 0, r.stderr
    assert all(m["compared_with"] is None and "--trust" in m["not_compared"] for m in r.json()["modules"])
    r = cli("inspect", path, "--save-state-dict", out, "--trust", "--json")
    assert r.code == 0, r.stderr
    assert [m["compared_with"] for m in r.json()["modules"]] == ["the TorchScript module (--trust)"] * 2
    assert all(m["max_abs_diff"] < 1e-6 for m in r.json()["modules"])
    sd = read_safetensors(out)
    again = _Scripted().eval()
    again.encoder.load_state_dict(_sub(sd, "encoder"), strict=True)
    again.decoder.load_state_dict(_sub(sd, "decoder"), strict=True)
    x = torch.randn(7, 2, 6)
    with torch.no_grad():
        assert torch.equal(again(x), original(x))
    assert cli("inspect", path, "--trust").code == 2  # --trust alone: a usage error


def test_a_shipped_torchscript_model_converts_cell_by_cell(cli, tmp_path):
    """silero-vad's packaged model (two LSTMCell(128, 128) in TorchScript), run by its own code with --trust."""
    silero = pytest.importorskip("silero_vad")
    path = os.path.join(os.path.dirname(silero.__file__), "data", "silero_vad.jit")
    out = tmp_path / "vad.safetensors"
    r = cli("inspect", path, "--save-state-dict", out, "--trust", "--json")
    assert r.code == 0, r.stderr
    assert [m["prefix"] for m in r.json()["modules"]] == ["_model.decoder.rnn", "_model_8k.decoder.rnn"]
    assert all(m["max_abs_diff"] <= 1e-6 for m in r.json()["modules"])
    sd, scripted = read_safetensors(out), torch.jit.load(path)
    for prefix in ("_model.decoder.rnn", "_model_8k.decoder.rnn"):
        cell = nn.LSTMCell(128, 128)
        cell.load_state_dict(_sub(sd, prefix), strict=True)
        theirs = scripted
        for part in prefix.split("."):
            theirs = getattr(theirs, part)
        x = torch.randn(2, 128)
        with torch.no_grad():
            assert torch.allclose(cell(x)[0], theirs(x)[0], atol=1e-6, rtol=0)


@pytest.mark.parametrize("name, prefix, make", [
    ("silero_vad.onnx", "decoder.rnn[If_0.else]", lambda: nn.LSTM(128, 128)),  # LSTM nodes inside If branches
    ("silero_vad_16k_op15.onnx", "model.decoder.rnn", lambda: nn.LSTMCell(128, 128)),  # one-step node as a cell
])
def test_shipped_onnx_models_convert(cli, tmp_path, name, prefix, make):
    """silero-vad's packaged ONNX files: each layer checked in onnxruntime, loaded into a module built here."""
    silero = pytest.importorskip("silero_vad")
    pytest.importorskip("onnxruntime")
    path, out = os.path.join(os.path.dirname(silero.__file__), "data", name), tmp_path / "vad.safetensors"
    r = cli("inspect", path, "--module", prefix, "--save-state-dict", out, "--json")
    assert r.code == 0 and r.stderr == "", r.stderr
    (m,) = r.json()["modules"]
    assert m["compared_with"].startswith("onnxruntime") and m["max_abs_diff"] < 1e-5
    make().load_state_dict(read_safetensors(out), strict=True)
