"""Run the CLI in a subprocess and report whether it imported torch (the --help/--dry-run promise)."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = (
    "import sys, runpy\n"
    "sys.argv = ['rnnshape'] + sys.argv[1:]\n"
    "try:\n"
    "    runpy.run_module('rnnshape', run_name='__main__')\n"
    "except SystemExit:\n"
    "    pass\n"
    "sys.stdout.flush()\n"
    "sys.stderr.write('TORCH_IMPORTED=%s\\n' % ('torch' in sys.modules))\n"
)


def run_probe(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)
