"""Edges of the history commands found by trying them as users and attackers would."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import replicate_eval as reval
from replicate_eval.report.diff_json import diff_json
from tests.conftest import RunCli, RunConfig
from tests.fake_replicate import FakeReplicate
from tests.history.support import answering, built_run, config

P, F = "passed", "failed"


def write(path: Path, run: reval.RunResult) -> Path:
    path.write_text(run.to_json())
    return path


def test_runs_show_writes_only_the_files_asked_for(run_cli: RunCli, tmp_path: Path) -> None:
    """A results file names its image folder; `runs show -o` must not write a report there."""
    victim = tmp_path / "victim" / "site"
    victim.mkdir(parents=True)
    (victim / "report.html").write_text("mine")
    hostile = built_run("site", {"a": [P]}).model_copy(update={"output_dir": str(victim)})
    shown = run_cli(
        "runs", "show", write(tmp_path / "x.json", hostile), "-o", tmp_path / "out.json"
    )
    assert shown.exit_code == 0
    assert (victim / "report.html").read_text() == "mine"
    assert json.loads((tmp_path / "out.json").read_text())["run_id"] == "site"


def test_results_files_from_a_newer_reval_or_another_tool_are_refused(
    run_cli: RunCli, tmp_path: Path
) -> None:
    good = write(tmp_path / "good.json", built_run("a", {"a": [P]}))
    newer = tmp_path / "newer.json"
    newer.write_text(good.read_text().replace('"schema_version": 1', '"schema_version": 2', 1))
    refused = run_cli("diff", good, newer)
    assert refused.exit_code == 2
    assert "written by a newer reval (results schema 2" in " ".join(refused.stderr.split())
    other = tmp_path / "promptfoo.json"
    other.write_text(json.dumps({"evalId": "x", "results": {"results": []}}))
    foreign = run_cli("diff", other, good)
    assert foreign.exit_code == 2
    text = " ".join(foreign.stderr.split())
    assert "not a reval results file (`run_id`: Field required" in text
    assert "is it another tool's file?" in text and "https://" not in text


def test_a_merge_is_the_latest_run_though_its_shards_started_first(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    answering(fake_replicate)
    parts = [tmp_path / "s1.json", tmp_path / "s2.json"]
    for number, out in enumerate(parts, 1):
        run_config(config(), "--shard", f"{number}/2", "-o", out)
    run_config(config())
    assert run_cli("merge", *parts, "-o", tmp_path / "all.json").exit_code == 0
    latest = json.loads(run_cli("runs", "--json", "-n", "1").stdout)
    assert latest["kind"] == "merge"


def test_changed_outputs_of_passing_tests_show_on_the_terminal(
    run_cli: RunCli, tmp_path: Path
) -> None:
    base = write(tmp_path / "a.json", built_run("a", {"a": [P]}, outputs={"a": "Paris, France"}))
    new = write(tmp_path / "b.json", built_run("b", {"a": [P]}, outputs={"a": "Lyon, France"}))
    shown = run_cli("diff", base, new)
    assert "1 unchanged" in shown.stdout and "[-Paris-]{+Lyon+}, France" in shown.stdout


def test_an_output_path_that_is_an_input_is_refused(run_cli: RunCli, tmp_path: Path) -> None:
    base = write(tmp_path / "a.json", built_run("a", {"a": [P]}))
    new = write(tmp_path / "b.json", built_run("b", {"a": [F]}))
    refused = run_cli("diff", base, new, "-o", new)
    assert refused.exit_code == 2 and "is the results file" in refused.stderr
    assert json.loads(new.read_text())["run_id"] == "b"


def test_one_run_against_five_cannot_be_significant_and_says_so() -> None:
    diff = reval.diff_results(built_run("a", {"a": [P]}), built_run("b", {"a": [F] * 5}))
    assert [cell.change for cell in diff.changes] == ["flaky"]
    assert any("1 and 5 runs of each cell no drop can be significant" in w for w in diff.warnings)


def test_tests_written_twice_are_warned_about() -> None:
    base = built_run("a", {"a": [P]})
    twice = base.model_copy(
        update={"tests": [*base.tests, base.tests[0].model_copy(update={"index": 1})]}
    )
    diff = reval.diff_results(twice, base)
    assert any("1 test(s) written more than once" in w for w in diff.warnings)


def test_the_diff_json_is_strict_json_whatever_the_scores() -> None:
    diff = reval.diff_results(
        built_run("a", {"a": [P]}, scores={"a": math.nan}),
        built_run("b", {"a": [P]}, scores={"a": math.inf}),
    )
    data = json.loads(diff_json(diff), parse_constant=lambda name: pytest.fail(name))
    assert data["cells"][0]["base"]["score"] is None


def test_the_python_api_raises_reval_errors(tmp_path: Path) -> None:
    run = built_run("a", {"a": [P]})
    with pytest.raises(reval.UsageError, match="rerun='failed' is not one of"):
        reval.CarryOver(run, "failed")  # type: ignore[arg-type]
    with pytest.raises(reval.UsageError, match="source must be a RunResult"):
        reval.CarryOver("results.json", "failing")  # type: ignore[arg-type]
    with pytest.raises(reval.UsageError, match="compares two RunResults"):
        reval.diff_results("a.json", run)  # type: ignore[arg-type]


def test_reading_never_creates_a_store(run_cli: RunCli, tmp_path: Path) -> None:
    typo = tmp_path / "typo" / "deeper"
    listed = run_cli("runs", "--store", typo)
    assert listed.exit_code == 0 and "No runs in the run store" in listed.stdout
    assert run_cli("diff", "--store", typo).exit_code == 2
    assert not (tmp_path / "typo").exists()
