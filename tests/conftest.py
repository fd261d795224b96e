"""Shared test helpers: Hypothesis's profiles, and the CLI run through Typer's runner, stdout and stderr
kept apart.

Hypothesis profiles (loaded here, before any test module applies ``@settings``, which inherit from them):
- ``ci`` (selected when the CI environment variable is set): derandomized, so a CI run tries the same
  examples every time and a failure reproduces from the commit alone; no example database.
- ``dev`` (the default elsewhere): Hypothesis's own behaviour, random examples and a local database that
  replays past failures first.
- ``explore`` (optional, ``--hypothesis-profile=explore`` or ``HYPOTHESIS_PROFILE=explore``): random, and
  ten times the examples of every property test that does not set its own count; with
  ``RNNSHAPE_EXAMPLES=15000`` the witness tests too. For looking for new failures, not for gating.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from rnnshape.cli.app import app

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", max_examples=1000, derandomize=False, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


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
