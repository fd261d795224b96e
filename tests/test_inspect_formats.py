"""Checkpoints as real tools write them, built here (never downloaded): fairseq, OpenNMT-py and Lightning
layouts with their own objects beside the weights, whole pickled modules whose class is gone, Hugging Face
folders (single file, sharded safetensors, sharded .bin), and ONNX exports.

The classes these files name exist only while saving, in modules that are removed afterwards, as they
would be on a machine without fairseq or the training script. Every expected configuration is the one the
independent torch module was built with.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import types
from collections import OrderedDict, defaultdict

import pytest
import torch
from checkpoint_files import build, save_safetensors
from torch import nn


@contextlib.contextmanager
def gone_afterwards(module_name: str, **classes):
    """Classes importable as ``module_name.X`` while the block runs (pickle checks that), gone after it."""
    parts = module_name.split(".")
    added = []
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name not in sys.modules:
            sys.modules[name] = types.ModuleType(name)
            added.append(name)
    for cls_name, cls in classes.items():
        cls.__module__, cls.__qualname__ = module_name, cls_name
        setattr(sys.modules[module_name], cls_name, cls)
    try:
        yield
    finally:
        for name in added:
            del sys.modules[name]
        for cls_name in classes:
            if module_name not in added and hasattr(sys.modules.get(module_name), cls_name):
                delattr(sys.modules[module_name], cls_name)


def _fields(m: dict) -> dict:
    keys = ("kind", "cell", "input_size", "hidden_size", "num_layers", "bidirectional", "proj_size", "bias")
    return {k: m[k] for k in keys}


def _expected(cfg: dict) -> dict:
    cell = cfg.get("cell", False)
    return {"kind": cfg["kind"], "cell": cell, "input_size": cfg["input_size"], "hidden_size": cfg["hidden_size"],
            "num_layers": 1 if cell else cfg.get("num_layers", 1),
            "bidirectional": False if cell else cfg.get("bidirectional", False),
            "proj_size": 0 if cell else cfg.get("proj_size", 0), "bias": cfg.get("bias", True)}


def _inspect(cli, path) -> dict:
    r = cli("inspect", path, "--json")
    assert r.code == 0, r.stderr
    return r.json()


def _modules(doc) -> dict:
    return {m["prefix"]: _fields(m) for m in doc["modules"]}


ENCODER = {"kind": "lstm", "input_size": 16, "hidden_size": 32, "num_layers": 2, "bidirectional": True}
DECODER_CELLS = [{"kind": "lstm", "cell": True, "input_size": 80, "hidden_size": 32},
                 {"kind": "lstm", "cell": True, "input_size": 32, "hidden_size": 32}]


def _seq2seq_state(prefix_encoder: str, prefix_decoder: str) -> dict:
    state = {"encoder.embed_tokens.weight": torch.zeros(50, 16)}
    state.update({f"{prefix_encoder}.{k}": v for k, v in build(ENCODER).state_dict().items()})
    for i, cfg in enumerate(DECODER_CELLS):
        state.update({f"{prefix_decoder}.{i}.{k}": v for k, v in build(cfg).state_dict().items()})
    return state


def test_fairseq_style_checkpoint(cli, tmp_path):
    class MetersDict(OrderedDict):
        pass

    class DictConfig:
        def __init__(self, content):
            self._content = content

    path = tmp_path / "checkpoint_best.pt"
    with gone_afterwards("fairseq.logging.meters", MetersDict=MetersDict), \
            gone_afterwards("omegaconf.dictconfig", DictConfig=DictConfig):
        torch.save({
            "args": argparse.Namespace(arch="lstm", encoder_hidden_size=32, encoder_layers=2, lr=[0.001]),
            "cfg": DictConfig({"model": {"_name": "lstm"}}),
            "model": _seq2seq_state("encoder.lstm", "decoder.layers"),
            "optimizer_history": [{"criterion_name": "CrossEntropyCriterion", "optimizer_name": "FairseqAdam",
                                   "num_updates": 10}],
            "extra_state": {"epoch": 3, "metrics": {"train": MetersDict(loss=1.5)}},
            "last_optimizer_state": {"state": {}, "param_groups": [{"lr": 0.001}]},
        }, path)
    assert "fairseq" not in sys.modules
    doc = _inspect(cli, path)
    assert doc["reader"] == "inert" and doc["location"] == ["model"] and doc["origin"] == "fairseq"
    assert doc["foreign"] == ["argparse.Namespace", "fairseq.logging.meters.MetersDict",
                              "omegaconf.dictconfig.DictConfig"]
    assert _modules(doc) == {"encoder.lstm": _expected(ENCODER), "decoder.layers.0": _expected(DECODER_CELLS[0]),
                             "decoder.layers.1": _expected(DECODER_CELLS[1])}


def test_opennmt_style_checkpoint(cli, tmp_path):
    class Vocab:
        def __init__(self):
            self.itos = ["<unk>", "<blank>", "hello"]
            self.stoi = defaultdict(int, {w: i for i, w in enumerate(self.itos)})

    class Optimizer:
        def __init__(self):
            self.learning_rate = 1.0
            self.training_step = 7

    path = tmp_path / "model_step_1000.pt"
    with gone_afterwards("onmt.inputters.vocab", Vocab=Vocab), gone_afterwards("onmt.utils.optimizers",
                                                                                Optimizer=Optimizer):
        torch.save({
            "model": _seq2seq_state("encoder.rnn", "decoder.rnn.layers"),
            "generator": {"0.weight": torch.zeros(50, 32), "0.bias": torch.zeros(50)},
            "vocab": {"src": Vocab(), "tgt": Vocab()},
            "opt": argparse.Namespace(rnn_type="LSTM", enc_layers=2, brnn=True, rnn_size=64),
            "optim": Optimizer(),
        }, path)
    doc = _inspect(cli, path)
    assert doc["origin"] == "OpenNMT-py" and doc["location"] == ["model"]
    assert doc["foreign"] == ["argparse.Namespace", "onmt.inputters.vocab.Vocab", "onmt.utils.optimizers.Optimizer"]
    assert _modules(doc) == {"encoder.rnn": _expected(ENCODER), "decoder.rnn.layers.0": _expected(DECODER_CELLS[0]),
                             "decoder.rnn.layers.1": _expected(DECODER_CELLS[1])}


def test_lightning_style_ckpt(cli, tmp_path):
    class AttributeDict(dict):
        pass

    cfg = {"kind": "gru", "input_size": 12, "hidden_size": 20, "num_layers": 3, "bias": False}
    state = OrderedDict((f"model.rnn.{k}", v) for k, v in build(cfg).state_dict().items())
    path = tmp_path / "epoch=2-step=100.ckpt"
    with gone_afterwards("lightning.fabric.utilities.data", AttributeDict=AttributeDict):
        torch.save({"epoch": 2, "global_step": 100, "pytorch-lightning_version": "2.4.0", "state_dict": state,
                    "loops": {"fit_loop": {"state_dict": {}}}, "callbacks": {"ModelCheckpoint": {"best": 0.5}},
                    "optimizer_states": [{"state": {}, "param_groups": []}], "lr_schedulers": [],
                    "hparams_name": "kwargs", "hyper_parameters": AttributeDict(hidden=20, layers=3)}, path)
    doc = _inspect(cli, path)
    assert doc["location"] == ["state_dict"] and doc["origin"] == "PyTorch Lightning 2.4.0"
    assert doc["foreign"] == ["lightning.fabric.utilities.data.AttributeDict"]
    assert _modules(doc) == {"model.rnn": _expected(cfg)}
    assert any("'model.'" in n for n in doc["notes"])


@pytest.mark.parametrize("where", ["__main__", "train_script"])
@pytest.mark.parametrize("legacy", [False, True])
def test_a_whole_pickled_module_whose_class_is_gone(cli, tmp_path, where, legacy):
    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(30, 16)
            self.encoder = nn.LSTM(16, 24, num_layers=2, batch_first=True, dropout=0.1, proj_size=8)
            self.decoder = nn.RNN(8, 10, nonlinearity="relu")
            self.cell = nn.GRUCell(10, 6, bias=False)

    path = tmp_path / "model.pth"
    main = sys.modules["__main__"]
    with (gone_afterwards("train_script", Seq2Seq=Seq2Seq) if where != "__main__"
          else _on_main(main, Seq2Seq)):
        torch.save(Seq2Seq(), path, _use_new_zipfile_serialization=not legacy)
    assert not hasattr(main, "Seq2Seq")
    doc = _inspect(cli, path)
    assert doc["module_class"] == f"{where}.Seq2Seq" and f"{where}.Seq2Seq" in doc["foreign"]
    enc = {"kind": "lstm", "input_size": 16, "hidden_size": 24, "num_layers": 2, "proj_size": 8}
    dec = {"kind": "rnn", "input_size": 8, "hidden_size": 10}
    cell = {"kind": "gru", "cell": True, "input_size": 10, "hidden_size": 6, "bias": False}
    assert _modules(doc) == {"encoder": _expected(enc), "decoder": _expected(dec), "cell": _expected(cell)}
    by = {m["prefix"]: m for m in doc["modules"]}
    # what a state_dict cannot say, the pickled module's attributes do
    assert (by["encoder"]["batch_first"], by["encoder"]["dropout"]) == (True, 0.1)
    assert by["decoder"]["nonlinearity"] == "relu" and by["decoder"]["candidates"] == []
    assert by["encoder"]["constructor"] == ("nn.LSTM(input_size=16, hidden_size=24, num_layers=2, batch_first=True, "
                                            "dropout=0.1, proj_size=8)")
    assert by["encoder"]["command"] == ("rnnshape lstm --input-size 16 --hidden-size 24 --layers 2 --proj-size 8 "
                                        "--batch-first --dropout 0.1")
    # the module matches, but torch.load's default (weights_only=True) refuses a whole pickled module: exit 1
    r = cli("inspect", path, "--prefix", "encoder", "--against", by["encoder"]["command"][9:], "--json")
    doc = r.json()
    assert r.code == 1 and doc["loads"] and doc["mismatches"] == [] and "weights_only" in doc["torch_load"]


@contextlib.contextmanager
def _on_main(main, cls):
    cls.__module__, cls.__qualname__ = "__main__", cls.__name__
    setattr(main, cls.__name__, cls)
    try:
        yield
    finally:
        delattr(main, cls.__name__)


HF_CFG = {"kind": "gru", "input_size": 8, "hidden_size": 16, "num_layers": 2, "bidirectional": True}


def _hf_state() -> dict:
    state = {"embeddings.weight": torch.zeros(10, 8)}
    state.update({f"backbone.rnn.{k}": v for k, v in build(HF_CFG).state_dict().items()})
    state["head.weight"] = torch.zeros(3, 32)
    return state


def _hf_config(folder) -> None:
    (folder / "config.json").write_text(json.dumps({
        "architectures": ["GRUForTokenClassification"], "model_type": "custom-gru", "hidden_size": 16,
        "num_layers": 2, "bidirectional": True, "vocab_size": 10, "torch_dtype": "float32"}))


@pytest.mark.parametrize("layout", ["model.safetensors", "sharded safetensors", "pytorch_model.bin",
                                    "sharded bin", "index file given"])
def test_hugging_face_folders(cli, tmp_path, layout):
    folder = tmp_path / "my-model"
    folder.mkdir()
    _hf_config(folder)
    state = _hf_state()
    if layout == "model.safetensors":
        save_safetensors(folder / "model.safetensors", state)
    elif layout == "pytorch_model.bin":
        torch.save(state, folder / "pytorch_model.bin")
    else:
        ext, stem = ("bin", "pytorch_model") if layout == "sharded bin" else ("safetensors", "model")
        names = list(state)
        shards = {f"{stem}-0000{i + 1}-of-00003.{ext}": names[i::3] for i in range(3)}
        weight_map = {}
        for shard, keys in shards.items():
            part = {k: state[k] for k in keys}
            save_safetensors(folder / shard, part) if ext == "safetensors" else torch.save(part, folder / shard)
            weight_map.update({k: shard for k in keys})
        (folder / f"{stem}.{ext}.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    target = folder / "model.safetensors.index.json" if layout == "index file given" else folder
    doc = _inspect(cli, target)
    assert _modules(doc) == {"backbone.rnn": _expected(HF_CFG)}
    assert doc["tensors"] == len(state)
    assert doc["config"]["model_type"] == "custom-gru" and doc["config"]["hidden_size"] == 16
    assert "vocab_size" not in doc["config"]  # only the model type and recurrent settings
    assert len(doc["files"]) == (1 if layout in ("model.safetensors", "pytorch_model.bin") else 3)


def test_a_damaged_shard_index_is_one_line(cli, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    save_safetensors(folder / "a.safetensors", {"w": torch.zeros(2)})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"w": "a.safetensors",
                                                                                    "v": "b.safetensors"}}))
    r = cli("inspect", folder)
    assert r.code == 2 and "lists the shard 'b.safetensors'" in r.stderr and "Traceback" not in r.stderr
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"v": "a.safetensors"}}))
    r = cli("inspect", folder)
    assert r.code == 2 and "holds 'v', but it does not" in r.stderr


def _export(module, path, input_size):
    """torch's TorchScript-based exporter (dynamo=False) needs only the onnx package."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.zeros((2, 3, input_size)),), str(path), dynamo=False)


class _Encoder(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)[0]


class _Wrapped(nn.Module):
    """The recurrent module at encoder.rnn: the exporter names its nodes /encoder/rnn/LSTM ..."""

    def __init__(self, rnn):
        super().__init__()
        self.encoder = _Encoder(rnn)

    def forward(self, x):
        return self.encoder(x)


@pytest.mark.parametrize("cfg", [
    {"kind": "lstm", "input_size": 5, "hidden_size": 7, "num_layers": 2, "bidirectional": True},
    {"kind": "gru", "input_size": 6, "hidden_size": 4, "num_layers": 3},
    {"kind": "gru", "input_size": 3, "hidden_size": 5, "bidirectional": True, "bias": False},
    {"kind": "rnn", "input_size": 4, "hidden_size": 3, "nonlinearity": "relu"},
])
def test_onnx_exports_are_recovered_and_the_mapping_rebuilds_torch_weights(cli, tmp_path, cfg):
    import onnx
    from onnx import numpy_helper

    torch.manual_seed(0)
    module = build(cfg)
    path = tmp_path / "model.onnx"
    _export(_Wrapped(module), path, cfg["input_size"])
    doc = _inspect(cli, path)
    assert doc["format"] == "onnx" and _modules(doc) == {"encoder.rnn": _expected(cfg)}
    (m,) = doc["modules"]
    if cfg["kind"] == "rnn":
        assert m["nonlinearity"] == "relu" and m["candidates"] == []
    (g,) = doc["onnx"]
    assert g["op"] == cfg["kind"].upper() and g["num_layers"] == cfg.get("num_layers", 1)
    assert g["direction"] == ("bidirectional" if cfg.get("bidirectional") else "forward")
    if cfg["kind"] == "gru":
        assert g["linear_before_reset"] == 1
    # the witness: every torch parameter, rebuilt from the ONNX initializers by the printed mapping
    graph = onnx.load(str(path)).graph
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
    nodes = {n.name: n for n in graph.node}
    state = {f"encoder.rnn.{k}": v for k, v in module.state_dict().items()}
    assert {x["torch"] for x in g["mapping"]} == set(state)
    for x in g["mapping"]:
        tensor = inits[nodes[x["node"]].input["WRB".index(x["tensor"]) + 1]][x["direction"]]
        rebuilt = torch.cat([tensor[a:b] for a, b in x["rows"]])
        assert torch.equal(rebuilt, state[x["torch"]].detach()), x


def test_onnx_without_the_package_says_how_to_install(cli, tmp_path, monkeypatch):
    path = tmp_path / "m.onnx"
    _export(_Wrapped(nn.GRU(3, 2)), path, 3)
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    r = cli("inspect", path)
    assert r.code == 3 and "pip install 'rnnshape[onnx]'" in r.stderr and "Traceback" not in r.stderr


def test_check_against_an_onnx_export(cli, tmp_path):
    path = tmp_path / "m.onnx"
    _export(_Wrapped(nn.LSTM(5, 7, num_layers=2)), path, 5)
    assert cli("lstm", "--input-size", "5", "--hidden-size", "7", "--layers", "2", "--check", path).code == 0
    r = cli("lstm", "--input-size", "5", "--hidden-size", "7", "--check", path, "--json")
    assert r.code == 1 and r.json()["match"] is False


def test_onnx_nodes_torch_cannot_express_are_said(cli, tmp_path):
    """A hand-built graph: a reverse GRU without linear_before_reset, and an RNN with a foreign activation."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper, save

    def init(name, shape):
        return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)

    gru = helper.make_node("GRU", ["x", "gW", "gR", ""], ["gy"], name="/dec/gru/GRU", hidden_size=4,
                           direction="reverse")
    rnn = helper.make_node("RNN", ["x", "rW", "rR", "rB"], ["ry"], name="/other/RNN", hidden_size=2,
                           activations=["Sigmoid"])
    graph = helper.make_graph(
        [gru, rnn], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 1, 5])],
        [helper.make_tensor_value_info("gy", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("ry", TensorProto.FLOAT, None)],
        [init("gW", (1, 12, 5)), init("gR", (1, 12, 4)), init("rW", (1, 2, 5)), init("rR", (1, 2, 2)),
         init("rB", (1, 4))])
    path = tmp_path / "hand.onnx"
    save(helper.make_model(graph), str(path))
    doc = _inspect(cli, path)
    assert _modules(doc) == {"dec.gru": _expected({"kind": "gru", "input_size": 5, "hidden_size": 4, "bias": False}),
                             "other": _expected({"kind": "rnn", "input_size": 5, "hidden_size": 2})}
    g, r = doc["onnx"]
    assert g["direction"] == "reverse" and g["linear_before_reset"] == 0
    assert any("linear_before_reset=0" in n for n in g["notes"]) and any("reverse" in n for n in g["notes"])
    assert any("Sigmoid" in n for n in r["notes"])


def test_a_state_dict_of_a_dict_subclass_whose_package_is_gone(cli, tmp_path):
    class StateDict(OrderedDict):
        pass

    cfg = {"kind": "rnn", "input_size": 3, "hidden_size": 4, "num_layers": 2}
    path = tmp_path / "m.pt"
    with gone_afterwards("vendored.utils", StateDict=StateDict):
        torch.save({"model": StateDict((f"rnn.{k}", v) for k, v in build(cfg).state_dict().items())}, path)
    doc = _inspect(cli, path)
    assert doc["location"] == ["model"] and doc["foreign"] == ["vendored.utils.StateDict"]
    assert _modules(doc) == {"rnn": _expected(cfg)}
