"""The `reval` command: help, exit codes, the results table, and the JSON results file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from replicate_eval import __version__
from replicate_eval.cli import common as cli_app
from tests.conftest import REVAL, RunCli, reval_env
from tests.fake_replicate import FakeReplicate, Reply, tokens

WriteConfig = Callable[..., Path]

CAPITALS: dict[str, Any] = {
    "description": "Capitals",
    "prompts": [
        {"label": "short", "raw": "Capital of <<country>>?"},
        {"label": "polite", "raw": "Please name the capital of <<country>>."},
    ],
    "providers": [{"id": "replicate:meta/llama", "label": "llama"}, "replicate:acme/guesser"],
    "tests": [
        {
            "description": "France",
            "vars": {"country": "France", "capital": "Paris"},
            "assert": [{"type": "contains", "value": "<<capital>>"}],
        },
        {
            "vars": {"country": "Spain", "capital": "Madrid"},
            "assert": [{"type": "contains", "value": "<<capital>>"}],
        },
    ],
}


def answers(model_input: dict[str, Any]) -> Reply:
    prompt = model_input["prompt"]
    return Reply(tokens("Paris" if "France" in prompt else "Madrid"))


def guesses(model_input: dict[str, Any]) -> Reply:
    return Reply(tokens("Paris, I think"))


@pytest.fixture
def capitals(fake_replicate: FakeReplicate) -> FakeReplicate:
    fake_replicate.add_model("meta/llama", answers, official=True)
    fake_replicate.add_model("acme/guesser", guesses, official=True)
    return fake_replicate


def test_version(run_cli: RunCli) -> None:
    result = run_cli("--version")
    assert (result.exit_code, result.stdout.strip()) == (0, f"reval {__version__}")


def test_module_entry_point_and_console_script() -> None:
    for command in (
        [sys.executable, "-m", "replicate_eval", "--version"],
        [REVAL, "--version"],
    ):
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        assert (completed.returncode, completed.stdout.strip()) == (0, f"reval {__version__}")


def test_help_describes_every_option(run_cli: RunCli) -> None:
    top = run_cli("--help")
    assert top.exit_code == 0
    assert "run" in top.stdout and "Exit codes" in top.stdout
    run_help = run_cli("run", "--help").stdout
    for option in (
        "--output",
        "-o",
        "--max-concurrency",
        "-j",
        "--no-progress",
        "--max-cell-length",
        "CONFIG",
    ):
        assert option in run_help
    assert "How many cells run at the same time" in run_help


def test_all_passing_exits_0(
    capitals: FakeReplicate, run_cli: RunCli, write_config: WriteConfig
) -> None:
    config = {**CAPITALS, "providers": CAPITALS["providers"][:1]}
    result = run_cli("run", write_config(config))
    assert result.exit_code == 0, result.stdout
    assert "4 passed, 0 failed, 0 errors (100% pass rate) · 4 predictions" in result.stdout


def test_any_failure_exits_100_and_the_table_shows_every_cell(
    capitals: FakeReplicate, run_cli: RunCli, write_config: WriteConfig
) -> None:
    result = run_cli("run", write_config(CAPITALS))
    assert result.exit_code == 100
    out = result.stdout
    assert "Capitals" in out  # the description titles the table
    # rows: the test's description, else its vars; columns: provider x prompt
    assert "France" in out and "country=Spain, capital=Madrid" in out
    assert out.count("llama") >= 2 and out.count("replicate:acme/guesser") >= 2
    assert "short" in out and "polite" in out
    assert out.count("PASS") == 6 and out.count("FAIL") == 2
    assert 'output does not contain "Madrid"' in out
    assert "6 passed, 2 failed, 0 errors (75% pass rate) · 8 predictions" in out
    assert result.stderr == ""  # no progress bar or noise when not on a terminal


def test_config_error_exits_2_without_traceback(run_cli: RunCli, write_config: WriteConfig) -> None:
    # YAML text on purpose: the message names the line.
    path = write_config("prompts: [hi]\nprovider: [replicate:a/b]\n")
    result = run_cli("run", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: {path}:2: provider: unknown key; did you mean `providers`?"
    )
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_config_file_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("run", tmp_path / "nope.yaml")
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_unknown_option_exits_2(run_cli: RunCli, write_config: WriteConfig) -> None:
    assert run_cli("run", write_config({"prompts": ["hi"]}), "--frobnicate").exit_code == 2


def test_bad_output_file_is_refused_before_any_prediction(
    capitals: FakeReplicate, run_cli: RunCli, write_config: WriteConfig, tmp_path: Path
) -> None:
    config = write_config(CAPITALS)
    result = run_cli("run", config, "-o", tmp_path / "results.xlsx")
    assert result.exit_code == 2
    assert "unknown file type `.xlsx`; reval writes .json" in result.stderr
    result = run_cli("run", config, "-o", tmp_path / "no" / "such" / "dir.json")
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert capitals.requests == []


def test_json_results_file(
    capitals: FakeReplicate, run_cli: RunCli, write_config: WriteConfig, tmp_path: Path
) -> None:
    out = tmp_path / "results.json"
    result = run_cli("run", write_config(CAPITALS), "--output", out)
    assert result.exit_code == 100
    assert f"Wrote {out}" in result.stderr
    data = json.loads(out.read_text())
    assert data["schema_version"] == 1
    assert data["reval_version"] == __version__
    assert data["complete"] is True
    assert data["run_id"] and data["started_at"] <= data["finished_at"]
    assert [p["label"] for p in data["prompts"]] == ["short", "polite"]
    assert [p["label"] for p in data["providers"]] == ["llama", "replicate:acme/guesser"]
    assert data["totals"] == {
        "cells": 8,
        "passed": 6,
        "failed": 2,
        "errors": 0,
        "predictions": 8,
        "wall_time_s": data["totals"]["wall_time_s"],
        "planned": 8,
        "cached": 0,
        "carried": 0,
        "polls": 0,
        "throttled": 0,
        "grader_predictions": 0,
        "grader_cached": 0,
        "grader_time_s": 0.0,
        "ambiguous_creates": 0,
        "ambiguous_followed": 0,
        "ambiguous_canceled": 0,
        "ambiguous_unaccounted": 0,
        "groups": None,  # --min-pass's tests and the ones that passed: not given
        "groups_passed": None,
    }
    failed = next(c for c in data["cells"] if c["status"] == "failed")
    assert failed["prompt_label"] in ("short", "polite")
    assert failed["provider_id"] == "replicate:acme/guesser"
    assert failed["vars"] == {"country": "Spain", "capital": "Madrid"}
    assert failed["rendered_prompt"].endswith("Spain?") or "Spain" in failed["rendered_prompt"]
    assert failed["input"]["prompt"] == failed["rendered_prompt"]
    assert failed["output"] == "Paris, I think"
    assert failed["assertions"] == [
        {
            "type": "contains",
            "value": "Madrid",
            "weight": 1.0,
            "pass": False,
            "score": 0.0,
            "reason": 'output does not contain "Madrid"',
            "grader": None,  # no model judged it
            "metric": None,  # promptfoo's named metric: none given
            "assertions": [],  # an assert-set's members: not one
        }
    ]
    assert failed["prediction_id"] in capitals.predictions
    assert failed["latency_ms"] > 0 and "predict_time" in failed["metrics"]
    assert failed["error"] is None
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".results")] == []


def test_missing_var_errors_that_test_and_the_run_goes_on(
    capitals: FakeReplicate, run_cli: RunCli, write_config: WriteConfig, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    result = run_cli(
        "run",
        write_config(
            {
                "prompts": ["Capital of <<country>>?"],
                "providers": ["replicate:meta/llama"],
                "tests": [
                    {"description": "forgot the var", "vars": {"land": "Peru"}},
                    {
                        "vars": {"country": "France"},
                        "assert": [{"type": "contains", "value": "<<capital>>"}],
                    },
                    {"vars": {"country": "France"}},
                ],
            }
        ),
        "-o",
        out,
    )
    assert result.exit_code == 100
    cells = json.loads(out.read_text())["cells"]
    assert [c["status"] for c in cells] == ["error", "error", "passed"]
    assert cells[0]["error"] == (
        "prompt `Capital of <<country>>?`: missing var `country` (this test defines: land)"
    )
    assert cells[1]["error"] == (
        "assertion 1 (`contains`): missing var `capital` (this test defines: country)"
    )
    assert len(capitals.received("POST")) == 1


def test_promptfoo_config_runs_verbatim_with_curly_syntax(
    capitals: FakeReplicate, run_cli: RunCli, write_config: WriteConfig
) -> None:
    result = run_cli(
        "run",
        write_config(
            {
                "template_syntax": "curly",
                "prompts": ["Capital of {{country}}?"],
                "providers": ["replicate:meta/llama"],
                "tests": [
                    {
                        "vars": {"country": "France"},
                        "assert": [{"type": "equals", "value": "{{answer}}"}],
                    }
                ],
                "defaultTest": {"vars": {"answer": "Paris"}},
            }
        ),
    )
    assert result.exit_code == 0
    [request] = capitals.received("POST")
    assert request.body["input"]["prompt"] == "Capital of France?"


def test_curly_vars_under_angle_syntax_warn_on_stderr(
    capitals: FakeReplicate, run_cli: RunCli, write_config: WriteConfig
) -> None:
    result = run_cli(
        "run",
        write_config(
            {
                "template_syntax": "angle",
                "prompts": ["Capital of {{country}}?"],
                "providers": ["replicate:meta/llama"],
                "tests": [{"vars": {"country": "France"}}],
            }
        ),
    )
    assert result.stderr.count("warning:") == 1
    assert "template_syntax: curly" in result.stderr
    [request] = capitals.received("POST")
    assert request.body["input"]["prompt"] == "Capital of {{country}}?"


def test_a_promptfoo_config_is_rendered_with_its_syntax_and_a_note(
    capitals: FakeReplicate, run_cli: RunCli, write_config: WriteConfig
) -> None:
    result = run_cli(
        "run",
        write_config(
            {
                "prompts": ["Capital of {{ country }}?"],
                "providers": ["replicate:meta/llama"],
                "tests": [{"vars": {"country": "France"}}],
            }
        ),
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("note:") == 1 and "warning:" not in result.stderr
    assert "promptfoo's syntax" in result.stderr
    [request] = capitals.received("POST")
    assert request.body["input"]["prompt"] == "Capital of France?"


def test_outputs_are_cut_and_never_read_as_markup(
    fake_replicate: FakeReplicate, run_cli: RunCli, write_config: WriteConfig
) -> None:
    long_output = "[bold]literal[/bold] " + "x" * 500
    fake_replicate.add_model("meta/llama", lambda i: Reply(long_output), official=True)
    result = run_cli(
        "run",
        write_config({"prompts": ["hi"], "providers": ["replicate:meta/llama"]}),
        "--max-cell-length",
        "40",
    )
    assert "[bold]literal[/bold]" in result.stdout
    assert "x" * 60 not in result.stdout.replace("\n", "").replace(" ", "")
    assert "…" in result.stdout


def test_internal_errors_are_one_line_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> None:
        raise RuntimeError("unexpected state")

    monkeypatch.setattr(cli_app, "app", broken)
    with pytest.raises(SystemExit) as caught:
        cli_app.main()
    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: unexpected state" in err
    assert "REVAL_DEBUG=1" in err and "Traceback" not in err


def test_console_script_against_the_fake_api(
    capitals: FakeReplicate, write_config: WriteConfig
) -> None:
    completed = subprocess.run(
        [REVAL, "run", str(write_config(CAPITALS))],
        capture_output=True,
        text=True,
        env=reval_env(capitals),
        check=False,
    )
    assert completed.returncode == 100
    assert "6 passed, 2 failed" in completed.stdout
    assert completed.stderr == ""


def _stderr_on_a_terminal(command: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    """Run `command` with stderr on a pseudo-terminal; return its exit code and what it drew."""
    import pty
    import select

    master, slave = pty.openpty()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    drawn = b""
    while True:
        ready, _, _ = select.select([master], [], [], 5)
        try:
            chunk = os.read(master, 65536) if ready else b""
        except OSError:  # the terminal closed: the process is gone
            chunk = b""
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    return process.wait(), drawn


def test_progress_bar_only_on_a_terminal(
    fake_replicate: FakeReplicate, write_config: WriteConfig
) -> None:
    fake_replicate.add_model(
        "meta/llama", lambda i: Reply(tokens("x"), processing=0.3), official=True
    )
    config = write_config({"prompts": ["a", "b"], "providers": ["replicate:meta/llama"]})
    env = reval_env(fake_replicate)
    del env["NO_COLOR"]
    command = [REVAL, "run", str(config), "--no-cache"]
    code, drawn = _stderr_on_a_terminal(command, env)
    assert code == 0 and b"Running" in drawn and b"0/2" in drawn
    code, drawn = _stderr_on_a_terminal([*command, "--no-progress"], env)
    assert code == 0 and drawn == b""
    code, drawn = _stderr_on_a_terminal(command, {**env, "NO_COLOR": "1"})
    assert code == 0 and b"Running" not in drawn  # NO_COLOR: plain output, no bar
