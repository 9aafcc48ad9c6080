"""Shared fixtures: an isolated environment, config files, the fake Replicate API, the CLI."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from replicate_eval.cli import app
from tests.fake_replicate import FakeReplicate
from tests.graded_support import serve_answerer_and_judges


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No developer token, setting or cache leaks into a test."""
    for name in list(os.environ):
        if name.startswith(("REPLICATE_", "REVAL_")):
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a YAML config (text) into the test's folder and return its path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def fake_replicate(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeReplicate]:
    """A running fake Replicate API; the SDK reaches it through REPLICATE_BASE_URL.

    The test fails if anything sent or answered broke Replicate's OpenAPI document.
    """
    with FakeReplicate(hold_cap=0.2) as fake:
        monkeypatch.setenv("REPLICATE_BASE_URL", fake.url)
        monkeypatch.setenv("REPLICATE_API_TOKEN", fake.token)
        yield fake
    assert fake.contract_violations == []


@pytest.fixture
def fake(fake_replicate: FakeReplicate) -> FakeReplicate:
    """The fake Replicate API with a model under test and reval's default judges, for the
    model-graded tests (tests/graded_support.py)."""
    return serve_answerer_and_judges(fake_replicate)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


class RunCli:
    """Invoke `reval` in-process, with stdout and stderr kept apart."""

    def __call__(self, *args: str | Path) -> CliResult:
        result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def run_cli() -> RunCli:
    return RunCli()


class Run:
    """A `reval run` with its results file read back."""

    def __init__(self, result: CliResult, results_file: Path) -> None:
        self.result = result
        self.json: dict[str, Any] = (
            json.loads(results_file.read_text()) if results_file.exists() else {}
        )

    @property
    def cells(self) -> list[dict[str, Any]]:
        return self.json["cells"]


RunConfig = Callable[..., Run]


@pytest.fixture
def run_config(
    run_cli: RunCli,
    write_config: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> RunConfig:
    """`reval run` a config given as YAML text, from the test's folder, with `-o results.json`."""
    monkeypatch.chdir(tmp_path)  # the default image folder, reval-output/, lands here

    def run(text: str, *args: str | Path) -> Run:
        out = tmp_path / "results.json"
        result = run_cli("run", write_config(text), "-o", out, *args)
        return Run(result, out)

    return run
