"""Help that teaches: every command's help starts with examples that run, ends with its exit codes, has no
trailing spaces when piped; defaults are shown one way; completion inserts nothing that breaks a command."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest

COMMANDS = ["rnn", "lstm", "gru", "compare", "sweep", "inspect", "trace", "why"]


def piped_help(command: str, **env_vars: str) -> str:
    env = {**os.environ, "COLUMNS": "100", **env_vars}
    proc = subprocess.run([sys.executable, "-m", "rnnshape", command, "--help"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def helps() -> dict[str, str]:
    return {c: piped_help(c) for c in COMMANDS}


def examples(text: str) -> list[str]:
    head = text.split("Examples:", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in head.splitlines() if line.strip()]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_starts_with_examples_and_ends_with_exit_codes(helps, command):
    text = helps[command]
    assert "Examples:" in text and text.index("Examples:") < text.index("╭")  # before the first option panel
    found = examples(text)
    assert 2 <= len(found) <= 4 and all(e.startswith(f"rnnshape {command} ") for e in found), found
    tail = text.rstrip().rsplit("Exit codes:", 1)
    assert len(tail) == 2 and "╭" not in tail[1], "the exit codes come last"
    codes = [line.split()[0] for line in tail[1].strip().splitlines() if line.strip()[:1].isdigit()]
    assert codes[:3] == ["0", "1", "2"] and "130" in codes


@pytest.mark.parametrize("command", COMMANDS + [""])
def test_piped_help_has_no_trailing_spaces(command):
    text = piped_help(command) if command else subprocess.run(
        [sys.executable, "-m", "rnnshape", "--help"], capture_output=True, text=True, timeout=60).stdout
    assert text.strip() and [line for line in text.splitlines() if line != line.rstrip()] == []


def test_piped_help_in_colour_has_no_trailing_spaces_either():
    text = piped_help("lstm", FORCE_COLOR="1")  # colours kept in a pipe (CI logs): none of the padding
    assert "\x1b[" in text
    assert [line for line in text.splitlines() if re.search(r"\s(\x1b\[[0-9;]*m)*$", line)] == []


@pytest.mark.parametrize("command", ["rnn", "lstm", "gru", "compare", "sweep"])
def test_every_example_runs(cli, helps, command):
    for example in examples(helps[command]):
        words = shlex.split(example)[1:]
        if "--dry-run" not in words:
            words.append("--dry-run")  # the same command, answered by the predictor: no timing in a test
        r = cli(*words)
        assert r.code == 0, (example, r.stderr)


def test_dry_run_leads_its_panel_and_check_is_a_mode(helps):
    text = helps["lstm"]
    mode = text.split("─ Mode ", 1)[1].split("╰", 1)[0]
    assert mode.strip("─╮ \n│").startswith("--dry-run")
    assert "--check" in mode
    assert "--check" not in text.split("─ Output ", 1)[1].split("╰", 1)[0]


def test_one_defaults_style(helps):
    text = " ".join(helps["lstm"].split())
    assert "[default: 100]" in text and "[default: 1]" in text and "[default: 10, or max(lengths)]" in text
    assert "(default" not in text and "[default: (" not in text


@pytest.mark.parametrize("kind, gates", [("lstm", "i f g o c h"), ("gru", "r z n h"), ("rnn", "h")])
def test_gate_help_lists_only_that_kinds_gates(helps, kind, gates):
    text = " ".join(helps[kind].split("│ --gate", 1)[1].split("│ --", 1)[0].replace("│", " ").split())
    assert f"({gates})" in text
    others = {"lstm": "r z n", "gru": "i f g o", "rnn": "i f g o"}[kind]
    assert others not in text


@pytest.mark.parametrize("command", ["compare", "sweep"])
def test_compare_and_sweep_list_the_kind_options(helps, command):
    from rnnshape.model.options import SPEC

    text = " ".join(helps[command].split())
    assert all(o.flag in text for o in SPEC)


def complete(words: str) -> list[str]:
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {**os.environ, "_RNNSHAPE_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    proc = subprocess.run([sys.executable, "-m", "rnnshape"], capture_output=True, text=True, env=env, timeout=60)
    return proc.stdout.split()


@pytest.mark.parametrize("typed", ["s", "", "hid"])
def test_vary_completion_inserts_a_whole_working_value(typed):
    from rnnshape.model.many import parse_vary

    found = complete(f"rnnshape sweep lstm --vary {typed}")
    assert found and all(v.startswith(typed) for v in found)
    for value in found:  # the shell adds a space after it: the word must already be complete
        assert re.fullmatch(r"[a-z-]+=\d+(,\d+)*", value) and parse_vary(value).values


def test_completion_of_kinds_and_devices():
    assert complete("rnnshape compare l") == ["lstm"]
    assert "cuda" in complete("rnnshape lstm --device ")


def test_vary_help_and_completion_cover_every_sweepable_option(helps):
    from rnnshape.cli.multi import VARY_EXAMPLES
    from rnnshape.model.many import VARIABLES

    vary = " ".join(helps["sweep"].split("│ --vary", 1)[1].split("│ --", 1)[0].replace("│", " ").split())
    assert all(name in vary for name in VARIABLES) and set(VARY_EXAMPLES) == set(VARIABLES)


@pytest.mark.parametrize("command", COMMANDS)
def test_examples_fit_an_80_column_terminal(command):
    """A wrapped example pastes as two commands (the second line alone is no command)."""
    found = examples(piped_help(command, COLUMNS="80"))
    assert found and all(e.startswith(f"rnnshape {command} ") for e in found), found


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_gate_completion_offers_what_gate_accepts(cli, kind):
    found = complete(f"rnnshape {kind} --explain --gate ")
    assert found, "Tab after --gate offers nothing"
    for gate in found:
        r = cli(kind, "--explain", "--gate", gate, "--dry-run")
        assert r.code == 0, (gate, r.stderr)
