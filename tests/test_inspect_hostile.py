"""Hostile pickles: whatever a file asks the unpickler to call, the inert reader never calls it.

Each payload would create a marker file if it ran. A control test runs every payload with plain
pickle / torch.load(weights_only=False) and sees the marker appear, so the payloads are real; then
rnnshape reads the same bytes (raw pickle, torch zip, legacy torch file, in every pickle of the legacy
layout) and the marker must never exist. The reader is in-process, so anything it ran would show.
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import pickletools
import subprocess
import zipfile

import pytest
import torch
from checkpoint_files import build


# --- hand-written protocol 0 payloads: any callable, any chain --------------------------------------------
def _g(module: str, name: str) -> str:
    return f"c{module}\n{name}\n"


def _s(text: str) -> str:
    return f"V{text}\n"


def _call(fn: str, *args: str) -> str:
    return fn + "(" + "".join(args) + "tR"


def _list(*items: str) -> str:
    return "(l" + "".join(item + "a" for item in items)


def _opcode_payloads(marker: str) -> dict[str, str]:
    touch = f"touch {marker}"
    write = f"open({marker!r}, 'w').close()"
    return {
        "os.system": _call(_g("os", "system"), _s(touch)),
        "posix.system": _call(_g("posix", "system"), _s(touch)),
        "builtins.exec": _call(_g("builtins", "exec"), _s(write)),
        "builtins.eval": _call(_g("builtins", "eval"), _s(write)),
        "__builtin__.eval (Python 2 name)": _call(_g("__builtin__", "eval"), _s(write)),
        "getattr(__import__('os'), 'system')": _call(
            _call(_g("builtins", "getattr"), _call(_g("builtins", "__import__"), _s("os")), _s("system")), _s(touch)),
        "getattr(getattr(builtins, '__import__')('os'), 'system')": _call(_call(
            _g("builtins", "getattr"),
            _call(_call(_g("builtins", "getattr"), _call(_g("importlib", "import_module"), _s("builtins")),
                        _s("__import__")), _s("os")),
            _s("system")), _s(touch)),
        "subprocess.call": _call(_g("subprocess", "call"), _list(_s("touch"), _s(marker))),
        "subprocess.Popen via copyreg._reconstructor": _call(
            _g("copyreg", "_reconstructor"), _g("subprocess", "Popen"), _g("subprocess", "Popen"),
            _list(_s("touch"), _s(marker))),
        "torch._tensor._rebuild_from_type_v2(os.system)": _call(
            _g("torch._tensor", "_rebuild_from_type_v2"), _g("os", "system"), _g("torch", "Tensor"),
            "(" + _s(touch) + "t", "(d"),
    }


def _as_dict(payload: str) -> bytes:
    """``{"evil": payload}``, declared protocol 2 (so it starts as torch.save's pickles do; text opcodes stay valid)."""
    return b"\x80\x02" + ("(dVevil\n" + payload + "s.").encode()


# --- payloads built by pickling objects: they sit beside real weights ---------------------------------------
class _Reduce:
    """Pickles as ``fn(*args)``; callable so that pickle accepts it as the callable of another _Reduce."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args

    def __call__(self, *args):
        raise AssertionError("only pickled, never called")


def _object_payloads(marker: str, tmp_path) -> dict[str, object]:
    touch = f"touch {marker}"
    evil_file = tmp_path / "inner.pt"
    torch.save({"x": _Reduce(os.system, touch)}, evil_file)  # runs when loaded with weights_only=False
    return {
        "os.system": _Reduce(os.system, touch),
        "exec": _Reduce(exec, f"open({str(marker)!r}, 'w').close()"),
        "getattr chain": _Reduce(_Reduce(getattr, _Reduce(__import__, "os"), "system"), touch),
        "subprocess.Popen": _Reduce(subprocess.Popen, ["touch", str(marker)]),
        "functools.partial(torch.load, weights_only=False)": _Reduce(
            functools.partial(torch.load, weights_only=False), str(evil_file)),
        "torch.storage._load_from_bytes(an evil file)": _Reduce(torch.storage._load_from_bytes,
                                                                evil_file.read_bytes()),
        "torch._tensor._rebuild_from_type_v2(os.system)": _Reduce(
            torch._tensor._rebuild_from_type_v2, os.system, torch.Tensor, (touch,), {}),
    }


def _state(marker_payload) -> dict:
    state = dict(build({"kind": "gru", "input_size": 5, "hidden_size": 4}).state_dict())
    return {"model": state, "payload": marker_payload}


def _save(path, obj, how: str) -> None:
    if how == "torch zip":
        torch.save(obj, path)
    elif how == "legacy":
        torch.save(obj, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(obj, protocol=int(how[-1])))


def _zip_with(data_pkl: bytes, tmp_path) -> bytes:
    """A torch zip file whose data.pkl is replaced (every other record kept)."""
    good = tmp_path / "good.pt"
    torch.save({"w": torch.zeros(2)}, good)
    out = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, data_pkl if info.filename.endswith("/data.pkl") else src.read(info))
    return out.getvalue()


def _legacy_with(payload: bytes, position: int, tmp_path) -> bytes:
    """A legacy torch file with its pickle number ``position`` (0 magic, 1 protocol, 2 sys_info, 3 data) replaced."""
    good = tmp_path / "good_legacy.pt"
    torch.save({"w": torch.zeros(2)}, good, _use_new_zipfile_serialization=False)
    data = good.read_bytes()
    bounds = [0]
    for _ in range(4):  # walk the opcodes to each STOP, without loading anything
        *_, (_, _, stop) = pickletools.genops(io.BytesIO(data[bounds[-1]:]))
        bounds.append(bounds[-1] + stop + 1)
    return data[:bounds[position]] + payload + data[bounds[position + 1]:]


def _no_traceback(r):
    assert r.code in (0, 2), (r.code, r.stderr)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr


@pytest.mark.parametrize("name", list(_opcode_payloads("M")))
def test_the_opcode_payloads_are_real(tmp_path, name):
    marker = tmp_path / "RAN"
    try:
        pickle.loads(_as_dict(_opcode_payloads(str(marker))[name]))
    except Exception:
        pass  # the chain may fail after the damage is done
    _wait_for(marker, name)
    assert marker.exists()


@pytest.mark.slow
@pytest.mark.parametrize("where", ["raw pickle", "torch zip data.pkl", "legacy magic number", "legacy protocol",
                                   "legacy sys_info", "legacy data"])
@pytest.mark.parametrize("name", list(_opcode_payloads("M")))
def test_opcode_payloads_never_run(cli, tmp_path, where, name):
    marker = tmp_path / "RAN"
    payload = _as_dict(_opcode_payloads(str(marker))[name])
    path = tmp_path / "evil.pt"
    if where == "raw pickle":
        path.write_bytes(payload)
    elif where == "torch zip data.pkl":
        path.write_bytes(_zip_with(payload, tmp_path))
    else:
        position = ["legacy magic number", "legacy protocol", "legacy sys_info", "legacy data"].index(where)
        path.write_bytes(_legacy_with(payload, position, tmp_path))
    r = cli("inspect", path, "--json")
    _wait_for(marker, name)
    assert not marker.exists()
    _no_traceback(r)
    if r.code == 0:
        assert r.json()["reader"] == "inert" and r.json()["foreign"]
    else:
        assert "nothing was run" in r.stderr or "none of which was run" in r.stderr, r.stderr


_OBJECT_PAYLOADS = ["os.system", "exec", "getattr chain", "subprocess.Popen",
                    "functools.partial(torch.load, weights_only=False)", "torch.storage._load_from_bytes(an evil file)",
                    "torch._tensor._rebuild_from_type_v2(os.system)"]


def _wait_for(marker, name: str) -> None:
    """Popen returns before its child has touched the marker: give the child time (every other payload is sync)."""
    import time

    for _ in range(40 if "Popen" in name else 0):
        if marker.exists():
            return
        time.sleep(0.05)


@pytest.mark.parametrize("name", _OBJECT_PAYLOADS)
def test_the_object_payloads_are_real(tmp_path, name):
    marker = tmp_path / "RAN"
    path = tmp_path / "evil.pt"
    _save(path, _state(_object_payloads(marker, tmp_path)[name]), "torch zip")
    try:
        torch.load(path, weights_only=False)
    except Exception:
        pass
    _wait_for(marker, name)
    assert marker.exists()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["torch zip", "legacy", "pickle protocol 2", "pickle protocol 4"])
@pytest.mark.parametrize("name", _OBJECT_PAYLOADS)
def test_payloads_beside_real_weights_never_run_and_the_weights_are_read(cli, tmp_path, how, name):
    marker = tmp_path / "RAN"
    path = tmp_path / "evil.pt"
    _save(path, _state(_object_payloads(marker, tmp_path)[name]), how)
    r = cli("inspect", path, "--json")
    assert not marker.exists()
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["reader"] == "inert" and doc["location"] == ["model"]
    (m,) = doc["modules"]
    assert m["constructor"] == "nn.GRU(input_size=5, hidden_size=4)"
    assert any("nothing in the file was called" in n for n in doc["notes"])
    expected = {"os.system": "posix.system", "exec": "builtins.exec", "getattr chain": "builtins.getattr",
                "subprocess.Popen": "subprocess.Popen", "functools.partial(torch.load, weights_only=False)":
                "functools.partial"}.get(name)
    if expected:
        assert expected in doc["foreign"], doc["foreign"]
    _wait_for(marker, name)
    assert not marker.exists()


def test_the_allowlist_is_short_and_every_callable_on_it_is_checked_here():
    """What a security reviewer reads: the only real objects find_class ever returns."""
    from rnnshape.checkpoint import inert

    allowed = inert._allowed()
    plain = {torch.Size, torch.device, set, frozenset, complex, int, float, bool, list, dict, tuple,
             inert.OrderedDict, inert.defaultdict}
    for key, value in allowed.items():
        if isinstance(value, (torch.dtype, torch.layout, torch.memory_format)):
            assert key.startswith("torch.")
        elif isinstance(value, type) and value in plain:
            pass
        else:  # a function or class of our own: torch's functions are reached only through these wrappers
            assert getattr(value, "__module__", None) == "rnnshape.checkpoint.inert", key
    callables = {k for k, v in allowed.items() if not isinstance(v, (torch.dtype, torch.layout, torch.memory_format))}
    assert len(callables) < 40, sorted(callables)
    assert not any(k.startswith(("os.", "posix.", "subprocess.", "builtins.eval", "builtins.exec",
                                 "builtins.getattr", "torch.load", "torch.jit")) for k in allowed)


def test_a_stand_in_only_records(tmp_path):
    from rnnshape.checkpoint.inert import Foreign, loads

    obj = loads(b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00echo\x85R}X\x01\x00\x00\x00a\x8a\x01\x01sb.")
    assert isinstance(obj, Foreign) and type(obj).qualname() == "os.system"
    assert obj.foreign_args == ("echo",) and obj.foreign_state == {"a": 1}
    called = obj("again")  # calling a stand-in makes another stand-in
    assert isinstance(called, Foreign) and called.foreign_args == ("again",)


def test_torchscript_archives_are_read_without_torch_jit_load(cli, tmp_path, monkeypatch):
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(build({"kind": "gru", "input_size": 3, "hidden_size": 2})), str(path))
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: pytest.fail("torch.jit.load was called"))
    r = cli("inspect", path, "--json")
    assert r.code == 0 and "Traceback" not in r.stderr
    assert [m["constructor"] for m in r.json()["modules"]] == ["nn.GRU(input_size=3, hidden_size=2)"]


def test_the_pre_1_0_tar_format_is_refused(cli, tmp_path):
    """torch.load would extract such a file to disk; a tar whose first member name starts with byte 0x80
    looks like a pickle from its first byte, and must still be refused."""
    import tarfile

    path = tmp_path / "old.pt"
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT, encoding="latin-1") as tar:
        tar.addfile(tarfile.TarInfo("\x80storages"), io.BytesIO(b""))
    assert path.read_bytes()[:1] == b"\x80"
    r = cli("inspect", path)
    assert r.code == 2 and "tar format of PyTorch before 1.0" in r.stderr and "Traceback" not in r.stderr


def test_the_extension_registry_goes_through_find_class_too(tmp_path):
    """EXT1/EXT2/EXT4 name a global by a number registered with copyreg: still resolved by our find_class,
    even after a plain unpickling has put the real function in copyreg's extension cache."""
    import copyreg

    from rnnshape.checkpoint.inert import Foreign, loads

    marker = tmp_path / "RAN"
    copyreg.add_extension("posix", "system", 0xBEEF)
    try:
        payload = b"\x80\x02\x83\xef\xbe" + b"X" + len(f"touch {marker}").to_bytes(4, "little") + \
            f"touch {marker}".encode() + b"\x85R."  # EXT2 0xBEEF, a string, TUPLE1, REDUCE
        assert pickle.loads(payload) == 0 and marker.exists()  # the payload is real
        marker.unlink()
        obj = loads(payload)
    finally:
        copyreg.remove_extension("posix", "system", 0xBEEF)
    assert isinstance(obj, Foreign) and type(obj).qualname() == "posix.system" and not marker.exists()
