"""Shared test helpers: run the CLI through Typer's runner, stdout and stderr kept apart."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

from rnnshape.cli.app import app


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


def invoke(*args: str, env: dict | None = None) -> CliResult:
    result = CliRunner(env=env).invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli():
    """`cli("lstm", "--json")` -> CliResult(code, stdout, stderr)."""
    return invoke
