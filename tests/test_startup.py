"""--help, --version, completion and --dry-run must never import torch (it costs over a second)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from probe_util import run_probe


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["lstm", "--help"],
        ["lstm", "--layers", "4", "--bidirectional", "--dry-run", "--json"],
        ["gru", "--cell", "--code"],
        ["lstm", "--proj-size", "20"],  # a usage error is found before torch is needed
    ],
)
def test_no_torch_import(args):
    proc = run_probe(*args)
    assert "TORCH_IMPORTED=False" in proc.stderr, proc.stderr


def test_completion_does_not_import_torch():
    proc = run_probe(env={"_RNNSHAPE_COMPLETE": "complete_bash", "COMP_WORDS": "rnnshape ls", "COMP_CWORD": "1"})
    assert "TORCH_IMPORTED=False" in proc.stderr, proc.stderr


def test_import_cli_module_leaves_torch_out():
    code = "import sys, rnnshape.cli.app, rnnshape; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.strip() == "False"


def test_version_and_module_entry():
    proc = subprocess.run([sys.executable, "-m", "rnnshape", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("rnnshape ")
    proc = subprocess.run([sys.executable, "-m", "rnnshape", "lstm", "--dry-run", "--json"],
                          capture_output=True, text=True)
    assert json.loads(proc.stdout)["spec"]["kind"] == "lstm"


def test_a_run_imports_torch_with_the_collector_paused_and_freezes_what_it_made():
    # issue 21: full collections over torch's objects cost 0.2-0.3 s a run; frozen, later ones skip them
    code = ("import gc, json, sys; import rnnshape.run; rnnshape.run.FREEZE_AFTER_TORCH_IMPORT = True; "
            "from rnnshape.run.build import load_torch, resolve_device; "
            "calls = []; gc.callbacks.append(lambda phase, info: calls.append(phase)); "
            "assert 'torch' not in sys.modules; assert resolve_device('cpu') == 'cpu'; same = load_torch() is "
            "sys.modules['torch']; print(json.dumps([gc.isenabled(), gc.get_freeze_count(), len(calls), same]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    enabled, frozen, collections, same = json.loads(out.stdout)
    assert enabled and same and collections == 0  # no collection ran during the import; the collector is back on
    assert frozen > 50_000  # torch's objects, out of every later collection


def test_the_python_api_leaves_the_callers_collector_as_it_was():
    """gc.freeze() would keep a caller's own objects out of every later collection: only the command line's
    process freezes (test above); analyze() from Python imports torch without it, and the CLI entry does."""
    api = ("import gc, json; import rnnshape; rnnshape.analyze('lstm', time=False); "
           "print(json.dumps([gc.isenabled(), gc.get_freeze_count()]))")
    out = subprocess.run([sys.executable, "-c", api], capture_output=True, text=True, timeout=120)
    assert json.loads(out.stdout) == [True, 0], out.stderr
    cli = ("import gc, sys; from rnnshape.cli import main; main(['lstm', '--no-time', '--json']); "
           "sys.stderr.write(str(gc.get_freeze_count()))")
    out = subprocess.run([sys.executable, "-c", cli], capture_output=True, text=True, timeout=120)
    assert int(out.stderr.strip().splitlines()[-1]) > 50_000, out.stderr
