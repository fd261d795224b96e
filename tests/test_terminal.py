"""How rnnshape behaves in real shells: pipes that close, Ctrl-C, NO_COLOR, narrow terminals, files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from pty_util import has_loaded, wait_until

CMD = [sys.executable, "-m", "rnnshape"]


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "COLUMNS", "TERM")}
    env.update(extra)
    return env


def test_closed_pipe_ends_quietly():
    # 400 layers print far more than a pipe buffer holds, so the writer really meets a closed pipe.
    proc = subprocess.Popen(CMD + ["lstm", "--layers", "400", "--dry-run"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env())
    proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert stderr == ""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads /proc to see torch loaded")
def test_ctrl_c_exits_130_without_traceback():
    proc = subprocess.Popen(CMD + ["lstm", "--min-time", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env())
    # ready: torch's library is mapped, so the process is inside torch's import or the measurement
    assert wait_until(lambda: has_loaded(proc.pid, "libtorch") or proc.poll() is not None), "torch never loaded"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err


def test_output_to_a_file_has_no_escape_codes(tmp_path):
    path = tmp_path / "out.txt"
    with open(path, "w") as f:
        subprocess.run(CMD + ["lstm", "--dry-run"], stdout=f, env=_env(), check=True)
    text = path.read_text()
    assert "Parameters" in text and "\x1b" not in text


@pytest.mark.parametrize("no_color", [False, True])
def test_no_color(no_color):
    env = _env(FORCE_COLOR="1", **({"NO_COLOR": "1"} if no_color else {}))
    out = subprocess.run(CMD + ["lstm", "--bidirectional", "--dry-run"], capture_output=True, env=env).stdout.decode()
    colored = any(f"\x1b[{c}" in out for c in ("31", "32", "33", "35", "38;"))
    assert colored is not no_color


def test_sixty_columns_fit_without_truncating_numbers():
    out = subprocess.run(CMD + ["lstm", "--layers", "2", "--bidirectional", "--proj-size", "5", "--dry-run"],
                         capture_output=True, text=True, env=_env(COLUMNS="60")).stdout
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 60
    assert "(80, 100)" in out and "8,000" in out  # shapes and counts whole, optional columns dropped instead
