"""--min-pass K: with --repeat N, a test passes when K of its N runs do (issue 17, item 6).

The model under test is flaky: each prompt is answered "yes", "yes", "no" in turn, so a test
asking for "yes" passes 2 of its 3 runs, and one that takes either answer passes all 3.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from junitparser import Failure, JUnitXml

import replicate_eval as reval
from tests.conftest import RunCli, RunConfig
from tests.fake_replicate import FakeReplicate, flaky

CONFIG: dict[str, Any] = {
    "description": "a flaky model",
    "prompts": ["Q <<q>>"],
    "providers": ["replicate:meta/llama"],
    "tests": [
        {
            "description": "flaky",
            "vars": {"q": "one"},
            "assert": [{"type": "equals", "value": "yes"}],
        },
        {
            "description": "steady",
            "vars": {"q": "two"},
            "assert": [{"type": "regex", "value": "^(yes|no)$"}],
        },
    ],
}
# Every run asks anew (the cache would answer a test's first run), one cell at a time.
REPEAT_3 = ("--repeat", "3", "--no-cache", "-j", "1")


@pytest.fixture
def model(fake_replicate: FakeReplicate) -> FakeReplicate:
    fake_replicate.add_model("meta/llama", flaky("yes", "yes", "no"), official=True)
    return fake_replicate


def flat(text: str) -> str:
    """The table's text with its wrapping and grid lines undone."""
    return " ".join(re.sub(r"[|+]", " ", text).split())


def test_a_test_passing_k_of_n_runs_passes_in_the_gate_json_table_and_junit(
    model: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    # Without --min-pass one failed run fails the run.
    every = run_config(CONFIG, *REPEAT_3)
    assert every.result.exit_code == 100
    assert every.json["min_pass"] is None and every.json["totals"]["groups"] is None

    files = [arg for name in ("r.xml", "r.md", "r.html") for arg in ("-o", tmp_path / name)]
    run = run_config(CONFIG, *REPEAT_3, "--min-pass", "2", *files)
    assert run.result.exit_code == 0, run.result.stderr
    assert run.json["min_pass"] == 2 and run.json["repeat"] == 3
    totals = run.json["totals"]
    assert (totals["passed"], totals["failed"]) == (5, 1)  # the runs are all still there
    assert (totals["groups"], totals["groups_passed"]) == (2, 2)
    out = flat(run.result.stdout)
    assert "PASS 2/3 runs passed, min 2 (67%, 95% CI 21%-94%) run 3: FAIL" in out
    assert "PASS 3/3 runs passed, min 2" in out
    assert "2 of 2 tests passed at least 2 of 3 runs" in out

    [suite] = list(JUnitXml.fromfile(str(tmp_path / "r.xml")))
    assert (suite.tests, suite.failures, suite.errors) == (2, 0, 0)
    cases = {case.name: case for case in suite}
    assert set(cases) == {"flaky", "steady"}  # a testcase per test, not per run
    assert cases["flaky"].system_out.startswith("2/3 runs passed, min 2 (run 3: ")
    page = (tmp_path / "r.html").read_text()  # beside the shown run's badge, the verdict
    assert "test PASS: 2/3 runs passed, min 2 (67%, 95% CI 21%-94%)" in page
    markdown = (tmp_path / "r.md").read_text()
    assert "**2 of 2 tests passed at least 2 of 3 runs**" in markdown
    assert "| replicate:meta/llama | 5 | 1 | 0 | 83% | 2/2 |" in markdown


def test_a_test_below_k_fails_and_fail_under_counts_tests(
    model: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    run = run_config(CONFIG, *REPEAT_3, "--min-pass", "3", "-o", tmp_path / "r.xml")
    assert run.result.exit_code == 100
    assert (run.json["totals"]["groups"], run.json["totals"]["groups_passed"]) == (2, 1)
    assert "FAIL 2/3 runs passed, min 3" in flat(run.result.stdout)
    [suite] = list(JUnitXml.fromfile(str(tmp_path / "r.xml")))
    assert (suite.tests, suite.failures) == (2, 1)
    [failure] = [r for case in suite if case.name == "flaky" for r in case.result]
    assert isinstance(failure, Failure)
    assert failure.message.startswith("2/3 runs passed, min 3: run 3: ")
    # 5 of 6 runs passed (83%) but 1 of 2 tests: --fail-under reads the tests.
    assert (
        run_config(CONFIG, *REPEAT_3, "--min-pass", "3", "--fail-under", "50").result.exit_code == 0
    )
    assert (
        run_config(CONFIG, *REPEAT_3, "--min-pass", "3", "--fail-under", "60").result.exit_code
        == 100
    )


def test_the_summary_table_counts_tests_and_explains_failed_runs(
    model: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(CONFIG, *REPEAT_3, "--min-pass", "2", "--table", "summary")
    out = flat(run.result.stdout)
    assert "Tests passed (min 2)" in out
    assert "flaky (run 3; test PASS: 2/3 runs passed, min 2)" in out


def test_more_than_the_runs_is_a_usage_error_before_any_prediction(
    model: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(CONFIG, "--repeat", "3", "--min-pass", "4")
    assert run.result.exit_code == 2
    assert (
        "--min-pass 4 is more than the 3 runs of each test (--repeat 3): lower --min-pass to "
        "at most 3 or raise --repeat to 4 or more"
    ) in flat(run.result.stderr)
    # N from the config: the message says where it came from.
    from_config = run_config({**CONFIG, "evaluateOptions": {"repeat": 2}}, "--min-pass", "3")
    assert from_config.result.exit_code == 2
    assert "(the config's evaluateOptions.repeat, else 1)" in flat(from_config.result.stderr)
    assert run_config(CONFIG, "--min-pass", "0").result.exit_code == 2
    assert model.received("POST") == []


def test_merge_keeps_min_pass_and_refuses_shards_that_differ(
    model: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    parts = []
    for number, k in ((1, "2"), (2, "2"), (2, "3")):
        out = tmp_path / f"shard{number}-{k}.json"
        run_config(CONFIG, *REPEAT_3, "--min-pass", k, "--shard", f"{number}/2", "-o", out)
        parts.append(out)
    merged = run_cli("merge", parts[0], parts[1], "-o", tmp_path / "all.json")
    assert merged.exit_code == 0, merged.stderr
    data = json.loads((tmp_path / "all.json").read_text())
    assert data["min_pass"] == 2
    assert (data["totals"]["groups"], data["totals"]["groups_passed"]) == (2, 2)
    refused = run_cli("merge", parts[0], parts[2], "-o", tmp_path / "x.json")
    assert refused.exit_code == 2
    assert "merge shards run with the same --min-pass" in flat(refused.stderr)


def test_the_library_takes_min_pass_in_eval_options(model: FakeReplicate, tmp_path: Path) -> None:
    config = reval.load(CONFIG, base_dir=tmp_path)
    options = reval.EvalOptions(repeat=3, min_pass=2, cache=False, max_concurrency=1)
    result = reval.evaluate(config, options)
    assert result.min_pass == 2 and result.totals.groups_passed == 2
    assert reval.exit_code(result) == reval.ExitCode.OK
    with pytest.raises(reval.UsageError, match="more than the 3 runs"):
        reval.evaluate(config, reval.EvalOptions(repeat=3, min_pass=4))
