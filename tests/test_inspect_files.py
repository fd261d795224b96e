"""Bad and hostile files: one clear line on stderr, exit 2, never a traceback, and nothing runs."""

from __future__ import annotations

import json
import os
import pickle
import struct

import pytest
from checkpoint_files import build, save, save_safetensors


class _Plant:
    """Unpickling this calls open(marker, 'w'): the file appears only if the pickle was allowed to run code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _one_error(r, *words):
    assert r.code == 2, (r.code, r.stdout, r.stderr)
    assert r.stdout == ""
    first, *rest = r.stderr.splitlines()
    assert first.startswith("rnnshape: error: ")
    assert all(line.startswith("hint: ") for line in rest) and len(rest) <= 1
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in first, first
    return first


@pytest.mark.parametrize("how", ["torch.save", "pickle protocol 2", "pickle protocol 4", "inside a state_dict"])
def test_a_pickle_that_runs_code_is_read_inertly_and_nothing_runs(cli, tmp_path, how):
    import torch

    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    if how == "torch.save":
        torch.save({"state_dict": {"x": _Plant(marker)}}, path)
    elif how == "inside a state_dict":
        state = dict(build({"kind": "lstm", "input_size": 3, "hidden_size": 2}).state_dict())
        state["payload"] = _Plant(marker)
        torch.save(state, path)
    else:
        path.write_bytes(pickle.dumps({"x": _Plant(marker)}, protocol=int(how[-1])))
    r = cli("inspect", path, "--json")
    assert not marker.exists()
    if how == "inside a state_dict":  # the weights are read; the payload is a stand-in that was never called
        assert r.code == 0 and r.json()["foreign"] == ["io.open"] and r.json()["reader"] == "inert"
        assert r.json()["modules"][0]["constructor"] == "nn.LSTM(input_size=3, hidden_size=2)"
    else:
        _one_error(r, "holds no tensors", "io.open", "none of which was run")
    assert not marker.exists()


def test_a_pickled_module_is_read_without_its_class(cli, tmp_path):
    import torch

    path = tmp_path / "whole.pt"
    torch.save(build({"kind": "gru", "input_size": 3, "hidden_size": 2}), path)
    doc = cli("inspect", path, "--json").json()
    assert doc["module_class"] == "torch.nn.modules.rnn.GRU" and doc["foreign"] == ["torch.nn.modules.rnn.GRU"]
    assert [m["constructor"] for m in doc["modules"]] == ["nn.GRU(input_size=3, hidden_size=2)"]


def _zip_checkpoint(tmp_path):
    path = tmp_path / "ok.pt"
    save(path, build({"kind": "lstm", "input_size": 30, "hidden_size": 20}).state_dict(), "plain")
    return path.read_bytes()


def _safetensors(tmp_path):
    path = tmp_path / "ok.safetensors"
    save_safetensors(path, build({"kind": "lstm", "input_size": 30, "hidden_size": 20}).state_dict())
    return path.read_bytes()


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda t: b"", ["empty"]),
        (lambda t: _zip_checkpoint(t)[:-100], ["truncated or corrupt"]),
        (lambda t: _zip_checkpoint(t)[:30], ["truncated or corrupt"]),
        (lambda t: _safetensors(t)[:-10], ["truncated", "ends at byte"]),
        (lambda t: _safetensors(t)[:5], ["not a PyTorch checkpoint or a safetensors file"]),
        (lambda t: struct.pack("<Q", 10**12) + b"{}", ["truncated or corrupt", "header claims"]),
        (lambda t: struct.pack("<Q", 8) + b"{not js}", ["corrupt safetensors header"]),
        (lambda t: struct.pack("<Q", 8) + b'{"a": 1}', ["'a' is not described by an object"]),
        (lambda t: _st_header({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}}, 20),
         ["20 bytes of data for shape (2, 3)"]),
        (lambda t: _st_header({"w": {"dtype": "Q9", "shape": [2], "data_offsets": [0, 8]}}, 8), ["unknown dtype"]),
        (lambda t: _st_header({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}, 0), ["valid shape"]),
        (lambda t: b"hello, I am a text file\n", ["not a PyTorch checkpoint", "b'hello, I'"]),
        (lambda t: b"\x89PNG\r\n\x1a\n" + bytes(40), ["not a PyTorch checkpoint"]),
        (lambda t: b"\x80\x02garbage that is not a pickle", ["cannot read", "nothing was run"]),
    ],
)
def test_damaged_and_foreign_files_give_one_line(cli, tmp_path, make, words):
    path = tmp_path / "bad.pt"
    path.write_bytes(make(tmp_path))
    _one_error(cli("inspect", path), str(path), *words)


def _st_header(header: dict, data: int) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(data)


def test_a_zip_of_other_files_is_not_a_checkpoint(cli, tmp_path):
    import zipfile

    path = tmp_path / "notes.zip"  # (an .npz of arrays is read: tests/test_inspect_formats.py)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("notes.txt", "hello")
    _one_error(cli("inspect", path), "zip archive", "no data.pkl")


@pytest.mark.parametrize("obj, words", [([1, 2, 3], "a list"), ({"epoch": 3, "lr": 0.1}, "keys epoch, lr"),
                                        ({}, "an empty dict")])
def test_a_file_without_tensors_is_not_a_checkpoint(cli, tmp_path, obj, words):
    import torch

    path = tmp_path / "meta.pt"
    torch.save(obj, path)
    _one_error(cli("inspect", path), "holds no tensors", words)


def test_missing_file_and_empty_directory(cli, tmp_path):
    _one_error(cli("inspect", tmp_path / "nope.pt"), "no such file")
    _one_error(cli("inspect", tmp_path), "a folder with no weight file")


@pytest.mark.parametrize("how", ["plain", "safetensors"])
def test_no_recurrent_module_is_exit_0_and_said_on_stderr(cli, tmp_path, how):
    from torch import nn

    path = tmp_path / "linear.bin"
    save(path, nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1)).state_dict(), how)
    r = cli("inspect", path)
    assert r.code == 0 and "holds no recurrent module" in r.stderr and "Traceback" not in r.stderr
    r = cli("inspect", path, "--json")
    assert r.code == 0 and r.json()["modules"] == [] and r.json()["tensors"] == 4


def test_kind_of_file_is_told_by_content_not_extension(cli, tmp_path):
    path = tmp_path / "weights.pt"  # safetensors bytes under a .pt name
    save_safetensors(path, build({"kind": "gru", "input_size": 5, "hidden_size": 4}).state_dict())
    r = cli("inspect", path, "--json")
    assert r.code == 0 and r.json()["format"] == "safetensors"
    assert r.json()["modules"][0]["constructor"] == "nn.GRU(input_size=5, hidden_size=4)"


def test_zip_checkpoints_are_memory_mapped(tmp_path, monkeypatch):
    """Large files must not be read into memory twice: torch.load gets mmap=True for zip checkpoints."""
    import torch

    from rnnshape.checkpoint.files import read_checkpoint

    seen = []
    real = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **kw: seen.append(kw) or real(*a, **kw))
    path = tmp_path / "m.pt"
    save(path, build({"kind": "rnn", "input_size": 2, "hidden_size": 2}).state_dict(), "plain")
    read_checkpoint(path)
    assert seen == [{"map_location": "cpu", "weights_only": True, "mmap": True}]


def test_weights_only_first_and_the_inert_reader_only_when_it_refuses(tmp_path, monkeypatch):
    """A plain state_dict is read by torch's own restricted reader; a Namespace beside it sends the file
    to the inert reader, memory-mapped as well."""
    import argparse

    import torch

    from rnnshape.checkpoint import inert
    from rnnshape.checkpoint.files import read_checkpoint

    seen = []
    real = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **kw: seen.append(kw) or real(*a, **kw))
    state = build({"kind": "lstm", "input_size": 3, "hidden_size": 2}).state_dict()
    plain, mixed = tmp_path / "plain.pt", tmp_path / "mixed.pt"
    save(plain, state, "plain")
    torch.save({"state_dict": state, "args": argparse.Namespace(lr=0.1)}, mixed)
    ckpt = read_checkpoint(plain)
    assert (ckpt.reader, ckpt.foreign) == ("weights_only", ()) and len(seen) == 1
    seen.clear()
    ckpt = read_checkpoint(mixed)
    assert (ckpt.reader, ckpt.foreign, ckpt.location) == ("inert", ("argparse.Namespace",), ("state_dict",))
    assert [kw["weights_only"] for kw in seen] == [True, False]
    assert seen[1]["pickle_module"] is inert and seen[1]["mmap"] is True


def test_torch_forcing_weights_only_is_said(cli, tmp_path, monkeypatch):
    import argparse

    import torch

    path = tmp_path / "mixed.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "args": argparse.Namespace(lr=0.1)}, path)
    monkeypatch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")
    r = cli("inspect", path)
    assert r.code == 3 and "TORCH_FORCE_WEIGHTS_ONLY_LOAD" in r.stderr and "Traceback" not in r.stderr


# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking process (here pytest, which
# just held the big state_dict), while VmHWM belongs to this process's own memory map.
_PEAK = """
import sys
from rnnshape.checkpoint.inspection import inspect_checkpoint
found = inspect_checkpoint(sys.argv[1])
assert found.modules, "no module found"
print(next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


@pytest.mark.slow
@pytest.mark.parametrize("how", ["pickle.dump", "legacy torch.save"])
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak from Linux's /proc")
def test_a_big_pickle_is_read_in_about_its_own_size(tmp_path, how):
    """Issue 22: a plain pickle of N bytes peaked at about 2N (each storage's bytes stayed in the pickle's memo
    while torch copied them); now at most N + 300 MB above what importing torch and reading a tiny file takes."""
    import subprocess
    import sys

    import torch
    from torch import nn

    def write(path, state):
        if how == "pickle.dump":
            with open(path, "wb") as f:
                pickle.dump(state, f, protocol=4)
        else:
            torch.save(state, path, _use_new_zipfile_serialization=False)

    big = {f"m{i}.{k}": v for i in range(6) for k, v in nn.LSTM(1024, 1024, num_layers=2).state_dict().items()}
    write(tmp_path / "big.pkl", big)
    write(tmp_path / "tiny.pkl", nn.LSTM(4, 3).state_dict())
    del big

    def peak(path) -> int:
        out = subprocess.run([sys.executable, "-c", _PEAK, str(path)], capture_output=True, text=True, check=True)
        return int(out.stdout.split()[-1])

    n = (tmp_path / "big.pkl").stat().st_size
    assert n > 400e6
    over = peak(tmp_path / "big.pkl") - peak(tmp_path / "tiny.pkl")
    assert over <= n + 300e6, f"{over / 1e6:.0f} MB above the baseline for a {n / 1e6:.0f} MB file"
