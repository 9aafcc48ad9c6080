"""promptfoo's g-eval and retrieval graders end to end: the fake plays the model under test and
its judges (tests/fake_replicate/judges.py); each test asserts on what the judges received
and on the score reval made of their answers."""

from __future__ import annotations

from typing import Any

import pytest

from replicate_eval.judging.checks import shipped_prompt
from replicate_eval.templating import Templates
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate
from tests.fake_replicate.judges import EMBEDDING_VERSION
from tests.graded_support import ANSWERS, assertion, config, grader_prompts

PARIS = ANSWERS["capital of France"]  # "Paris is the capital of France."
# A retrieved context of three lines. (A var holding a list of texts would make one test per
# item, as in promptfoo: chunks are written one per line.)
CHUNKS = ["Paris is the capital of France.", "The Seine flows through Paris.", "Bananas are rich."]
CONTEXT = "\n".join(CHUNKS)


def _rag(*asserts: dict[str, Any], **variables: Any) -> dict[str, Any]:
    built = config(*asserts)
    built["tests"][0]["vars"].update(variables)
    return built


def _embedded(fake: FakeReplicate) -> list[str]:
    return [
        request.body["input"]["text"]
        for request in fake.received("POST", "/v1/predictions")
        if request.body["version"] == EMBEDDING_VERSION
    ]


def test_g_eval_asks_for_steps_then_a_score_out_of_ten(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        config(
            {"type": "g-eval", "value": "It names 'Paris' and 'France'."},
            {"type": "g-eval", "value": ["It names 'Paris'.", "It names 'Lyon'."]},
            {"type": "g-eval", "value": "It names 'Lyon'.", "threshold": 0.0},
        )
    )
    assert run.result.exit_code == 100, run.result.stderr
    prompts = grader_prompts(fake)
    steps = Templates("angle").render(
        shipped_prompt("g-eval-steps"), {"criteria": "It names 'Paris' and 'France'."}
    )
    assert steps in prompts
    scoring = [p for p in prompts if "<EvaluationSteps>" in p]
    # One per distinct criterion: the two "It names 'Lyon'." share their prediction.
    assert len(scoring) == 3
    assert any(
        "- Check that the answer mentions 'Paris'.\n- Check that the answer mentions 'France'." in p
        and f"<Response>\n{PARIS}\n</Response>" in p
        and "<Input>\nWhat is the capital of France?\n</Input>" in p
        for p in scoring
    )
    both, mean, lyon = (assertion(run, n) for n in range(3))
    assert both["pass"] is True and both["score"] == 1.0
    assert mean["pass"] is False and mean["score"] == 0.5  # (10 + 0) / 2 / 10 < 0.7
    assert "mean of 2 criteria" in mean["reason"]
    assert lyon["pass"] is True and lyon["score"] == 0.0  # its own threshold: 0
    assert len(both["grader"]["calls"]) == 2


def test_answer_relevance_embeds_the_query_and_the_graders_questions(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        _rag(
            {"type": "answer-relevance", "threshold": 0.5},
            {"type": "not-answer-relevance", "threshold": 0.95},
            query="What is the capital of France?",
        )
    )
    assert run.result.exit_code == 0, run.result.stderr
    [question_prompt] = {p for p in grader_prompts(fake) if "<Reply>" in p}
    assert f"<Reply>\n{PARIS}\n</Reply>" in question_prompt
    embedded = _embedded(fake)
    assert "What is the capital of France?" in embedded
    assert "What is true of Paris is the capital of France?" in embedded
    relevant = assertion(run, 0)
    assert relevant["pass"] is True and 0.5 <= relevant["score"] < 0.95
    assert "mean similarity of the query to 3 questions" in relevant["reason"]
    # Both judges' calls are counted: one question prompt, four embeddings (shared by both).
    assert len(relevant["grader"]["calls"]) == 5


def test_answer_relevance_without_a_query_uses_the_prompt(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(config({"type": "answer-relevance", "threshold": 0.9}))
    assert "What is the capital of France?" in _embedded(fake)  # the rendered prompt
    assert assertion(run)["pass"] is False  # the questions are close, not that close


def test_context_recall_counts_the_reference_sentences_in_the_context(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    reference = "Paris is the capital of France. The Louvre is in Paris."
    run = run_config(
        _rag(
            {"type": "context-recall", "value": reference, "threshold": 0.5},
            {"type": "context-recall", "value": reference, "threshold": 0.9},
            context=CONTEXT,
        )
    )
    assert run.result.exit_code == 100
    [prompt] = set(grader_prompts(fake))
    assert f"<Context>\n{CONTEXT}\n</Context>" in prompt
    assert f"<Reference>\n{reference}\n</Reference>" in prompt
    half, strict = assertion(run, 0), assertion(run, 1)
    assert half["pass"] is True and half["score"] == 0.5
    assert "1 of 2 sentences" in half["reason"]
    assert strict["pass"] is False


@pytest.mark.parametrize(
    ("context", "score"),
    [
        (CONTEXT, 2 / 3),  # lines: two of three help
        (" ".join(CHUNKS), 2 / 3),  # one paragraph: counted in sentences
        ("Bananas are yellow. Apples are red.", 0.0),  # nothing helps
    ],
)
def test_context_relevance_is_the_share_of_the_context_that_helps(
    fake: FakeReplicate, run_config: RunConfig, context: Any, score: float
) -> None:
    run = run_config(
        _rag(
            {"type": "context-relevance", "threshold": 0.6},
            query="Which city is the capital of France, on the Seine?",
            context=context,
        )
    )
    result = assertion(run)
    assert result["score"] == pytest.approx(score)
    assert result["pass"] is (score >= 0.6)
    [prompt] = set(grader_prompts(fake))
    assert "<Query>\nWhich city is the capital of France, on the Seine?\n</Query>" in prompt


def test_context_faithfulness_checks_each_statement_of_the_output(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        _rag(
            {"type": "context-faithfulness", "threshold": 0.9},
            query="What is the capital of France?",
            context=CONTEXT,
        )
    )
    assert run.result.exit_code == 0, run.result.stderr
    statements, verdicts = grader_prompts(fake)
    assert f"<Reply>\n{PARIS}\n</Reply>" in statements
    assert f"<Statements>\n1. {PARIS}\n</Statements>" in verdicts
    result = assertion(run)
    assert result["pass"] is True and result["score"] == 1.0

    fake.requests.clear()
    unfaithful = run_config(
        _rag(
            {"type": "context-faithfulness", "threshold": 0.5},
            query="What is the capital of France?",
            context="Berlin is the capital of Germany.",
        )
    )
    result = assertion(unfaithful)
    assert result["pass"] is False and result["score"] == 0.0
    assert "1 of 1 statements" in result["reason"]


def test_a_missing_query_or_context_is_found_before_any_prediction(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        _rag({"type": "context-faithfulness"}, {"type": "context-recall", "value": "x"})
    )
    assert run.result.exit_code == 2
    err = run.result.stderr
    assert (
        "tests[0].vars" in err
        and "`context-faithfulness` reads the test's `query` and `context`" in err
    )
    assert "`context-recall` reads the test's `context` var" in err
    assert fake.requests == []


def test_an_unreadable_grader_answer_fails_the_assertion_saying_so(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        _rag(
            {"type": "context-recall", "value": "Paris is big. [answer:garbage]"},
            {"type": "g-eval", "value": "names 'Paris' [answer:garbage]"},
            context=CONTEXT,
        )
    )
    assert run.result.exit_code == 100
    recall, g_eval = assertion(run, 0), assertion(run, 1)
    assert recall["pass"] is False and "marked no sentence" in recall["reason"]
    assert g_eval["pass"] is False and '"score"' in g_eval["reason"]
    assert "Traceback" not in run.result.stderr


def test_a_context_that_is_not_text_fails_the_assertion(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(_rag({"type": "context-recall", "value": "Paris."}, context={"a": 1}))
    result = assertion(run)
    assert result["pass"] is False and "must be a text or a list of texts" in result["reason"]
    assert grader_prompts(fake) == []
