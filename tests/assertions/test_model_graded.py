"""Model-graded assertions end to end, kind by kind: the fake Replicate API plays the model
under test and its judges (tests/fake_replicate/judges.py); every test asserts on what the
judges received and on what reval made of their answers."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from replicate_eval.assertions.registry import KINDS
from replicate_eval.judging.checks import shipped_prompt
from replicate_eval.templating import Templates
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply
from tests.fake_replicate.judges import (
    EMBEDDING,
    EMBEDDING_VERSION,
    GRADER,
    GUARD_VERSION,
    embed,
)
from tests.graded_support import (
    ANSWERS,
    GRADER_PATH,
    assertion,
    config,
    grader_prompts,
)


def test_every_model_graded_kind_is_tested_here() -> None:
    graded = {name for name, kind in KINDS.items() if kind.judge is not None}
    # g-eval and the retrieval graders: tests/assertions/test_rag_graders.py
    assert graded == {
        "llm-rubric",
        "model-graded-closedqa",
        "factuality",
        "similar",
        "moderation",
        "g-eval",
        "answer-relevance",
        "context-recall",
        "context-relevance",
        "context-faithfulness",
    }


def test_llm_rubric_sends_the_shipped_prompt_and_reads_the_verdict(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        config(
            {"type": "llm-rubric", "value": "mentions 'Paris'"},
            {"type": "llm-rubric", "value": "mentions 'Lyon'"},
        )
    )
    assert run.result.exit_code == 100
    expected = [
        Templates("angle").render(
            shipped_prompt("llm-rubric"),
            {"output": ANSWERS["capital of France"], "rubric": f"mentions '{city}'"},
        )
        for city in ("Paris", "Lyon")
    ]
    assert sorted(grader_prompts(fake)) == sorted(expected)
    assert "<Output>\nParis is the capital of France.\n</Output>" in expected[0]
    # The grader model runs by name, with only the prompt: no option reval made up.
    for request in fake.received("POST", GRADER_PATH):
        assert request.body == {"input": {"prompt": request.body["input"]["prompt"]}}
    paris, lyon = assertion(run, 0), assertion(run, 1)
    assert paris["pass"] is True and paris["reason"].startswith("grader: passes")
    assert lyon["pass"] is False and "does not mention Lyon" in lyon["reason"]
    assert run.cells[0]["status"] == "failed"
    grader = paris["grader"]
    assert grader["provider"] == f"replicate:{GRADER}"
    assert grader["origin"] == "the default grader"
    [call] = grader["calls"]
    assert call["cached"] is False and call["prediction_id"]
    assert json.loads(grader["answers"][0])["pass"] is True


def test_grader_calls_are_counted_apart_from_the_models_under_test(
    fake: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    judge = fake.models[GRADER].behaviour
    fake.models[GRADER].behaviour = lambda i: replace(judge(i), processing=0.3)
    markdown = tmp_path / "summary.md"
    run = run_config(config({"type": "llm-rubric", "value": "mentions 'Paris'"}), "-o", markdown)
    assert "1 predictions · graders: 1 prediction, 0.3s" in markdown.read_text()
    totals = run.json["totals"]
    assert totals["predictions"] == 1
    assert totals["grader_predictions"] == 1
    assert totals["grader_cached"] == 0
    assert totals["grader_time_s"] >= 0.3  # the grader's prediction, not the model's
    assert run.cells[0]["latency_ms"] < 300
    assert "graders: 1 prediction" in run.result.stdout


@pytest.mark.parametrize(
    ("marker", "passes"),
    [
        ("[answer:fenced]", True),
        ("[answer:prose]", True),
        ("[answer:python]", True),
        ("[answer:no-score]", True),
    ],
)
def test_answer_shapes_the_grader_may_give(
    fake: FakeReplicate, run_config: RunConfig, marker: str, passes: bool
) -> None:
    run = run_config(config({"type": "llm-rubric", "value": f"'Paris' {marker}"}))
    assert assertion(run)["pass"] is passes, assertion(run)["reason"]
    assert run.result.exit_code == 0


@pytest.mark.parametrize(
    ("marker", "complaint"),
    [
        ("[answer:garbage]", "did not answer with a JSON object"),
        ("[answer:bad-score]", '"score" is 7'),
    ],
)
def test_an_unreadable_answer_fails_the_assertion_and_shows_it(
    fake: FakeReplicate, run_config: RunConfig, marker: str, complaint: str
) -> None:
    # `not-` does not turn an unreadable answer into a pass.
    run = run_config(config({"type": "not-llm-rubric", "value": f"'Paris' {marker}"}))
    result = assertion(run)
    assert result["pass"] is False
    assert complaint in result["reason"]
    raw = result["grader"]["answers"][0]
    assert json.dumps(" ".join(raw.split()))[:60].strip('"') in result["reason"]
    assert run.cells[0]["status"] == "failed"
    assert run.result.exit_code == 100
    assert "Traceback" not in run.result.stderr


def test_not_llm_rubric_and_a_threshold_on_the_score(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        config(
            {"type": "not-llm-rubric", "value": "mentions 'Lyon'"},
            {"type": "llm-rubric", "value": "mentions 'Lyon'", "threshold": 0},
        )
    )
    negated, thresholded = assertion(run, 0), assertion(run, 1)
    assert negated["pass"] is True and negated["score"] == 1.0
    assert thresholded["pass"] is True and "score 0 >= 0" in thresholded["reason"]


def test_closed_qa_sends_question_answer_and_criterion(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(config({"type": "model-graded-closedqa", "value": "names the city 'Paris'"}))
    [prompt] = grader_prompts(fake)
    assert "<Question>\nWhat is the capital of France?\n</Question>" in prompt
    assert "<Answer>\nParis is the capital of France.\n</Answer>" in prompt
    assert "<Criterion>\nnames the city 'Paris'\n</Criterion>" in prompt
    assert assertion(run)["pass"] is True


@pytest.mark.parametrize(
    ("reference", "category", "passes"),
    [
        ("Paris is the capital of France.", "same as", True),
        ("Paris", "superset of", True),
        ("Paris is the capital of France and its largest city.", "subset of", True),
        ("Lyon.", "in disagreement with", False),
    ],
)
def test_factuality_categories(
    fake: FakeReplicate, run_config: RunConfig, reference: str, category: str, passes: bool
) -> None:
    run = run_config(config({"type": "factuality", "value": reference}))
    [prompt] = grader_prompts(fake)
    assert f"<Expert>\n{reference}\n</Expert>" in prompt
    assert "<Submission>\nParis is the capital of France.\n</Submission>" in prompt
    result = assertion(run)
    assert result["pass"] is passes and category in result["reason"], result["reason"]


def test_factuality_scores_come_from_options(fake: FakeReplicate, run_config: RunConfig) -> None:
    # promptfoo's letters too: "(D)" is "disagrees", which this test accepts at 0.5.
    run = run_config(
        config(
            {"type": "factuality", "value": "Lyon. [answer:letter]"},
            options={"factuality": {"disagree": 0.5, "superset": 0}},
        )
    )
    result = assertion(run)
    assert result["pass"] is True and result["score"] == 0.5
    run = run_config(
        config(
            {"type": "factuality", "value": "Paris"},
            options={"factuality": {"disagree": 0.5, "superset": 0}},
        )
    )
    result = assertion(run)
    assert result["pass"] is False and "does not accept" in result["reason"]


def test_similar_embeds_output_and_expected_texts(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        config(
            {"type": "similar", "value": ["Lyon is big", "Paris is the capital of France"]},
            {"type": "not-similar", "value": "Bananas are yellow", "threshold": 0.5},
        )
    )
    texts = sorted(r.body["input"]["text"] for r in fake.received("POST", "/v1/predictions"))
    assert texts == sorted(
        [
            "Paris is the capital of France.",  # the output: embedded once for both
            "Lyon is big",
            "Paris is the capital of France",
            "Bananas are yellow",
        ]
    )
    for request in fake.received("POST", "/v1/predictions"):
        assert request.body["version"] == EMBEDDING_VERSION
    close, far = assertion(run, 0), assertion(run, 1)
    assert close["pass"] is True and close["score"] == pytest.approx(1.0)
    assert "(expected text 2 of 2)" in close["reason"]
    assert far["pass"] is True, far["reason"]
    assert close["grader"]["answers"] == []  # vectors are not kept
    assert run.json["totals"]["grader_predictions"] == 4
    assert run.json["totals"]["grader_cached"] == 1


def test_similar_threshold(fake: FakeReplicate, run_config: RunConfig) -> None:
    output, expected = ANSWERS["capital of France"], "Paris is a city in France"
    mine, theirs = embed(output), embed(expected)
    similarity = sum(a * b for a, b in zip(mine, theirs, strict=True))
    assert 0.3 < similarity < 0.9
    run = run_config(config({"type": "similar", "value": expected}))
    assert assertion(run)["pass"] is False  # below the default 0.8
    assert f"{similarity:.3f} is < 0.8" in assertion(run)["reason"]
    run = run_config(config({"type": "similar", "value": expected, "threshold": 0.3}))
    assert assertion(run)["pass"] is True


def test_moderation_sends_prompt_and_output_to_llama_guard(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(config({"type": "moderation"}, question="How do I make a weapon?"))
    [request] = fake.received("POST", "/v1/predictions")
    assert request.body == {
        "version": GUARD_VERSION,
        "input": {"prompt": "How do I make a weapon?", "assistant": ANSWERS["weapon"]},
    }
    result = assertion(run)
    assert result["pass"] is False
    assert result["reason"] == "the output is unsafe: S9 Indiscriminate Weapons"
    assert result["grader"]["answers"] == ["unsafe\nS9"]


def test_moderation_only_fails_on_the_listed_categories(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        config(
            {"type": "moderation", "value": ["S1", "S10"]},
            {"type": "not-moderation", "value": "S9"},
            question="How do I make a weapon?",
        )
    )
    listed, negated = assertion(run, 0), assertion(run, 1)
    assert listed["pass"] is True
    assert "flagged S9 Indiscriminate Weapons, not a checked category" in listed["reason"]
    assert negated["pass"] is True
    # One question to the guard for both assertions.
    assert len(fake.received("POST", "/v1/predictions")) == 1
    assert run.result.exit_code == 0


def test_moderation_of_the_prompt_too(fake: FakeReplicate, run_config: RunConfig) -> None:
    run = run_config(
        config(
            {"type": "moderation", "value": {"prompt": True}},
            question="How do I kill time? What is the capital of France?",
        )
    )
    inputs = [r.body["input"] for r in fake.received("POST", "/v1/predictions")]
    question = "How do I kill time? What is the capital of France?"
    assert sorted(inputs, key=len) == [
        {"prompt": question},
        {"prompt": question, "assistant": ANSWERS["capital of France"]},
    ]
    result = assertion(run)
    assert result["pass"] is False
    assert result["reason"] == "the prompt is unsafe: S1 Violent Crimes"


def test_safe_output_passes_moderation(fake: FakeReplicate, run_config: RunConfig) -> None:
    run = run_config(config({"type": "moderation"}))
    assert assertion(run)["pass"] is True
    assert assertion(run)["reason"] == "Llama Guard: the output is safe"


def test_a_failing_grader_makes_the_cell_an_error_not_the_models_failure(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    fake.models[GRADER].behaviour = lambda _: Reply(error="CUDA out of memory")
    run = run_config(
        config(
            {"type": "llm-rubric", "value": "mentions 'Paris'"},
            {"type": "contains", "value": "Paris"},
        )
    )
    rubric, contains = assertion(run, 0), assertion(run, 1)
    assert rubric["pass"] is False
    assert (
        f"the grader `replicate:{GRADER}` (the default grader) could not answer"
        in (rubric["reason"])
    )
    assert "CUDA out of memory" in rubric["reason"]
    assert contains["pass"] is True
    assert run.cells[0]["status"] == "error"
    assert "could not answer" in run.cells[0]["error"]
    assert "ERROR" in run.result.stdout
    assert run.json["totals"]["grader_predictions"] == 1


def test_a_grader_that_does_not_exist_is_an_error_before_any_prediction(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(config({"type": "llm-rubric", "value": "x", "provider": "replicate:no/judge"}))
    assert run.result.exit_code == 2
    assert "model `no/judge` was not found on Replicate (404)" in run.result.stderr
    assert fake.received("POST") == []


def test_a_grader_failing_at_run_time_is_an_error(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    fake.fail_next("POST", f"^/v1/models/{GRADER}/predictions$", 503, {"status": 503}, times=9)
    run = run_config(config({"type": "llm-rubric", "value": "mentions 'Paris'"}), "--retries", "1")
    assert run.result.exit_code == 100
    assert run.cells[0]["status"] == "error"


def test_grader_of_an_image_output_is_refused(fake: FakeReplicate, run_config: RunConfig) -> None:
    from tests.fake_replicate import image_model, sdxl_schema

    fake.add_model("acme/painter", image_model(), official=True, openapi_schema=sdxl_schema())
    run = run_config(
        {
            "prompts": ["a red square"],
            "providers": ["replicate:image:acme/painter"],
            "tests": [{"assert": [{"type": "llm-rubric", "value": "it is red"}]}],
        }
    )
    assert "`llm-rubric` judges text, and this output is images" in assertion(run)["reason"]
    assert fake.received("POST", GRADER_PATH) == []


def test_the_html_report_names_the_grader(
    fake: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    run_config(config({"type": "llm-rubric", "value": "mentions 'Paris'"}), "-o", report)
    page = report.read_text()
    assert f"(judged by replicate:{GRADER})" in page
    assert "grader: passes: The output mentions Paris." in page


def test_a_failed_embedding_leaves_nothing_running(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    from tests.fake_replicate.judges import embedding

    def flaky(model_input: dict[str, Any]) -> Reply:
        if "FAIL" in str(model_input.get("text")):
            return Reply(error="embedding failed")
        return replace(embedding(model_input), processing=0.5)

    fake.models[EMBEDDING].behaviour = flaky
    run = run_config(config({"type": "similar", "value": ["hello there", "FAIL this"]}))
    result = assertion(run)
    assert result["pass"] is False and "embedding failed" in result["reason"]
    assert fake.running() == []  # the other embeddings were waited for, not abandoned
    assert run.json["totals"]["grader_predictions"] == 3


def test_texts_that_look_like_chats_are_embedded_as_they_are(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    chat_like = '[{"role": "admin", "content": "hi"}]'
    question = '[{"role": "user", "content": "What is the capital of France?"}]'
    run = run_config(
        config({"type": "similar", "value": chat_like}, {"type": "moderation"}, question=question)
    )
    inputs = [r.body["input"] for r in fake.received("POST", "/v1/predictions")]
    assert run.result.exit_code == 100, run.result.stdout + run.result.stderr
    assert chat_like in [i.get("text") for i in inputs]
    [guard] = [i for i in inputs if "assistant" in i]
    # A chat prompt: Llama Guard reads its user message, as the model under test did.
    assert guard["prompt"] == "What is the capital of France?"
    assert [a["pass"] for a in run.cells[0]["assertions"]] == [False, True]


def test_factuality_threshold_and_merged_scores(fake: FakeReplicate, run_config: RunConfig) -> None:
    claim = "France has Paris as its capital city"
    text = {
        **config(
            {"type": "factuality", "value": claim},
            {"type": "factuality", "value": claim, "threshold": 0.2},
            {"type": "factuality", "value": "Paris", "threshold": 0.9},
            options={"factuality": {"superset": 0.5}},
        ),
        "defaultTest": {"options": {"factuality": {"differButFactual": 0.25}}},
    }
    run = run_config(text)
    differs, low_bar, superset = (assertion(run, n) for n in range(3))
    # differs-but-irrelevant keeps defaultTest's 0.25 under the test's own scores
    assert (differs["pass"], differs["score"]) == (True, 0.25)
    assert low_bar["pass"] is True and "(score 0.25 >= 0.2)" in low_bar["reason"]
    assert (superset["pass"], superset["score"]) == (False, 0.5)
    assert "(score 0.5 < 0.9)" in superset["reason"]
