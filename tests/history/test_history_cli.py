"""The run store, `reval runs`, `reval diff` and `reval run --baseline`, as a user runs them."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunCli, RunConfig, reval_env, start_reval, yaml_text
from tests.fake_replicate import FakeReplicate
from tests.history.support import MODEL, answering, config


def store_file(tmp_path: Path) -> Path:
    """The default store: conftest points XDG_DATA_HOME into the test's own home."""
    return Path.home() / ".local" / "share" / "reval" / "runs.sqlite3"


def test_every_run_is_recorded_and_listed_newest_first(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    answering(fake_replicate)
    first = run_config(config())
    answering(fake_replicate, wrong={"beta"})
    second = run_config(config(), "--no-cache")
    assert (first.result.exit_code, second.result.exit_code) == (0, 100)
    assert store_file(tmp_path).is_file()  # $XDG_DATA_HOME/reval
    listed = run_cli("runs")
    assert listed.exit_code == 0, listed.stderr
    lines = listed.stdout
    assert lines.index(second.json["run_id"]) < lines.index(first.json["run_id"])
    assert "100%" in lines and "67%" in lines and "history" in lines
    as_json = [json.loads(line) for line in run_cli("runs", "--json").stdout.splitlines()]
    assert [run["id"] for run in as_json] == [second.json["run_id"], first.json["run_id"]]
    assert as_json[0]["passed"] == 2 and as_json[0]["cells"] == 3
    assert as_json[0]["config_sha256"] == second.json["config_sha256"]


def test_a_run_keeps_its_providers_resolved_version(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli
) -> None:
    model = answering(fake_replicate)
    run = run_config(config())
    [provider] = run.json["providers"]
    assert provider["version"] == model.latest_version
    shown = run_cli("runs", "show", "latest")
    assert shown.exit_code == 0
    assert f"replicate:{MODEL} @ {model.latest_version}" in shown.stdout
    assert "3 passed" in shown.stdout


def test_runs_show_and_rm_by_prefix_and_latest_n(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    answering(fake_replicate)
    ids = [run_config(config()).json["run_id"] for _ in range(3)]
    assert run_cli("runs", "show", "latest~2").stdout.count(ids[0]) == 1
    exported = tmp_path / "again.json"
    # The shortest prefix of the middle run's id that no other id shares.
    prefix = next(
        ids[1][:n]
        for n in range(1, len(ids[1]) + 1)
        if sum(i.startswith(ids[1][:n]) for i in ids) == 1
    )
    shown = run_cli("runs", "show", prefix, "-o", exported)
    assert shown.exit_code == 0 and json.loads(exported.read_text())["run_id"] == ids[1]
    removed = run_cli("runs", "rm", ids[2], "latest~2")
    assert removed.exit_code == 0
    assert f"Removed {ids[2]}" in removed.stdout and f"Removed {ids[0]}" in removed.stdout
    left = run_cli("runs", "--json").stdout.splitlines()
    assert [json.loads(line)["id"] for line in left] == [ids[1]]


def test_a_ref_that_matches_nothing_or_several_runs_is_refused(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli
) -> None:
    answering(fake_replicate)
    first, second = (run_config(config()).json["run_id"] for _ in range(2))
    common = first[:8]  # both start with the date: 2026MMDD
    assert second.startswith(common)
    several = run_cli("runs", "show", common)
    assert several.exit_code == 2
    assert f"{common}: 2 runs have an id starting so ({second}, {first}); give more" in (
        " ".join(several.stderr.split())
    )
    nothing = run_cli("runs", "show", "1999")
    assert nothing.exit_code == 2 and "no run in the run store" in nothing.stderr
    too_far = run_cli("diff", "latest~5", "latest")
    assert too_far.exit_code == 2
    assert "holds 2 run(s); `latest~1` is the oldest" in " ".join(too_far.stderr.split())
    typo = run_cli("runs", "rm", second, "nosuchrun")
    assert typo.exit_code == 2
    assert len(run_cli("runs", "--json").stdout.splitlines()) == 2  # nothing was removed
    assert "Traceback" not in several.stderr + nothing.stderr + too_far.stderr + typo.stderr


def test_diff_shows_regressions_and_fixes_and_gates_on_them(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    answering(fake_replicate, wrong={"gamma"})
    base = run_config(config())
    answering(fake_replicate, wrong={"beta"})
    new = run_config(config(), "--no-cache")
    shown = run_cli("diff", base.json["run_id"], "latest")
    assert shown.exit_code == 0  # no gate asked for
    text = shown.stdout
    assert "1 regression, 1 fixed, 0 still failing" in text
    regressions = text[text.index("Regressions") : text.index("Fixed")]
    assert "word=beta" in regressions and "passed → failed" in regressions
    assert "word=gamma" in text[text.index("Fixed") :]
    assert "[-Say beta-]{+no+}" in text  # the changed output, word by word
    gated = run_cli("diff", "latest~1", "latest", "--fail-on", "regression")
    assert gated.exit_code == 100
    # Results files work without a store: CI artifacts.
    files = run_cli(
        "diff",
        "--no-store",
        tmp_path / "results.json",
        tmp_path / "results.json",
        "--fail-on",
        "regression",
    )
    assert files.exit_code == 0 and "0 regressions" in files.stdout
    assert new.json["run_id"] in text


def test_baseline_gate_fails_only_on_what_regressed(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answering(fake_replicate, wrong={"gamma"})
    baseline = run_config(config())
    assert baseline.result.exit_code == 100
    summary = tmp_path / "step-summary.md"
    # gamma still fails: a failing test that also failed in the baseline is not a regression.
    same = run_config(
        config(),
        "--baseline",
        "latest",
        "--fail-on",
        "regression",
        "-o",
        tmp_path / "r.md",
        "--no-cache",
    )
    assert same.result.exit_code == 0, same.result.stdout
    assert "Compared with the baseline" in same.result.stdout
    assert "0 regressions" in same.result.stdout
    markdown = (tmp_path / "r.md").read_text()
    assert "regression" in markdown.lower()  # the diff follows the run's own summary
    answering(fake_replicate, wrong={"gamma", "alpha"})
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    worse = run_config(
        config(), "--baseline", baseline.json["run_id"], "--fail-on", "regression", "--no-cache"
    )
    assert worse.result.exit_code == 100
    assert "1 regression" in worse.result.stdout
    assert "word=alpha" in summary.read_text()


def test_fail_on_regression_needs_a_baseline_and_a_bad_ref_costs_nothing(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    answering(fake_replicate)
    alone = run_config(config(), "--fail-on", "regression")
    assert alone.result.exit_code == 2 and "needs a --baseline" in alone.result.stderr
    missing = run_config(config(), "--baseline", "nosuchrun")
    assert missing.result.exit_code == 2
    assert "--baseline nosuchrun: no run in the run store" in missing.result.stderr
    assert fake_replicate.received("POST") == []


def test_no_store_records_nothing_and_reads_only_files(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    answering(fake_replicate)
    run = run_config(config(), "--no-store")
    assert run.result.exit_code == 0
    assert not store_file(tmp_path).exists()
    refused = run_config(config(), "--no-store", "--baseline", "latest")
    assert refused.result.exit_code == 2
    assert "there is no run store to look in (--no-store)" in refused.result.stderr


def test_store_folder_from_option_and_environment(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answering(fake_replicate)
    chosen = tmp_path / "team-store"
    run_config(config(), "--store", chosen)
    assert (chosen / "runs.sqlite3").is_file()
    monkeypatch.setenv("REVAL_STORE", str(chosen))
    assert len(run_cli("runs", "--json").stdout.splitlines()) == 1
    assert not store_file(tmp_path).exists()


def test_an_unusable_store_named_by_the_user_stops_the_run_but_the_default_only_warns(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answering(fake_replicate)
    not_a_store = tmp_path / "other.db"
    not_a_store.mkdir()
    sqlite3.connect(not_a_store / "runs.sqlite3").execute("CREATE TABLE t (x)").connection.commit()
    named = run_config(config(), "--store", not_a_store)
    assert named.result.exit_code == 2
    assert "a SQLite database reval did not write (tables: t)" in named.result.stderr
    assert fake_replicate.received("POST") == []
    blocked = tmp_path / "data-is-a-file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocked))
    default = run_config(config())
    assert default.result.exit_code == 0
    assert "this run is not recorded" in default.result.stderr


def test_a_merge_is_recorded_like_a_run(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    answering(fake_replicate)
    parts = []
    for number in (1, 2):
        out = tmp_path / f"shard{number}.json"
        run_config(config(), "--shard", f"{number}/2", "-o", out, "--no-store")
        parts.append(out)
    merged = run_cli("merge", *parts, "-o", tmp_path / "all.json")
    assert merged.exit_code == 0, merged.stderr
    [run] = [json.loads(line) for line in run_cli("runs", "--json").stdout.splitlines()]
    assert run["kind"] == "merge" and run["id"].startswith("merged-") and run["cells"] == 3


def test_two_results_files_need_no_store_even_a_broken_one(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answering(fake_replicate)
    run_config(config(), "--no-store")
    blocked = tmp_path / "data-is-a-file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocked))
    results = tmp_path / "results.json"
    assert run_cli("diff", results, results).exit_code == 0
    shown = run_cli("runs", "show", results)
    assert shown.exit_code == 0 and "3 passed" in shown.stdout


def test_a_file_named_like_a_ref_does_not_hide_the_run(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    answering(fake_replicate)
    run = run_config(config())
    (tmp_path / "latest").write_text("not results")
    shown = run_cli("runs", "show", "latest")
    assert shown.exit_code == 0 and run.json["run_id"] in shown.stdout
    assert run_cli("runs", "show", "./latest").exit_code == 2  # a path: read as a file


def test_a_store_from_a_newer_reval_is_refused_not_repaired(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    answering(fake_replicate)
    run_config(config())
    database = store_file(tmp_path)
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA user_version = 7")
    listed = run_cli("runs")
    assert listed.exit_code == 2
    assert "made by a newer reval (store layout 7" in " ".join(listed.stderr.split())
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA user_version = 1")
        db.execute("ALTER TABLE runs ADD COLUMN tags TEXT")  # a later layout's extra column
        db.execute("UPDATE runs SET schema_version = 2")
    assert run_cli("runs").exit_code == 0
    newer = run_cli("runs", "show", "latest")
    assert newer.exit_code == 2 and "recorded by a newer reval (results schema 2" in newer.stderr


def test_runs_lists_by_config_and_records_the_git_commit(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    answering(fake_replicate)
    (tmp_path / "config.yaml").write_text(yaml_text(config()))  # as run_config writes it
    for command in (["init", "-q", "-b", "feature"], ["add", "."], ["commit", "-qm", "x"]):
        subprocess.run(
            ["git", "-c", "user.email=a@b.c", "-c", "user.name=A", *command],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    run = run_config(config())
    assert run.json["git"] == {"commit": commit, "branch": "feature", "dirty": False}
    other = tmp_path / "other"
    other.mkdir()
    (other / "evals.yaml").write_text((tmp_path / "config.yaml").read_text())
    assert run_cli("run", other / "evals.yaml").exit_code == 0
    both = [json.loads(line) for line in run_cli("runs", "--json").stdout.splitlines()]
    assert [run["git_commit"] for run in both] == [commit, commit]
    assert both[1]["git_branch"] == "feature"
    only = run_cli("runs", "--config", "evals.yaml", "--json").stdout.splitlines()
    assert [json.loads(line)["config_path"] for line in only] == [str(other / "evals.yaml")]
    table = run_cli("runs").stdout
    assert f"{commit[:7]} (feature)" in table


def test_only_failing_with_nothing_failing_makes_no_prediction(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    answering(fake_replicate)
    run_config(config())
    fake_replicate.requests.clear()
    again = run_config(config(), "--only-failing", "latest", "--no-preflight")
    assert again.result.exit_code == 0
    assert fake_replicate.received("POST") == []
    assert again.json["totals"]["carried"] == 3 and again.json["complete"] is True


def test_runs_started_at_once_are_all_recorded(
    fake_replicate: FakeReplicate, run_cli: RunCli, tmp_path: Path
) -> None:
    answering(fake_replicate)
    path = tmp_path / "config.yaml"
    path.write_text(yaml_text(config()))
    env = reval_env(fake_replicate)
    processes = [
        start_reval("run", path, "--no-cache", "-o", tmp_path / f"r{n}.json", env=env, cwd=tmp_path)
        for n in range(4)
    ]
    for process in processes:
        process.communicate(timeout=60)
        assert process.returncode == 0
    ids = {json.loads((tmp_path / f"r{n}.json").read_text())["run_id"] for n in range(4)}
    listed = {json.loads(line)["id"] for line in run_cli("runs", "--json").stdout.splitlines()}
    assert listed == ids and len(ids) == 4
