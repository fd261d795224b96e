"""Issue 24: rnnshape as someone installs it, not as the clone runs it.

The wheel and the sdist are built from this tree (hatchling), checked by twine, and the wheel is installed into
fresh virtual environments outside the source tree:
- with torch: the CPU torch (and the other dependencies) already installed here are made visible through a
  path file, so nothing is downloaded; pip resolves the wheel's dependencies with --no-index, so a dependency the
  metadata forgot fails here. A kind command, `inspect` of a checkpoint torch wrote, `trace --example` (the
  examples travel in the wheel), `why` and the Python API, each compared with torch modules built in this test;
- without torch (only typer, rich and their dependencies visible): --dry-run and why work, a real run is exit 3
  with the install command;
- with a broken torch (its __init__ raises): exit 3 with torch's line and the reinstall command.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SDIST_TOP = {"rnnshape", "tests", "README.md", "CHANGELOG.md", "LICENSE", "pyproject.toml", "PKG-INFO", ".gitignore"}


def _run(cmd, cwd, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(kw.pop("env", {}))
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, env=env, timeout=600, **kw)


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    r = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT], cwd=out)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    wheel, = out.glob("rnnshape-*.whl")
    sdist, = out.glob("rnnshape-*.tar.gz")
    return wheel, sdist


def _venv(path: Path, visible: list[Path]) -> Path:
    """A fresh venv that also sees ``visible`` (plain path entries: their own .pth files are not run, so an
    editable install of this tree stays invisible)."""
    r = _run([sys.executable, "-m", "venv", "--without-pip", path], cwd=path.parent)
    assert r.returncode == 0, r.stderr
    purelib = Path(_run([path / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=path.parent).stdout.strip())
    (purelib / "_visible.pth").write_text("".join(f"{p}\n" for p in visible))
    return path / "bin" / "python"


def _install(python: Path, wheel: Path, *, deps: bool) -> None:
    # pip itself runs from this environment, targeting the new one (--python): no pip inside it needed
    cmd = [sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--quiet", wheel]
    r = _run(cmd + ([] if deps else ["--no-deps"]), cwd=python.parent)
    assert r.returncode == 0, r.stdout + r.stderr


def test_twine_check_and_metadata(dist):
    r = _run([sys.executable, "-m", "twine", "check", "--strict", *dist], cwd=dist[0].parent)
    assert r.returncode == 0, r.stdout + r.stderr
    with zipfile.ZipFile(dist[0]) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        names = z.namelist()
    assert "License-Expression: MIT" in meta and "License-File: LICENSE" in meta
    assert "Classifier: Programming Language :: Python :: 3" in meta and "Keywords: " in meta
    assert "Description-Content-Type: text/markdown" in meta and "pip install rnnshape" in meta
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert {"rnnshape/examples/seq2seq.py", "rnnshape/examples/bptt.py"} <= set(names)
    assert not any(n.startswith("tests/") for n in names)


def test_sdist_holds_every_test_file_and_nothing_else_at_the_top(dist):
    with tarfile.open(dist[1]) as t:
        names = [n.split("/", 1)[1] for n in t.getnames() if "/" in n]
    assert {n.split("/")[0] for n in names} == SDIST_TOP
    on_disk = {str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("*") if p.is_file()
               and "__pycache__" not in p.parts and not p.name.endswith(".pyc")}
    assert on_disk - set(names) == set()  # conftest, helpers, goldens, examples: all of tests/
    assert {"CHANGELOG.md", "LICENSE", "tests/conftest.py"} <= set(names)


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory):
    home = tmp_path_factory.mktemp("user")
    python = _venv(home / "venv", [Path(sysconfig.get_paths()["purelib"])])
    _install(python, dist[0], deps=True)
    return python, home


def test_installed_wheel_answers_without_the_source_tree(installed):
    import torch
    from torch import nn

    python, home = installed
    where = _run([python, "-c", "import rnnshape; print(rnnshape.__file__)"], cwd=home).stdout.strip()
    assert where.startswith(str(home)) and str(ROOT) not in where
    cli = home / "venv" / "bin" / "rnnshape"

    r = _run([cli, "gru", "--layers", "2", "--bidirectional", "--batch-first", "--no-time", "--json"], cwd=home)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    gru = nn.GRU(100, 20, num_layers=2, bidirectional=True, batch_first=True)
    out, h_n = gru(torch.randn(3, 10, 100))
    shapes = {o["name"]: tuple(o["shape"]) for o in doc["outputs"]}
    assert doc["verified"] is True and shapes == {"output": tuple(out.shape), "h_n": tuple(h_n.shape)}
    assert doc["totals"]["parameters"] == sum(p.numel() for p in gru.parameters())

    lstm = nn.LSTM(12, 7, num_layers=2)
    torch.save(lstm.state_dict(), home / "model.pt")
    r = _run([cli, "inspect", "model.pt", "--json"], cwd=home)
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)["modules"][0]
    assert (found["kind"], found["input_size"], found["hidden_size"], found["num_layers"]) == ("lstm", 12, 7, 2)

    r = _run([cli, "trace", "--example", "seq2seq:Seq2Seq", "--input", "8,15:long", "--json"], cwd=home)
    assert r.returncode == 0, r.stderr
    assert "encoder" in r.stdout and "decoder" in r.stdout

    r = _run([cli, "why", "Expected hidden size (1, 3, 8), got [1, 4, 8]"], cwd=home)
    assert r.returncode == 0 and "dimension 1 is the batch N = 3" in " ".join(r.stdout.split())

    api = ("import rnnshape; r = rnnshape.analyze('lstm', hidden_size=16, proj_size=4, time=False); "
           "print(r.verified, tuple(r.outputs['h_n'].shape), tuple(r.outputs['c_n'].shape))")
    r = _run([python, "-c", api], cwd=home)
    assert r.returncode == 0, r.stderr
    _, (h, c) = nn.LSTM(100, 16, proj_size=4)(torch.randn(10, 3, 100))
    assert r.stdout.split(" ", 1)[0] == "True" and r.stdout.strip().endswith(f"{tuple(h.shape)} {tuple(c.shape)}")


def _only(names: list[str], into: Path) -> Path:
    """A folder that shows these distributions and their dependencies (and nothing else, so no torch)."""
    from packaging.requirements import Requirement

    into.mkdir()
    seen, todo = set(), list(names)
    while todo:
        dist = md.distribution(todo.pop())
        name = dist.metadata["Name"].lower()
        if name in seen:
            continue
        seen.add(name)
        for req in dist.requires or []:
            r = Requirement(req)
            if r.marker is None or r.marker.evaluate({"extra": ""}):
                todo.append(r.name)
        base = Path(dist.locate_file(""))
        for top in {Path(str(f)).parts[0] for f in dist.files or () if not str(f).startswith("..")}:
            if not (into / top).exists() and (base / top).exists():
                (into / top).symlink_to(base / top)
    assert "torch" not in seen and "numpy" not in seen
    return into


def test_without_torch_dry_run_works_and_a_run_says_how_to_install_it(dist, tmp_path):
    python = _venv(tmp_path / "venv", [_only(["typer", "rich"], tmp_path / "deps")])
    _install(python, dist[0], deps=False)
    cli = tmp_path / "venv" / "bin" / "rnnshape"
    assert _run([python, "-c", "import torch"], cwd=tmp_path).returncode == 1  # really absent

    r = _run([cli, "lstm", "--backward", "--dry-run", "--json"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["memory"]["covers"] == "forward+backward"
    assert _run([cli, "why", "Expected hidden[1] size (2, 3, 8), got [2, 3, 9]"], cwd=tmp_path).returncode == 0

    for args in (["lstm"], ["compare", "lstm", "gru"], ["sweep", "gru", "--vary", "seq-len=2,4"]):
        r = _run([cli, *args], cwd=tmp_path)
        assert r.returncode == 3 and r.stdout == "", (args, r.stderr)
        first, *rest = r.stderr.splitlines()
        assert first.startswith("rnnshape: error: this needs torch") and "pip install torch --index-url" in first
        assert "internal error" not in r.stderr and len(rest) <= 1


def test_a_broken_torch_is_exit_3_with_its_own_line(dist, tmp_path):
    deps = _only(["typer", "rich"], tmp_path / "deps")
    (deps / "torch").mkdir()
    (deps / "torch" / "__init__.py").write_text(
        'raise OSError("libtorch_cpu.so: cannot open shared object file: No such file or directory")\n')
    python = _venv(tmp_path / "venv", [deps])
    _install(python, dist[0], deps=False)
    r = _run([tmp_path / "venv" / "bin" / "rnnshape", "gru", "--no-time"], cwd=tmp_path)
    assert r.returncode == 3, r.stderr
    first = r.stderr.splitlines()[0]
    assert "torch is installed but fails to import (OSError: libtorch_cpu.so" in first and "reinstall" in first


def test_the_sdist_test_suite_collects_from_the_unpacked_sdist(dist, tmp_path):
    """Issue 24 found 22 collection errors (no conftest, goldens or examples in the sdist): collect all of it."""
    with tarfile.open(dist[1]) as t:
        t.extractall(tmp_path, filter="data")
    root, = tmp_path.iterdir()
    r = _run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"], cwd=root)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "error" not in r.stdout.lower().splitlines()[-1]
    collected = int(r.stdout.strip().splitlines()[-1].split()[0])
    assert collected > 2000
