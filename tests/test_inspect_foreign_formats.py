"""TorchScript, Keras and NumPy files, and the TensorFlow formats refused by name (issue 22).

Real files no one here made: silero-vad's TorchScript model and g2p_en's .npz (both from their PyPI packages,
found without importing them), pytorch/examples' word-language-model class scripted and traced, a Keras 2
weights file that chars2vec ships (committed, tests/data/formats/README.md), and Keras 3 files that the real
keras package wrote (tests/data/formats/make_keras_files.py, with keras's own outputs beside them).

For each, the module rnnshape prints is built here from its constructor, loaded strictly with the tensors
``files.read_tensors`` converts, and run: it must reproduce the source's outputs to 1e-5 (float32), where the
source can be evaluated (torch.jit.load for TorchScript, keras's recorded outputs or the Keras equations in
NumPy, g2p_en's own NumPy GRU cell). Where torch computes another function (hard_sigmoid,
reset_after=False), rnnshape must say so, and the outputs must indeed differ.
"""

from __future__ import annotations

import importlib.util
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from checkpoint_files import build
from torch import nn

from rnnshape.checkpoint.files import read_tensors

DATA = Path(__file__).parent / "data" / "formats"
TOL = 1e-5


def _package_file(package: str, *parts: str) -> Path:
    """A file that a PyPI package ships, found without importing the package (its import may do anything)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        if os.environ.get("CI"):
            pytest.fail(f"{package} is not installed: pip install '.[test]' installs it")
        pytest.skip(f"needs {package}: pip install '.[test]'")
    return Path(list(spec.submodule_search_locations)[0], *parts)


def _inspect(cli, path) -> dict:
    r = cli("inspect", path, "--json")
    assert r.code == 0, r.stderr
    assert "Traceback" not in r.stderr
    return r.json()


def _module(doc: dict, prefix: str) -> dict:
    return next(m for m in doc["modules"] if m["prefix"] == prefix)


def _printed(module: dict) -> nn.Module:
    """The module rnnshape prints, built from its constructor line, in eval mode."""
    assert module["recognised"], module["reason"]
    return eval(module["constructor"], {"nn": nn}).eval()  # noqa: S307 (our own constructor line)


def _loaded(path, module: dict) -> nn.Module:
    """The printed module, with the file's tensors (under its prefix) loaded strictly."""
    built = _printed(module)
    prefix = module["prefix"] + "." if module["prefix"] else ""
    names = [prefix + name for name in built.state_dict()]
    tensors = read_tensors(path, names)
    built.load_state_dict({k[len(prefix):]: v for k, v in tensors.items()}, strict=True)
    return built


def _config(module: dict) -> dict:
    keys = ("kind", "cell", "input_size", "hidden_size", "num_layers", "bidirectional", "proj_size", "bias")
    return {k: module[k] for k in keys}


# --- TorchScript ------------------------------------------------------------------------------------------

def test_silero_vad_torchscript_model_two_lstm_cells(cli, monkeypatch):
    path = _package_file("silero_vad", "data", "silero_vad.jit")
    real_load = torch.jit.load
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: pytest.fail("rnnshape called torch.jit.load"))
    doc = _inspect(cli, path)
    monkeypatch.setattr(torch.jit, "load", real_load)
    assert doc["format"] == "torchscript"
    assert [m["prefix"] for m in doc["modules"]] == ["_model.decoder.rnn", "_model_8k.decoder.rnn"]
    source = real_load(str(path)).eval()  # the test trusts this file; rnnshape never runs it
    torch.manual_seed(0)
    x, h, c = torch.randn(3, 128), torch.randn(3, 128), torch.randn(3, 128)
    for m in doc["modules"]:
        assert _config(m) == {"kind": "lstm", "cell": True, "input_size": 128, "hidden_size": 128,
                              "num_layers": 1, "bidirectional": False, "proj_size": 0, "bias": True}
        original = source
        for part in m["prefix"].split("."):
            original = getattr(original, part)
        converted = _loaded(path, m)
        with torch.no_grad():
            want, got = original(x, (h, c)), converted(x, (h, c))
        for w, g in zip(want, got):
            assert (w - g).abs().max().item() <= TOL


def _word_language_model():
    spec = importlib.util.spec_from_file_location("word_language_model",
                                                  Path(__file__).parent / "corpus" / "word_language_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RNNModel


@pytest.mark.parametrize("rnn_type, how", [("LSTM", "trace"), ("GRU", "trace"), ("RNN_RELU", "trace"),
                                           ("LSTM", "script"), ("RNN_RELU", "script")])
def test_word_language_model_traced_and_scripted(cli, tmp_path, rnn_type, how):
    """The whole model traced; torch.jit.script refuses its forward as written (hidden is untyped), so the
    scripted file is its recurrent module, scripted alone (prefix '')."""
    torch.manual_seed(0)
    model = _word_language_model()(rnn_type, ntoken=50, ninp=16, nhid=24, nlayers=2, dropout=0.3).eval()
    tokens = torch.randint(0, 50, (7, 3))
    hidden = model.init_hidden(3)
    exported = torch.jit.trace(model, (tokens, hidden)) if how == "trace" else torch.jit.script(model.rnn)
    path = tmp_path / f"wlm_{rnn_type}_{how}.pt"
    torch.jit.save(exported, str(path))
    doc = _inspect(cli, path)
    assert doc["format"] == "torchscript"
    m = _module(doc, "rnn" if how == "trace" else "")
    kind = {"LSTM": "lstm", "GRU": "gru"}.get(rnn_type, "rnn")
    assert _config(m) == {"kind": kind, "cell": False, "input_size": 16, "hidden_size": 24, "num_layers": 2,
                          "bidirectional": False, "proj_size": 0, "bias": True}
    if how == "script":  # a scripted module keeps its constructor's attributes
        assert m["dropout"] == 0.3 and m["batch_first"] is False
        if kind == "rnn":
            assert m["nonlinearity"] == "relu" and m["constructor"].count("relu") == 1
    elif kind == "rnn":  # a traced module keeps only tensors: tanh and relu are both candidates
        relu = [c for c in m["candidates"] if c["nonlinearity"] == "relu"]
        assert len(m["candidates"]) == 2 and len(relu) == 1
        m = {**m, "constructor": relu[0]["constructor"]}
    converted = _loaded(path, m)
    emb = torch.randn(7, 3, 16)
    with torch.no_grad():
        want, got = model.rnn(emb, hidden), converted(emb, hidden)
    assert (want[0] - got[0]).abs().max().item() <= TOL


@pytest.mark.parametrize("cfg", [
    {"kind": "lstm", "input_size": 5, "hidden_size": 6, "num_layers": 2, "bidirectional": True, "proj_size": 3},
    {"kind": "gru", "input_size": 4, "hidden_size": 3, "bias": False},
    {"kind": "rnn", "cell": True, "input_size": 4, "hidden_size": 2, "nonlinearity": "relu"},
])
def test_scripted_modules_nested_in_a_model(cli, tmp_path, cfg):
    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(2, 2)
            self.body = nn.Sequential(nn.Identity(), build(cfg))

    path = tmp_path / "nested.pt"
    torch.jit.save(torch.jit.script(Outer()), str(path))
    m = _module(_inspect(cli, path), "body.1")
    expected = build(cfg)
    assert _printed(m).state_dict().keys() == expected.state_dict().keys()
    assert {k: v.shape for k, v in _printed(m).state_dict().items()} == {
        k: v.shape for k, v in expected.state_dict().items()}


# --- Keras ----------------------------------------------------------------------------------------------------

# What make_keras_files.py built, as torch modules (batch-major); the layers torch computes otherwise say so.
KERAS_MODELS = {
    "stack": {"lstm": ("lstm", 5, 4, False, True, None), "gru": ("gru", 4, 3, False, True, None),
              "simple_rnn": ("rnn", 3, 2, False, True, None)},
    "odd": {"bi_lstm": ("lstm", 3, 4, True, True, None), "bi_gru": ("gru", 8, 3, True, True, None),
            "gru_v1": ("gru", 6, 2, False, True, "reset_after=False"),
            "odd_lstm": ("lstm", 2, 3, False, False, "recurrent_activation=hard_sigmoid")},
    "nested": {"encoder.enc_lstm": ("lstm", 3, 4, False, True, None), "dec_gru": ("gru", 4, 2, False, True, None)},
}


@pytest.fixture(scope="module")
def keras_reference():
    with np.load(DATA / "keras_reference.npz") as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("model", sorted(KERAS_MODELS))
@pytest.mark.parametrize("suffix", [".keras", ".h5", ".weights.h5"])
def test_keras_3_files_load_into_the_printed_torch_modules(cli, model, suffix, keras_reference):
    pytest.importorskip("h5py", reason="needs the keras extra: pip install 'rnnshape[keras]'")
    path = DATA / f"{model}{suffix}"
    doc = _inspect(cli, path)
    assert sorted(m["prefix"] for m in doc["modules"]) == sorted(KERAS_MODELS[model])
    for prefix, (kind, inp, hidden, bidirectional, bias, differs) in KERAS_MODELS[model].items():
        m = _module(doc, prefix)
        assert _config(m) == {"kind": kind, "cell": False, "input_size": inp, "hidden_size": hidden,
                              "num_layers": 1, "bidirectional": bidirectional, "proj_size": 0, "bias": bias}
        assert m["batch_first"] is True
        said = " ".join(m["notes"])
        if differs and (suffix != ".weights.h5" or "reset_after" in differs):  # weights alone: no activations
            assert f"torch computes this differently: {differs}" in said
        elif suffix != ".weights.h5":
            assert "torch computes this differently" not in said
        if kind == "rnn" and suffix == ".weights.h5":  # no configuration: tanh and relu are both candidates
            assert m["nonlinearity"] is None or m["candidates"]
            relu = next(c["constructor"] for c in m["candidates"] if c["nonlinearity"] == "relu")
            # the candidates' constructors leave out the batch_first=True the module shows (noted for E2)
            m = {**m, "constructor": relu if "batch_first" in relu else relu[:-1] + ", batch_first=True)"}
        elif kind == "rnn":
            assert m["nonlinearity"] == "relu" and not m["candidates"]
        converted = _loaded(path, m)
        x = torch.from_numpy(keras_reference[f"{model}/{prefix}/x"])
        want = torch.from_numpy(keras_reference[f"{model}/{prefix}/y"])
        backwards = prefix == "odd_lstm"  # go_backwards=True, return_sequences=False
        with torch.no_grad():
            out, _ = converted(x.flip(1) if backwards else x)
        got = out if want.dim() == 3 else out[:, -1]
        diff = (want - got).abs().max().item()
        if differs:
            assert diff > 1e-3, "torch was said to compute another function, but matched"
        else:
            assert diff <= TOL, (prefix, diff)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_the_keras_equations_in_numpy_reproduce_keras(suffix, keras_reference):
    """checkpoint.keras.evaluate (the witness a conversion can be checked against) against keras's own outputs,
    hard_sigmoid, reset_after=False, go_backwards and Bidirectional included."""
    pytest.importorskip("h5py", reason="needs the keras extra: pip install 'rnnshape[keras]'")
    from rnnshape.checkpoint.keras import evaluate

    for model, layers in KERAS_MODELS.items():
        for prefix in layers:
            x = keras_reference[f"{model}/{prefix}/x"]
            want = keras_reference[f"{model}/{prefix}/y"]
            assert np.abs(evaluate(str(DATA / f"{model}{suffix}"), prefix, x) - want).max() <= TOL, prefix


def _keras_lstm(x, kernel, recurrent, bias):
    """Keras's LSTM equations (sigmoid gates, gates i, f, c, o), in NumPy: the output at every step."""
    h = np.zeros((x.shape[0], recurrent.shape[0]), np.float64)
    c = np.zeros_like(h)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    out = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(z, 4, axis=-1)
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        out.append(h)
    return np.stack(out, 1)


def test_a_real_keras_2_weights_file_chars2vec(cli):
    """chars2vec 0.1.7's eng_50/weights.h5: LSTM(50, return_sequences=True) then LSTM(50), Keras 2.2.0."""
    h5py = pytest.importorskip("h5py", reason="needs the keras extra: pip install 'rnnshape[keras]'")
    path = DATA / "chars2vec_eng_50_weights.h5"
    doc = _inspect(cli, path)
    assert {m["prefix"]: _config(m) for m in doc["modules"]} == {
        "lstm_1": {"kind": "lstm", "cell": False, "input_size": 59, "hidden_size": 50, "num_layers": 1,
                   "bidirectional": False, "proj_size": 0, "bias": True},
        "lstm_2": {"kind": "lstm", "cell": False, "input_size": 50, "hidden_size": 50, "num_layers": 1,
                   "bidirectional": False, "proj_size": 0, "bias": True}}
    assert "hard_sigmoid" in " ".join(_module(doc, "lstm_1")["notes"])  # Keras 2.2's default, unrecorded
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 59)).astype(np.float32)
    with h5py.File(path, "r") as f:
        for name in ("lstm_1", "lstm_2"):
            g = f[name][name]
            want = _keras_lstm(x.astype(np.float64), g["kernel:0"][()], g["recurrent_kernel:0"][()], g["bias:0"][()])
            with torch.no_grad():
                got, _ = _loaded(path, _module(doc, name))(torch.from_numpy(x))
            assert np.abs(want - got.numpy()).max() <= TOL
            x = want.astype(np.float32)


def test_a_real_keras_2_model_file_ethnicolr(cli):
    """ethnicolr 0.9.6's census2000_ln_lstm.h5: a whole Keras 2.5.0 model (model_config), Embedding(32) -> LSTM(128)."""
    pytest.importorskip("h5py", reason="needs the keras extra: pip install 'rnnshape[keras]'")
    from rnnshape.checkpoint.keras import evaluate

    path = DATA / "ethnicolr_census2000_ln_lstm.h5"
    doc = _inspect(cli, path)
    (m,) = doc["modules"]
    assert m["prefix"] == "lstm" and m["batch_first"] is True
    assert _config(m) == {"kind": "lstm", "cell": False, "input_size": 32, "hidden_size": 128, "num_layers": 1,
                          "bidirectional": False, "proj_size": 0, "bias": True}
    assert "return_sequences=False" in " ".join(m["notes"])
    assert not any("torch computes this differently" in n for n in m["notes"])  # sigmoid and tanh: torch's
    x = np.random.default_rng(3).standard_normal((2, 9, 32)).astype(np.float32)
    want = evaluate(str(path), "lstm", x)  # the last step only, as the layer returns
    with torch.no_grad():
        got, _ = _loaded(path, m)(torch.from_numpy(x))
    assert np.abs(want - got[:, -1].numpy()).max() <= TOL


def test_without_h5py_keras_files_say_how_to_install(cli, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "h5py", None)
    r = cli("inspect", DATA / "stack.keras")
    assert r.code == 3 and "pip install 'rnnshape[keras]'" in r.stderr and "Traceback" not in r.stderr


# --- NumPy ------------------------------------------------------------------------------------------------------

def _g2p_grucell(x, h, w_ih, w_hh, b_ih, b_hh):
    """g2p_en 2.1.0's own GRU cell (g2p_en/g2p.py, G2p.grucell), verbatim but for self."""
    rzn_ih = np.matmul(x, w_ih.T) + b_ih
    rzn_hh = np.matmul(h, w_hh.T) + b_hh
    rz_ih, n_ih = rzn_ih[:, :rzn_ih.shape[-1] * 2 // 3], rzn_ih[:, rzn_ih.shape[-1] * 2 // 3:]
    rz_hh, n_hh = rzn_hh[:, :rzn_hh.shape[-1] * 2 // 3], rzn_hh[:, rzn_hh.shape[-1] * 2 // 3:]
    rz = 1 / (1 + np.exp(-(rz_ih + rz_hh)))
    r, z = np.split(rz, 2, -1)
    n = np.tanh(n_ih + r * n_hh)
    return (1 - z) * n + z * h


def test_g2p_en_npz_gru_encoder_and_decoder(cli):
    path = _package_file("g2p_en", "checkpoint20.npz")
    doc = _inspect(cli, path)
    assert {m["prefix"]: _config(m) for m in doc["modules"]} == {
        p: {"kind": "gru", "cell": True, "input_size": 256, "hidden_size": 256, "num_layers": 1,
            "bidirectional": False, "proj_size": 0, "bias": True} for p in ("enc", "dec")}
    arrays = np.load(path)
    rng = np.random.default_rng(2)
    x, h = rng.standard_normal((3, 256)).astype(np.float32), rng.standard_normal((3, 256)).astype(np.float32)
    for p in ("enc", "dec"):
        want = _g2p_grucell(x, h, *(arrays[f"{p}_{k}"] for k in ("w_ih", "w_hh", "b_ih", "b_hh")))
        with torch.no_grad():
            got = _loaded(path, _module(doc, p))(torch.from_numpy(x), torch.from_numpy(h))
        assert np.abs(want - got.numpy()).max() <= TOL


def test_npz_arrays_with_no_recurrent_names_are_guessed_by_shape(cli, tmp_path):
    torch.manual_seed(0)
    cell = nn.LSTMCell(5, 3)
    path = tmp_path / "weights.npz"
    # names that say nothing: the kind must come from (4·3, 3) beside (4·3, 5)
    np.savez(path, a_input=cell.weight_ih.detach().numpy(), a_state=cell.weight_hh.detach().numpy(),
             a_b1=cell.bias_ih.detach().numpy(), a_b2=cell.bias_hh.detach().numpy(), other=np.zeros((2, 7)))
    doc = _inspect(cli, path)
    (m,) = doc["modules"]
    assert m["prefix"] == "a" and _config(m)["kind"] == "lstm" and m["cell"] and m["input_size"] == 5
    assert any("a guess from the shapes alone" in n for n in m["notes"])
    x = torch.randn(2, 5)
    with torch.no_grad():
        assert all((w - g).abs().max() <= TOL for w, g in zip(cell(x), _loaded(path, m)(x)))


def test_npz_of_a_torch_state_dict_and_a_single_npy(cli, tmp_path):
    lstm = build({"kind": "lstm", "input_size": 4, "hidden_size": 3, "num_layers": 2})
    path = tmp_path / "state.npz"
    np.savez_compressed(path, **{f"enc.{k}": v.numpy() for k, v in lstm.state_dict().items()})
    (m,) = _inspect(cli, path)["modules"]
    assert m["prefix"] == "enc" and m["constructor"] == "nn.LSTM(input_size=4, hidden_size=3, num_layers=2)"
    one = tmp_path / "w.npy"
    np.save(one, np.zeros((12, 4), np.float32))
    r = cli("inspect", one, "--json")
    assert r.code == 0 and r.json()["modules"] == [] and r.json()["tensors"] == 1


def test_npz_with_pickled_objects_is_refused_unloaded(cli, tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, w=np.array([{"a": 1}], dtype=object))
    r = cli("inspect", path)
    assert r.code == 2 and "pickled Python objects" in r.stderr and "Traceback" not in r.stderr


# --- formats refused by name -------------------------------------------------------------------------------------

def _refused(r, *words):
    assert r.code == 2, (r.code, r.stdout, r.stderr)
    first, *rest = r.stderr.splitlines()
    assert first.startswith("rnnshape: error: ") and all(line.startswith("hint: ") for line in rest)
    assert len(rest) == 1 and "Traceback" not in r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


def test_tensorflow_formats_are_named_with_what_to_do(cli, tmp_path):
    saved = tmp_path / "export"
    (saved / "variables").mkdir(parents=True)
    (saved / "saved_model.pb").write_bytes(b"\x12\x00")
    _refused(cli("inspect", saved), "TensorFlow SavedModel folder", "tf2onnx")
    _refused(cli("inspect", saved / "saved_model.pb"), "SavedModel", "tf2onnx")
    lite = tmp_path / "model.bin"
    lite.write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(40))  # the .tflite flatbuffer identifier, any name
    _refused(cli("inspect", lite), "TensorFlow Lite", "--tflite")
    frozen = tmp_path / "frozen.pb"
    frozen.write_bytes(b"\n\x0c\n\x01x\x12\x07Placeholder")
    _refused(cli("inspect", frozen), "frozen GraphDef", "--graphdef")
    ckpt = tmp_path / "model.ckpt.index"
    ckpt.write_bytes(b"\x00" * 20)
    (tmp_path / "model.ckpt.data-00000-of-00001").write_bytes(b"\x00")
    _refused(cli("inspect", ckpt), "TensorFlow checkpoint")


def test_other_unreadable_files_are_named(cli, tmp_path):
    h5py = pytest.importorskip("h5py", reason="needs the keras extra: pip install 'rnnshape[keras]'")
    plain = tmp_path / "data.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.zeros(3)
    _refused(cli("inspect", plain), "HDF5 file but not a Keras model")
    cut = tmp_path / "cut.keras"
    cut.write_bytes((DATA / "stack.keras").read_bytes()[:3000])
    _refused(cli("inspect", cut), "cut.keras")
    empty = tmp_path / "nothing.keras"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("config.json", "{}")
    _refused(cli("inspect", empty), "without model.weights.h5")
    old = tmp_path / "old_jit.pt"  # torch.jit.save before PyTorch 1.4: model.json, no data.pkl
    with zipfile.ZipFile(old, "w") as z:
        z.writestr("m/model.json", "{}")
        z.writestr("m/code/m.py", "op_version_set = 0")
    _refused(cli("inspect", old), "TorchScript archive without data.pkl", "torch.jit.save")
    gz = tmp_path / "model.pt.gz"
    gz.write_bytes(b"\x1f\x8b\x08\x00" + bytes(20))
    _refused(cli("inspect", gz), "gzip")


# --- read_tensors: one interface for every format -----------------------------------------------------------------

@pytest.mark.parametrize("how", ["plain", "legacy", "model_state_dict", "safetensors", "npz", "folder"])
def test_read_tensors_gives_the_state_dict_under_the_entry_names(tmp_path, how):
    from checkpoint_files import save

    from rnnshape.checkpoint.files import read_checkpoint

    torch.manual_seed(0)
    state = {f"enc.{k}": v for k, v in build({"kind": "gru", "input_size": 3, "hidden_size": 2,
                                               "bidirectional": True}).state_dict().items()}
    if how == "npz":
        path = tmp_path / "w.npz"
        np.savez(path, **{k: v.numpy() for k, v in state.items()})
    elif how == "folder":
        path = tmp_path
        save(tmp_path / "model.safetensors", state, "safetensors")
    else:
        path = tmp_path / ("w.safetensors" if how == "safetensors" else "w.pt")
        save(path, state, how)
    got = read_tensors(path)
    assert [e.name for e in read_checkpoint(path).entries] == list(got) == list(state)
    assert all(torch.equal(got[k], v) for k, v in state.items())
    assert list(read_tensors(path, ["enc.bias_hh_l0"])) == ["enc.bias_hh_l0"]


class _Plant:
    """Unpickling this calls open(marker, 'w'): the file appears only if the pickle was allowed to run code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_hostile_torchscript_archive_runs_nothing(cli, tmp_path, monkeypatch):
    import pickle

    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    torch.jit.save(torch.jit.script(nn.GRU(3, 2)), str(path))
    with zipfile.ZipFile(path) as z:  # the same archive, its data.pkl replaced by a payload beside the module
        members = {n: z.read(n) for n in z.namelist()}
    data = next(n for n in members if n.endswith("/data.pkl"))
    members[data] = pickle.dumps({"payload": _Plant(marker)}, protocol=2)
    with zipfile.ZipFile(path, "w") as z:
        for name, raw in members.items():
            z.writestr(name, raw)
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: pytest.fail("torch.jit.load was called"))
    r = cli("inspect", path)
    assert not marker.exists()
    assert r.code == 2 and "holds no tensors" in r.stderr and "io.open" in r.stderr and "Traceback" not in r.stderr


def test_keras_batch_major_is_said_as_the_convention_not_as_stored(cli):
    """A weights-only Keras file holds no configuration: batch_first=True is Keras's batch-major convention."""
    pytest.importorskip("h5py", reason="needs the keras extra: pip install 'rnnshape[keras]'")
    doc = _inspect(cli, DATA / "chars2vec_eng_50_weights.h5")
    m = _module(doc, "lstm_1")
    notes = " ".join(m["notes"])
    assert "the file holds no model configuration" in notes
    assert "stored in the file" not in notes
    assert "batch_first=True: Keras layers are batch-major; the file does not store it" in notes
    # the printed module takes what the Keras layer takes: (batch, time, features)
    x = torch.zeros(2, 7, 59)
    out, _ = _printed(m)(x)
    assert out.shape == nn.LSTM(59, 50, batch_first=True)(x)[0].shape == (2, 7, 50)
    # a Keras 2 model file that records time_major=False does store it
    ethnicolr = " ".join(_module(_inspect(cli, DATA / "ethnicolr_census2000_ln_lstm.h5"), "lstm")["notes"])
    assert "stored in the file: batch_first=True" in ethnicolr
