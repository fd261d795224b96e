"""The live terminal view (issue 9): predicted tables at once, then torch's verdict in their place.

The pty tests run the real command in a pseudo-terminal and replay the bytes through a small screen
model (tests/pty_util.py), so they check what a person would see: the marker, then the verified tables
exactly once. Hooks that make torch disagree or fail are installed by a wrapper script in the child.
"""

from __future__ import annotations

import io
import sys

import pytest
from golden_util import render_text
from pty_util import PYTHON, Screen, pty, spawn
from rich.console import Console

from rnnshape.api import analyze
from rnnshape.render import screen as live
from rnnshape.render.tables import render

needs_pty = pytest.mark.skipif(pty is None or sys.platform == "win32", reason="needs a pseudo-terminal")

ROWS, COLS = 40, 100
DEFAULT = ["lstm", "--layers", "4", "--bidirectional"]

# Runs the CLI after one hook: make torch "produce" h_n one wider than predicted, or fail like a host
# without the device. Both act after torch is imported, as the real failures would.
WRAPPER = """
import dataclasses, sys
from rnnshape.run import build as run
from rnnshape.errors import EnvironmentUnfit
hook = sys.argv.pop(1)
real_observe = run.observe
def observe(spec, built):
    o = real_observe(spec, built)
    name, shape = o.outputs[1]
    return dataclasses.replace(o, outputs=(o.outputs[0], (name, shape[:-1] + (shape[-1] + 1,)), *o.outputs[2:]))
def resolve_device(asked):
    import torch  # noqa: F401
    raise EnvironmentUnfit("--device cuda: no CUDA device is available (test hook)", hint="use --device cpu")
if hook == "mismatch":
    run.observe = observe
else:
    run.resolve_device = resolve_device
from rnnshape.cli.app import main
sys.exit(main(sys.argv[1:]))
"""


def _rnnshape(*args: str, hook: str | None = None):
    argv = [PYTHON, "-c", WRAPPER, hook] if hook else [PYTHON, "-m", "rnnshape"]
    return spawn([*argv, *args], rows=ROWS, cols=COLS, stderr_to_pipe=True)


def _sections(text: str) -> list[str]:
    """Every line that starts a table (its title), in order."""
    titles = {"Parameters", "Tensors", "Totals", "Timing"}
    return [line for line in text.splitlines() if line.strip() in titles]


@pytest.mark.slow
@needs_pty
def test_predicted_then_verified_once():
    import torch

    run = _rnnshape(*DEFAULT, "--min-time", "0.05")
    assert run.code == 0, run.stderr
    # nothing on stderr but, on a busy machine, the timing warnings (tested in test_timing_stats, _engine)
    busy = ("IQR is", "spread is unknown", "torch's default of", "not trustworthy")
    assert all(any(b in line for b in busy) for line in run.stderr.splitlines()), run.stderr
    shown, verified = run.first(b"predicted \xc2\xb7 verifying with torch"), run.first(b"verified by torch")
    assert shown is not None and verified is not None and shown < verified
    assert run.first(b"Parameters") <= shown + 0.05  # the tables came with the marker, not after torch

    screen = Screen(ROWS).feed(run.data).text()
    assert _sections(screen) == ["Parameters", "Tensors", "Totals", "Timing"]
    assert f"cpu · float32 · verified by torch {torch.__version__}" in screen.splitlines()
    assert "predicted" not in screen and "more lines" not in screen

    # Below the status line and above the timing, the final screen is exactly the torch-free tables.
    dry = Screen(ROWS).feed(_rnnshape(*DEFAULT, "--dry-run").data).text()
    assert screen.splitlines()[2:] [: len(dry.splitlines()) - 2] == dry.splitlines()[2:]


@pytest.mark.slow
@needs_pty
def test_mismatch_is_loud_and_exits_1():
    run = _rnnshape("gru", "--no-time", hook="mismatch")
    assert run.code == 1
    assert b"verifying with torch" in run.data
    screen = Screen(ROWS).feed(run.data).text()
    assert _sections(screen) == []  # neither witness is shown when they disagree
    words = " ".join(screen.split())  # the red line wraps at the terminal's width
    assert "✗ NOT VERIFIED: the predictor and torch disagree on outputs: predicted h_n (1, 3, 20), " \
           "torch produced h_n (1, 3, 21)" in words
    assert b"\x1b[1;31m\xe2\x9c\x97 NOT VERIFIED" in run.data  # bold red
    errors = run.stderr.splitlines()
    assert errors[0].startswith("rnnshape: error: the predictor and torch disagree on outputs") and len(errors) == 2


@pytest.mark.slow
@needs_pty
def test_environment_error_after_torch_leaves_a_clean_screen():
    run = _rnnshape("gru", "--no-time", hook="environment")
    assert run.code == 3
    assert b"verifying with torch" in run.data  # the prediction was on screen ...
    assert Screen(ROWS).feed(run.data).text().strip() == ""  # ... and nothing is left of it
    assert run.stderr.splitlines() == ["rnnshape: error: --device cuda: no CUDA device is available (test hook)",
                                       "hint: use --device cpu"]


def test_live_only_on_a_capable_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    assert live.wanted(Console(file=io.StringIO(), force_terminal=True))
    assert not live.wanted(Console(file=io.StringIO()))  # a pipe or a file
    monkeypatch.setenv("TERM", "dumb")
    assert not live.wanted(Console(file=io.StringIO(), force_terminal=True))


@pytest.mark.parametrize(
    "args, goes_live",
    [([], True), (["--no-live"], False), (["--json"], False), (["--dry-run"], False), (["--code"], False)],
)
def test_cli_decides_when_to_go_live(cli, monkeypatch, args, goes_live):
    import rnnshape.api

    shown = []
    real_analyze = rnnshape.api.analyze
    monkeypatch.setattr(live, "wanted", lambda console: True)
    monkeypatch.setattr(live, "show", lambda predicted, verify, console, *, timed: shown.append(timed) or predicted)
    # No torch here: every run, live or not, is answered by the predictor.
    monkeypatch.setattr(rnnshape.api, "analyze", lambda spec, **kw: real_analyze(spec, dry_run=True))
    r = cli("gru", "--no-time", *args)
    assert r.code == 0, r.stderr
    assert shown == ([False] if goes_live else [])  # timed=False: --no-time


def test_predicted_frame_is_the_dry_tables_under_a_spinner():
    predicted = analyze("lstm", num_layers=4, bidirectional=True, dry_run=True)
    view = live._predicted_view(predicted, live._Status(predicted), timed=True)
    console = Console(width=80, height=200, record=True, color_system=None, file=io.StringIO())
    console.print(view)
    lines = [line.rstrip() for line in console.export_text().splitlines()]  # render_text trims them too
    dry = render_text(render(predicted), width=80).splitlines()
    assert "predicted · verifying with torch…" in lines[1]
    assert lines[0] == dry[0] and lines[2:len(dry)] == dry[2:]
    assert [line.strip() for line in lines[len(dry):]] == [
        "", "Timing", "", "forward   measured once torch has verified the tables…", "", ""]


def test_frame_fits_the_screen_and_ends_on_a_blank_line():
    predicted = analyze("lstm", num_layers=4, bidirectional=True, dry_run=True)
    view = live._predicted_view(predicted, live._Status(predicted), timed=True)
    console = Console(width=80, height=24, record=True, color_system=None, file=io.StringIO())
    console.print(view)
    lines = console.export_text().splitlines()
    assert len(lines) == 24
    assert lines[-2].startswith("… ") and lines[-2].endswith(" more lines") and lines[-1].strip() == ""



def test_interrupted_keeps_the_whole_prediction_marked_unverified():
    predicted = analyze("lstm", num_layers=4, bidirectional=True, dry_run=True)
    out = io.StringIO()
    console = Console(file=out, width=80, height=24, force_terminal=True, color_system=None)

    def verify():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        live.show(predicted, verify, console, timed=True)
    screen = Screen(24).feed(out.getvalue().encode()).text()
    assert _sections(screen) == ["Parameters", "Tensors", "Totals"]  # in full, not cut to the screen
    assert "cpu · float32 · " + live.INTERRUPTED in screen.splitlines()
    assert "verifying" not in screen and "more lines" not in screen
