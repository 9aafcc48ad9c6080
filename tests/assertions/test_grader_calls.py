"""Calls to judges during a run: caching, sharing an answer, errors, Ctrl-C."""

from __future__ import annotations

import json
import signal
import time
from dataclasses import replace
from pathlib import Path

from tests.conftest import RunConfig, reval_env, start_reval, yaml_text
from tests.fake_replicate import FakeReplicate
from tests.fake_replicate.judges import (
    GRADER,
    GUARD,
)
from tests.graded_support import (
    GRADER_PATH,
    assertion,
    config,
    serve_answerer_and_judges,
    suite,
)


def test_grader_answers_are_cached_between_runs(fake: FakeReplicate, run_config: RunConfig) -> None:
    text = config(
        {"type": "llm-rubric", "value": "mentions 'Paris'"},
        {"type": "similar", "value": "Paris is the capital of France"},
        {"type": "moderation"},
    )
    first = run_config(text)
    made = len(fake.received("POST"))
    assert first.json["totals"]["grader_predictions"] == 4
    second = run_config(text)
    assert len(fake.received("POST")) == made  # nothing new: model and graders cached
    totals = second.json["totals"]
    assert (totals["predictions"], totals["grader_predictions"]) == (0, 0)
    assert totals["grader_cached"] == 4
    assert [a["pass"] for a in second.cells[0]["assertions"]] == [True, True, True]
    assert all(c["cached"] for a in second.cells[0]["assertions"] for c in a["grader"]["calls"])
    third = run_config(text, "--no-cache")
    assert third.json["totals"]["grader_predictions"] == 4


def test_a_grader_that_does_not_exist_is_asked_once(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    rubric = {"type": "llm-rubric", "value": "x", "provider": "replicate:acme/no-such-grader"}
    tests = [{"vars": {"question": f"q{n}"}, "assert": [rubric]} for n in range(3)]
    run = run_config(suite(*tests), "--no-preflight", "-j", "1")
    asked = fake.received("POST", "/v1/models/acme/no-such-grader/predictions")
    assert len(asked) == 1  # a 404 is the same for every call: not asked again
    reasons = [cell["assertions"][0]["reason"] for cell in run.cells]
    assert all("404" in reason or "not found" in reason.lower() for reason in reasons), reasons
    assert "not sent again" in reasons[2]
    assert run.result.exit_code == 100


def test_an_unreadable_answer_is_not_cached(fake: FakeReplicate, run_config: RunConfig) -> None:
    text = config({"type": "llm-rubric", "value": "'Paris' [answer:garbage]"})
    run_config(text)
    again = run_config(text)
    totals = again.json["totals"]
    assert totals["cached"] == 1  # the model's answer is reused...
    assert totals["grader_predictions"] == 1  # ...the unreadable verdict is asked again
    assert len(fake.received("POST", GRADER_PATH)) == 2


def test_ctrl_c_cancels_the_graders_predictions_too(tmp_path: Path) -> None:
    with FakeReplicate(hold_cap=0.2) as fake:
        serve_answerer_and_judges(fake)
        judge = fake.models[GRADER].behaviour
        fake.models[GRADER].behaviour = lambda i: replace(judge(i), processing=60.0)
        path = tmp_path / "graded.yaml"
        path.write_text(yaml_text(config({"type": "llm-rubric", "value": "mentions 'Paris'"})))
        out = tmp_path / "results.json"
        process = start_reval("run", path, "-o", out, env=reval_env(fake), cwd=tmp_path)
        try:
            deadline = time.monotonic() + 20
            while not any(p.model == GRADER for p in fake.running()):
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the grader never started"
                time.sleep(0.05)
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
        assert process.returncode == 130, stderr
        assert fake.running() == []  # the grader's prediction was canceled, not left billing
        [graded] = [p for p in fake.predictions.values() if p.model == GRADER]
        assert graded.status() == "canceled"
        assert json.loads(out.read_text())["complete"] is False


def test_an_expected_text_is_embedded_once_even_one_cell_at_a_time(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    tests = [
        {"vars": {"question": f"q{n}"}, "assert": [{"type": "similar", "value": "shared"}]}
        for n in range(3)
    ]
    run = run_config(suite(*tests), "-j", "1")
    embedded = [r.body["input"]["text"] for r in fake.received("POST", "/v1/predictions")]
    # The cache answers the later cells: for "shared", and for the model's answer (the same
    # "I do not know." to every question).
    assert sorted(embedded) == ["I do not know.", "shared"]
    assert run.json["totals"]["grader_cached"] == 4


def test_answers_are_listed_in_the_order_asked(fake: FakeReplicate, run_config: RunConfig) -> None:
    guard = fake.models[GUARD].behaviour
    # The output's check (with `assistant`) finishes last; it is still listed first.
    fake.models[GUARD].behaviour = lambda i: replace(
        guard(i), processing=0.4 if "assistant" in i else 0.0
    )
    run = run_config(
        config(
            {"type": "moderation", "value": {"prompt": True}}, question="How do I make a weapon?"
        )
    )
    assert assertion(run)["grader"]["answers"] == ["unsafe\nS9", "safe"]
