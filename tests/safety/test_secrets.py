"""The token never leaves: whatever echoes it, nothing reval prints or writes holds it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from replicate_eval.redact import MASK, Redactor
from tests.conftest import REVAL, RunConfig, reval_env, start_reval, yaml_text
from tests.fake_replicate import FakeReplicate, Reply, tokens

CREATE = "/v1/models/meta/llama/predictions"


def test_a_token_and_its_long_prefixes_are_masked() -> None:
    redact = Redactor()
    token = "r8_0123456789abcdefghijklmnopqrstuvwxyzAB"
    redact.add(token)
    redact.add("short")  # too short to be worth masking everywhere
    text = f"Bearer {token}; cut: {token[:20]}...; {token[:11]} is too short to tell; short"
    assert (
        redact(text) == f"Bearer {MASK}; cut: {MASK}...; {token[:11]} is too short to tell; short"
    )
    assert redact.data({"a": [token, 1]}) == {"a": [MASK, 1]}


def test_nothing_written_holds_the_token_however_a_server_echoes_it(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = fake_replicate.token
    # A model that repeats its input, and a server whose 401 quotes the Authorization header.
    fake_replicate.add_model(
        "meta/llama", lambda i: Reply(tokens(f"you said {i['prompt']}")), official=True
    )
    fake_replicate.fail_next(
        "POST",
        CREATE,
        401,
        {"title": "Unauthenticated", "detail": f"bad header 'Bearer {token}'", "status": 401},
    )
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    outputs = [tmp_path / f"out.{ext}" for ext in ("csv", "xml", "md", "html")]
    run = run_config(
        {
            "prompts": ["<<secret>>"],
            "providers": ["replicate:meta/llama"],
            "tests": [
                {"vars": {"secret": f"first {token}"}},
                {"vars": {"secret": f"then {token}"}},
            ],
        },
        "-j",
        "1",
        *[arg for path in outputs for arg in ("-o", str(path))],
    )
    assert run.result.exit_code == 100
    assert [cell["status"] for cell in run.cells] == ["error", "error"]  # the 401 blocks both
    assert "bad header 'Bearer [REDACTED]'" in run.cells[0]["error"]
    written = [run.result.stdout, run.result.stderr, summary.read_text()]
    written += [(tmp_path / "results.json").read_text()] + [p.read_text() for p in outputs]
    # The run store keeps the results compressed: every run in it, read back whole.
    store = sqlite3.connect(Path.home() / ".local" / "share" / "reval" / "runs.sqlite3")
    written += [
        zlib.decompress(row[0]).decode() for row in store.execute("SELECT results FROM runs")
    ]
    written += [repr(row) for row in store.execute("SELECT * FROM runs")]
    assert len(written) == 3 + 1 + 4 + 2  # the run is in the store
    for text in written:
        assert token not in text and token[:16] not in text


def test_a_model_output_holding_the_token_is_masked_in_the_table_and_files(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    token = fake_replicate.token
    fake_replicate.add_model("meta/llama", lambda i: Reply(tokens(f"key={token}")), official=True)
    run = run_config({"prompts": ["hi"], "providers": ["replicate:meta/llama"]})
    assert run.cells[0]["output"] == f"key={MASK}"
    assert token not in run.result.stdout
    assert token not in (tmp_path / "results.json").read_text()


def one_failing(folder: Path, *, passing: int) -> Path:
    """A config of `passing` tests that pass against an echo model, and one that fails."""
    config = folder / "c.yaml"
    tests: list[dict[str, Any]] = [{"vars": {"n": n}} for n in range(passing)]
    tests.append({"vars": {"n": 99}, "assert": [{"type": "contains", "value": "nope"}]})
    config.write_text(
        yaml_text({"prompts": ["hi <<n>>"], "providers": ["replicate:meta/llama"], "tests": tests})
    )
    return config


def test_a_closed_stdout_still_writes_the_files_and_exits_with_the_runs_code(
    tmp_path: Path,
) -> None:
    config = one_failing(tmp_path, passing=30)
    out = tmp_path / "results.json"
    with FakeReplicate() as fake:
        fake.add_model("meta/llama", official=True)
        # `true` reads nothing and is gone before reval prints: every write meets a closed pipe.
        shell = f"'{REVAL}' run '{config}' -o '{out}' --no-cache | true"
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", shell],
            capture_output=True,
            text=True,
            env=reval_env(fake),
            timeout=60,
        )
    assert done.returncode == 100, done.stderr  # the run's own code (a test fails)
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert "BrokenPipe" not in done.stderr
    assert out.exists()


@pytest.mark.parametrize("command", [("run",), ("diff",)])
def test_a_full_stdout_still_writes_the_files_and_keeps_the_exit_code(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    config = one_failing(tmp_path, passing=5)
    out = tmp_path / "results.json"
    with FakeReplicate() as fake:
        fake.add_model("meta/llama", official=True)
        env = {**reval_env(fake), "XDG_DATA_HOME": str(tmp_path / "data")}
        if command == ("diff",):
            subprocess.run([REVAL, "run", config, "-o", out], env=env, capture_output=True)
            argv = [REVAL, "diff", out, out, "-o", tmp_path / "diff.md"]
            out = tmp_path / "diff.md"
        else:
            argv = [REVAL, "run", config, "-o", out, "--no-cache"]
        with Path("/dev/full").open("w") as full:  # every write to stdout: ENOSPC
            done = subprocess.run(
                argv, stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=60
            )
    assert done.returncode == (100 if command == ("run",) else 0), done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert "cannot write to the output (No space left on device)" in done.stderr
    assert out.exists()


def test_a_file_that_cannot_be_written_does_not_stop_the_others(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    junit = tmp_path / "junit.xml"
    run = run_config(
        {"prompts": ["hi"], "providers": ["replicate:meta/llama"]},
        "-o",
        "/proc/reval-results.csv",  # a folder no file can be created in, even by root
        "-o",
        junit,
    )
    assert run.result.exit_code == 100  # the run passed, but a report is missing
    assert "could not write /proc/reval-results.csv" in run.result.stderr
    assert junit.exists() and (tmp_path / "results.json").exists()


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_during_start_up_exits_130_quietly(tmp_path: Path, how: signal.Signals) -> None:
    """Sent while reval imports its libraries (once the interpreter itself is up: a signal
    during Python's own start-up is Python's business)."""
    config = tmp_path / "c.yaml"
    config.write_text(yaml_text({"prompts": ["hi"], "providers": ["replicate:meta/llama"]}))
    process = start_reval(
        "validate",
        config,
        "--no-preflight",
        env={**os.environ, "REPLICATE_API_TOKEN": "r8_" + "x" * 37},  # no API: nothing is asked
        cwd=tmp_path,
    )
    maps = Path(f"/proc/{process.pid}/maps")
    deadline = time.monotonic() + 20
    while "pydantic_core" not in maps.read_text() and time.monotonic() < deadline:
        time.sleep(0.002)  # reval is importing its libraries once pydantic's core is loaded
    process.send_signal(how)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
