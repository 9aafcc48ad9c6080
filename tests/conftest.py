"""Shared fixtures: an isolated environment, config files, the fake Replicate API, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
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
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


Config = str | dict[str, Any]
"""A config as data, or as YAML text where the text itself is under test (lines, syntax)."""

# The console script, as a user runs it: for tests that need a real process (signals, pipes).
REVAL = str(Path(sys.executable).with_name("reval"))


class _PlainDumper(yaml.SafeDumper):
    """Writes a value used twice in full, not as an anchor and an alias: plain YAML to read."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def yaml_text(config: Config) -> str:
    """The YAML text of a config given as data (keys in the order written)."""
    if isinstance(config, str):
        return config
    return yaml.dump(config, Dumper=_PlainDumper, sort_keys=False)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config (data or YAML text) into the test's folder and return its path."""

    def write(config: Config, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml_text(config), encoding="utf-8")
        return path

    return write


def reval_env(fake: FakeReplicate, **extra: str) -> dict[str, str]:
    """The test's environment for a `reval` process, pointed at the fake Replicate API."""
    return {
        **os.environ,
        "REPLICATE_BASE_URL": fake.url,
        "REPLICATE_API_TOKEN": fake.token,
        **extra,
    }


def start_reval(*args: str | Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """`reval ARGS` as a process of its own, its output captured as text."""
    return subprocess.Popen(
        [REVAL, *(str(a) for a in args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


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
def llama(fake_replicate: FakeReplicate) -> FakeReplicate:
    """The fake Replicate API serving an official `meta/llama` that echoes its prompt."""
    fake_replicate.add_model("meta/llama", official=True)
    return fake_replicate


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
    """`reval run` a config (data or YAML text), from the test's folder, with `-o results.json`."""
    monkeypatch.chdir(tmp_path)  # the default image folder, reval-output/, lands here

    def run(config: Config, *args: str | Path) -> Run:
        out = tmp_path / "results.json"
        result = run_cli("run", write_config(config), "-o", out, *args)
        return Run(result, out)

    return run
