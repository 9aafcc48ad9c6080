"""The config's Python code cannot take reval down: exits, raises, loops and crashes are failed
assertions; Ctrl-C and SIGTERM still stop the run cleanly while such code runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, RunConfig, reval_env, start_reval, yaml_text
from tests.fake_replicate import FakeReplicate


def checked_by(code: str) -> dict[str, Any]:
    """Two tests: the first checked by this Python code, the second by a plain `contains`."""
    return {
        "prompts": ["hi <<n>>"],
        "providers": ["replicate:meta/llama"],
        "tests": [
            {"vars": {"n": 1}, "assert": [{"type": "python", "value": code}]},
            {"vars": {"n": 2}, "assert": [{"type": "contains", "value": "hi"}]},
        ],
    }


def python_check_on_each(n: int, check: str) -> dict[str, Any]:
    """N tests that all share one python assertion (in defaultTest)."""
    return {
        "prompts": ["hi <<n>>"],
        "providers": ["replicate:meta/llama"],
        "defaultTest": {"assert": [{"type": "python", "value": check}]},
        "tests": [{"vars": {"n": i}} for i in range(n)],
    }


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("exit(0)", "called exit(0) instead of returning a verdict"),
        ('__import__("sys").exit(0)', "called exit(0)"),
        ("quit()", "called exit(None)"),
        ("raise SystemExit(3)", "called exit(3)"),
        ("raise KeyboardInterrupt", "raised KeyboardInterrupt"),
        ("raise BaseException('boom')", "raised BaseException: boom"),
        ("1/0", "raised ZeroDivisionError"),
        ("while True:\n  pass", "did not finish within 1 s (--check-timeout)"),
        ('__import__("time").sleep(30)', "did not finish within 1 s"),
        ('__import__("os")._exit(0)', "ended its process (exit status"),
        ('__import__("os").kill(__import__("os").getpid(), 9)', "ended its process"),
    ],
    ids=[
        "exit",
        "sys.exit",
        "quit",
        "SystemExit",
        "KeyboardInterrupt",
        "BaseException",
        "error",
        "loop",
        "sleep",
        "os._exit",
        "SIGKILL",
    ],
)
def test_misbehaving_code_is_a_failed_assertion_and_the_run_goes_on(
    llama: FakeReplicate, run_config: RunConfig, code: str, reason: str
) -> None:
    run = run_config(checked_by(code), "--check-timeout", "1", "--no-cache")
    assert run.result.exit_code == 100, run.result.stderr  # never the code's own exit code
    assert "internal error" not in run.result.stderr
    broken, fine = run.cells
    assert broken["status"] == "failed"
    assert reason in broken["assertions"][0]["reason"]
    assert fine["status"] == "passed"  # the next cell's check ran in a fresh worker
    assert "FAIL" in run.result.stdout  # the table was printed


def test_a_slow_check_is_stopped_at_the_limit(llama: FakeReplicate, run_config: RunConfig) -> None:
    started = time.monotonic()
    run = run_config(checked_by('__import__("time").sleep(30)'), "--check-timeout", "0.5")
    assert run.result.exit_code == 100
    assert time.monotonic() - started < 10


def test_code_at_import_time_of_a_module(
    llama: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    (tmp_path / "exits.py").write_text("raise SystemExit(0)\ndef get_assert(o, c): return True\n")
    (tmp_path / "hangs.py").write_text("while True: pass\ndef get_assert(o, c): return True\n")
    run = run_config(
        {
            "prompts": ["hi <<n>>"],
            "providers": ["replicate:meta/llama"],
            "tests": [
                {"vars": {"n": n}, "assert": [{"type": "python", "value": f"file://{module}"}]}
                for n, module in enumerate(["exits.py", "exits.py", "hangs.py", "hangs.py"], 1)
            ],
        },
        "--check-timeout",
        "1",
        "-j",
        "1",
    )
    assert run.result.exit_code == 100
    reasons = [cell["assertions"][0]["reason"] for cell in run.cells]
    expected = "exits.py failed to import: called exit(0) instead of returning a verdict"
    assert reasons[0] == reasons[1] == expected
    assert "importing" in reasons[2] and "did not finish within 1 s" in reasons[2]
    assert reasons[3] == reasons[2]  # not imported again: it would only hang again


def test_a_module_is_imported_once_per_worker_and_validate_runs_no_code(
    llama: FakeReplicate,
    run_config: RunConfig,
    run_cli: RunCli,
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    marker = tmp_path / "imports.log"
    (tmp_path / "checks.py").write_text(
        f"open({str(marker)!r}, 'a').write('x')\n"
        "def get_assert(output, context):\n    return 'hi' in output\n"
    )
    config = python_check_on_each(20, "file://checks.py")
    assert run_cli("validate", write_config(config, "c.yaml"), "--no-preflight").exit_code == 0
    assert not marker.exists()
    run = run_config(config)
    assert run.result.exit_code == 0, run.cells[0]
    assert 1 <= len(marker.read_text()) <= 4  # once per worker process, not per cell


def test_load_time_checks_need_no_code_to_run(
    run_cli: RunCli, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    folder = tmp_path
    (folder / "broken.py").write_text("def get_assert(o, c):\n  return (\n")
    (folder / "other.py").write_text("def something(o, c): return True\n")
    path = write_config(
        {
            "prompts": ["hi"],
            "providers": ["replicate:meta/llama"],
            "tests": [
                {"assert": [{"type": "python", "value": value}]}
                for value in ["file://broken.py", "file://other.py", "if x:\n return ("]
            ],
        }
    )
    result = run_cli("validate", path, "--no-preflight")
    assert result.exit_code == 2
    assert "broken.py:2: the Python code does not compile" in result.stderr
    assert "other.py has no function `get_assert`" in result.stderr
    assert "the Python code does not compile" in result.stderr


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_and_sigterm_stop_the_run_while_a_check_loops(
    tmp_path: Path, how: signal.Signals
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml_text(python_check_on_each(6, "while True:\n  pass")))
    out = tmp_path / "results.json"
    with FakeReplicate() as fake:
        fake.add_model("meta/llama", official=True)
        process = start_reval(
            "run",
            config,
            "-o",
            out,
            "--check-timeout",
            "60",
            "--no-cache",
            env=reval_env(fake),
            cwd=tmp_path,
        )
        try:
            deadline = time.monotonic() + 20
            while len(fake.predictions) < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # the checks are looping now
            process.send_signal(how)
            stdout, stderr = process.communicate(timeout=15)
        finally:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert json.loads(out.read_text())["complete"] is False
    assert "Interrupted" in stdout
    # No worker process outlives reval.
    workers = subprocess.run(
        ["pgrep", "-f", "replicate_eval.usercode.worker"], capture_output=True, text=True
    )
    assert workers.stdout.strip() == ""


def test_what_a_stopped_check_started_is_stopped_with_it(
    llama: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    marker = tmp_path / "child.pid"
    code = (
        "import subprocess, time\n"
        f"child = subprocess.Popen(['sleep', '300'])\nopen({str(marker)!r}, 'w').write("
        "str(child.pid))\ntime.sleep(60)\nreturn True"
    )
    run = run_config(checked_by(code), "--check-timeout", "1")
    assert run.result.exit_code == 100
    pid = int(marker.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return  # a zombie waiting for its parent (gone) to be reaped by init: not running
        time.sleep(0.05)
    raise AssertionError("the check's child process outlived it")
