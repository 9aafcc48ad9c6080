"""What `--fail-on regression` counts, and diffs of sharded, filtered and --min-pass runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from replicate_eval.history.compared import compared
from replicate_eval.history.diff import diff_runs
from replicate_eval.history.significance import PassCounts, is_regression, min_p_value
from tests.conftest import RunCli, RunConfig
from tests.fake_replicate import FakeReplicate
from tests.history.support import answering, built_run, config

P, F = "passed", "failed"


def described(words: tuple[str, ...]) -> dict[str, object]:
    data = config(words)
    for test in data["tests"]:  # type: ignore[union-attr]
        test["description"] = f"says {test['vars']['word']}"
    return data


def test_a_new_test_that_fails_fails_the_gate_but_an_old_failure_does_not(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    answering(fake_replicate, wrong={"gamma", "delta"})
    run_config(config())
    still = run_config(config(), "--baseline", "latest", "--fail-on", "regression")
    assert still.result.exit_code == 0  # gamma failed in the baseline too
    added = run_config(
        config(("alpha", "beta", "gamma", "delta")),
        "--baseline",
        "latest~1",
        "--fail-on",
        "regression",
    )
    assert added.result.exit_code == 100  # delta is new, and fails
    assert "1 new (1 failing)" in added.result.stdout


def test_the_gate_keeps_fail_under_and_warns_when_nothing_matches(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli
) -> None:
    answering(fake_replicate, wrong={"beta"})
    run_config(config())
    both = run_config(
        config(), "--baseline", "latest", "--fail-on", "regression", "--fail-under", "90"
    )
    assert both.result.exit_code == 100  # no regression, but 67% is under 90%
    other = run_config(
        config(("delta", "epsilon")), "--baseline", "latest~1", "--fail-on", "regression"
    )
    assert other.result.exit_code == 0  # both new tests pass
    assert "no test × prompt × provider in common" in " ".join(other.result.stdout.split())


def test_a_shard_and_a_filtered_run_compare_their_own_tests(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    words = ("alpha", "beta", "gamma", "delta")
    answering(fake_replicate)
    run_config(described(words), "--filter-pattern", "gamma|delta")
    answering(fake_replicate, wrong={"gamma"})
    filtered = run_config(
        described(words),
        "--filter-pattern",
        "gamma|delta",
        "--no-cache",
        "--baseline",
        "latest",
        "--fail-on",
        "regression",
    )
    assert filtered.result.exit_code == 100
    assert "1 regression, 0 fixed, 0 still failing, 0 flaky, 0 new, 0 removed, 1 unchanged" in (
        filtered.result.stdout
    )
    assert "says gamma" in filtered.result.stdout
    answering(fake_replicate)
    run_config(described(words), "--shard", "2/2", "--no-cache")
    again = run_config(described(words), "--shard", "2/2", "--baseline", "latest")
    tests = len(again.json["tests"])
    assert f"0 new, 0 removed, {tests} unchanged" in again.result.stdout
    # A re-run of a filtered run carries its passes over.
    rerun = run_config(
        described(words), "--filter-pattern", "gamma|delta", "--only-failing", "latest~2"
    )
    assert [cell["carried_from"] is not None for cell in rerun.cells] == [False, True]


def test_min_pass_verdicts_decide_regressions(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli
) -> None:
    answering(fake_replicate)
    run_config(config(), "--repeat", "3", "--min-pass", "2")
    answering(fake_replicate, wrong={"beta"})
    worse = run_config(
        config(),
        "--repeat",
        "3",
        "--min-pass",
        "2",
        "--no-cache",
        "--baseline",
        "latest",
        "--fail-on",
        "regression",
    )
    # 3/3 to 0/3 is no significant drop by Fisher (p = 0.05), but --min-pass 2 says it failed.
    assert worse.result.exit_code == 100
    assert "1 regression" in worse.result.stdout


def test_too_few_repeats_to_be_significant_are_warned_about() -> None:
    base = built_run("b", {"a": [P, P]})
    new = built_run("n", {"a": [F, F]})
    diff = diff_runs(compared(base), compared(new))
    assert [cell.change for cell in diff.changes] == ["flaky"]
    assert any(
        "no drop can be significant (the smallest possible p is 0.167)" in w for w in diff.warnings
    )
    assert min_p_value(3) == pytest.approx(0.05) and min_p_value(4) == pytest.approx(1 / 70)


def test_a_p_value_at_alpha_is_not_below_it() -> None:
    # 3/3 to 0/3: p = 1/20 exactly (floating point gives 0.04999999999999998).
    assert not is_regression(PassCounts(3, 3), PassCounts(0, 3))
    assert is_regression(PassCounts(4, 4), PassCounts(0, 4))


def test_the_same_config_at_another_path_is_not_a_changed_config(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    answering(fake_replicate)
    run_config(config())
    (tmp_path / "copy").mkdir()
    copy = tmp_path / "copy" / "config.yaml"
    copy.write_text((tmp_path / "config.yaml").read_text())
    assert run_cli("run", copy).exit_code == 0
    text = " ".join(run_cli("diff").stdout.split())
    assert "the config changed" not in text and "different configs" not in text


def test_a_shard_against_a_full_baseline_leaves_the_other_shards_tests_out(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    words = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")
    answering(fake_replicate)
    full = tmp_path / "full.json"
    run_config(described(words), "-o", full)
    shard = run_config(
        described(words), "--shard", "1/2", "--baseline", str(full), "--fail-on", "regression"
    )
    assert shard.result.exit_code == 0
    ran = len(shard.json["tests"])
    assert 0 < ran < len(words)
    text = " ".join(shard.result.stdout.split())
    assert f"0 new, 0 removed, {ran} unchanged" in text
    assert "the base run's other tests are left out" in text


def test_cells_an_interrupted_run_did_not_reach_are_not_removed(
    run_cli: RunCli, tmp_path: Path
) -> None:
    base = built_run("b", {"a": [P], "b": [P], "c": [P]})
    whole = built_run("n", {"a": [P], "b": [P], "c": [P]})
    new = whole.model_copy(update={"complete": False, "cells": whole.cells[:1]})
    diff = diff_runs(compared(base), compared(new))
    assert diff.counts["removed"] == 0 and diff.not_run == 2
    assert [cell.change for cell in diff.changes] == ["unchanged"]
    (tmp_path / "b.json").write_text(base.to_json())
    (tmp_path / "n.json").write_text(new.to_json())
    gated = run_cli("diff", tmp_path / "b.json", tmp_path / "n.json", "--fail-on", "regression")
    assert gated.exit_code == 100  # an interrupted run vouches for nothing it did not run
    assert "the new run is incomplete" in " ".join(gated.stderr.split())
