"""--only-failing, --only-errors and --resume: part of an earlier run, and a complete result."""

from __future__ import annotations

import json
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.conftest import RunConfig, reval_env, start_reval, yaml_text
from tests.fake_replicate import FakeReplicate, Reply
from tests.history.support import MODEL, WORDS, answering, config

PATH = f"/v1/models/{MODEL}/predictions"


def prompts_sent(fake: FakeReplicate) -> list[str]:
    return sorted(str(r.body["input"]["prompt"]) for r in fake.received("POST", PATH))


def test_only_failing_runs_the_failures_and_carries_the_rest_over(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    answering(fake_replicate, wrong={"beta"}, error={"gamma"})
    first = run_config(config())
    assert first.result.exit_code == 100
    fake_replicate.requests.clear()
    answering(fake_replicate)
    report = tmp_path / "again.html"
    again = run_config(config(), "--only-failing", "latest", "--no-cache", "-o", report)
    assert again.result.exit_code == 0, again.result.stdout
    assert f"carried over from {first.json['run_id']}" in report.read_text()
    # beta failed and gamma errored: only they were asked again.
    assert prompts_sent(fake_replicate) == ["Say beta", "Say gamma"]
    cells = {cell["vars"]["word"]: cell for cell in again.cells}
    assert [cell["vars"]["word"] for cell in again.cells] == list(WORDS)  # in plan order
    assert cells["alpha"]["carried_from"] == first.json["run_id"]
    assert cells["beta"]["carried_from"] is None and cells["beta"]["status"] == "passed"
    totals = again.json["totals"]
    assert (totals["cells"], totals["passed"], totals["carried"], totals["planned"]) == (3, 3, 1, 3)
    assert again.json["complete"] is True
    assert f"--only-failing {first.json['run_id']}: running 2 of 3 cells" in again.result.stderr
    assert "3 passed, 0 failed, 0 errors" in again.result.stdout
    assert "· 1 carried over" in again.result.stdout
    assert f"PASS (carried over from {first.json['run_id']})" in again.result.stdout


def test_only_errors_leaves_plain_failures_alone(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    answering(fake_replicate, wrong={"beta"}, error={"gamma"})
    run_config(config())
    fake_replicate.requests.clear()
    answering(fake_replicate)
    again = run_config(config(), "--only-errors", "latest", "--no-cache")
    assert prompts_sent(fake_replicate) == ["Say gamma"]
    statuses = {cell["vars"]["word"]: cell["status"] for cell in again.cells}
    assert statuses == {"alpha": "passed", "beta": "failed", "gamma": "passed"}
    assert again.result.exit_code == 100  # beta's carried failure still counts


def test_a_test_added_since_is_run_and_a_changed_one_is_not_carried(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    answering(fake_replicate)
    run_config(config())
    fake_replicate.requests.clear()
    again = run_config(config(("alpha", "beta", "delta")), "--only-failing", "latest", "--no-cache")
    assert prompts_sent(fake_replicate) == ["Say delta"]
    assert [cell["carried_from"] is not None for cell in again.cells] == [True, True, False]


def test_a_results_file_works_as_the_earlier_run(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    answering(fake_replicate, wrong={"alpha"})
    run_config(config())
    earlier = tmp_path / "earlier.json"
    (tmp_path / "results.json").rename(earlier)
    fake_replicate.requests.clear()
    answering(fake_replicate)
    again = run_config(config(), "--only-failing", earlier, "--no-store", "--no-cache")
    assert again.result.exit_code == 0
    assert prompts_sent(fake_replicate) == ["Say alpha"]


def test_two_ways_of_rerunning_at_once_are_refused(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    answering(fake_replicate)
    run_config(config())
    both = run_config(config(), "--only-failing", "latest", "--resume", "latest")
    assert both.result.exit_code == 2
    assert "--only-failing and --resume cannot be used together" in both.result.stderr


def test_resume_finishes_an_interrupted_run(fake_replicate: FakeReplicate, tmp_path: Path) -> None:
    """Ctrl-C half way through a real `reval run`, then `--resume latest` runs the rest."""
    words = tuple(f"w{n}" for n in range(8))
    slow = {"w4", "w5", "w6", "w7"}
    answering(fake_replicate)
    model = fake_replicate.models[MODEL]
    quick = model.behaviour

    def answer(model_input: dict[str, Any]) -> Reply:
        reply = quick(model_input)
        if str(model_input.get("prompt", "")).removeprefix("Say ") in slow:
            return replace(reply, processing=60)  # still running at the interruption
        return reply

    model.behaviour = answer
    path = tmp_path / "config.yaml"
    path.write_text(yaml_text(config(words)))
    env = reval_env(fake_replicate)
    process = start_reval(
        "run", path, "-j", "8", "-o", tmp_path / "first.json", env=env, cwd=tmp_path
    )
    deadline = time.monotonic() + 20
    while len(fake_replicate.received("POST", PATH)) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the quick ones finish
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    model.behaviour = quick
    fake_replicate.requests.clear()
    resumed = start_reval(
        "run", path, "--resume", "latest", "-o", tmp_path / "resumed.json", env=env, cwd=tmp_path
    )
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, out + err
    assert prompts_sent(fake_replicate) == sorted(f"Say {word}" for word in slow)
    result = json.loads((tmp_path / "resumed.json").read_text())
    assert result["complete"] is True and result["totals"]["cells"] == 8
    assert result["totals"]["carried"] == 4
    first = json.loads((tmp_path / "first.json").read_text())
    assert first["complete"] is False and first["totals"]["cells"] == 4


def test_a_provider_whose_model_changed_under_its_label_is_run_again(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    answering(fake_replicate, wrong={"beta"})
    fake_replicate.add_model("acme/other", fake_replicate.models[MODEL].behaviour, official=True)
    labelled = config()
    labelled["providers"] = [{"id": f"replicate:{MODEL}", "label": "main"}]
    run_config(labelled)
    labelled["providers"] = [{"id": "replicate:acme/other", "label": "main"}]
    again = run_config(labelled, "--only-failing", "latest")
    # Same label, another model: nothing it ran belongs to this one.
    assert [cell["carried_from"] for cell in again.cells] == [None, None, None]
    assert {cell["provider_id"] for cell in again.cells} == {"replicate:acme/other"}


def test_a_changed_config_is_said_when_cells_are_carried(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    answering(fake_replicate, wrong={"beta"})
    run_config(config())
    changed = config()
    changed["tests"][0]["assert"] = [{"type": "icontains", "value": "ALPHA"}]
    again = run_config(changed, "--only-failing", "latest", "--no-cache")
    assert "the config changed since run" in " ".join(again.result.stderr.split())
    assert "judged by its assertions as they were then" in " ".join(again.result.stderr.split())


def test_resume_refuses_to_finish_a_run_another_way(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    answering(fake_replicate)
    run_config(config(), "--repeat", "3")
    fake_replicate.requests.clear()
    other = run_config(config(), "--resume", "latest", "--repeat", "5")
    assert other.result.exit_code == 2
    assert "ran each cell 3 time(s), this one 5; add --repeat 3" in other.result.stderr
    assert fake_replicate.received("POST", PATH) == []
    same = run_config(config(), "--resume", "latest", "--repeat", "3")
    assert same.result.exit_code == 0 and same.json["totals"]["carried"] == 9
