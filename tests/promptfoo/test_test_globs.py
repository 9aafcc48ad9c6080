"""promptfoo's `tests: file://cases/*.yaml`: a glob of tests files, read in name order."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate
from tests.promptfoo.support import prompts_sent, says_ok


def _write_cases(folder: Path, name: str, names: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    cases = [
        {"vars": {"name": each}, "assert": [{"type": "contains", "value": "ok"}]} for each in names
    ]
    (folder / name).write_text(yaml.safe_dump(cases))


def test_a_glob_reads_every_matching_file_in_name_order(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    _write_cases(tmp_path / "cases", "b.yaml", ["Bo"])
    _write_cases(tmp_path / "cases", "a.yaml", ["Ann", "Al"])
    (tmp_path / "cases" / "notes.txt").write_text("not a tests file")
    run = run_config(
        {
            "prompts": ["Hi <<name>>"],
            "providers": ["replicate:meta/llama"],
            "tests": ["file://cases/*.yaml", {"vars": {"name": "Inline"}}],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert sorted(prompts_sent(fake_replicate)) == ["Hi Al", "Hi Ann", "Hi Bo", "Hi Inline"]
    assert [test["vars"]["name"] for test in run.json["tests"]] == ["Ann", "Al", "Bo", "Inline"]


def test_tests_as_one_glob_string(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    _write_cases(tmp_path / "cases", "one.yaml", ["Ann"])
    _write_cases(tmp_path / "cases", "two.yml", ["Bo"])
    run = run_config(
        {
            "prompts": ["Hi <<name>>"],
            "providers": ["replicate:meta/llama"],
            "tests": "file://cases/*.y*ml",
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert [test["vars"]["name"] for test in run.json["tests"]] == ["Ann", "Bo"]


def test_a_glob_that_matches_nothing_names_the_pattern(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        {
            "prompts": ["Hi <<name>>"],
            "providers": ["replicate:meta/llama"],
            "tests": ["file://missing/*.csv"],
        }
    )
    assert run.result.exit_code == 2
    assert "tests[0]" in run.result.stderr and "missing/*.csv" in run.result.stderr
    assert "Traceback" not in run.result.stderr
    assert fake_replicate.requests == []


def test_a_bad_row_in_a_matched_file_names_that_file(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "good.yaml").write_text(yaml.safe_dump([{"vars": {"name": "Ann"}}]))
    (tmp_path / "cases" / "worse.yaml").write_text(yaml.safe_dump([{"varz": {"name": "Bo"}}]))
    run = run_config(
        {
            "prompts": ["Hi <<name>>"],
            "providers": ["replicate:meta/llama"],
            "tests": "file://cases/*.yaml",
        }
    )
    assert run.result.exit_code == 2
    assert "worse.yaml" in run.result.stderr and "varz" in run.result.stderr
    assert fake_replicate.requests == []
