"""Reading grader answers: every shape a model may give, and the ones that cannot be read."""

from __future__ import annotations

import json

import pytest

from replicate_eval.assertions import AssertionProblem
from replicate_eval.judging.answers import (
    cosine_similarity,
    describe_categories,
    parse_embedding,
    parse_factuality,
    parse_guard,
    parse_verdict,
)

VERDICT = {"reason": "It names Paris {the capital}.", "pass": True, "score": 0.75}


@pytest.mark.parametrize(
    "answer",
    [
        json.dumps(VERDICT),
        "```json\n" + json.dumps(VERDICT, indent=2) + "\n```",
        "Sure! Here is my verdict:\n```\n" + json.dumps(VERDICT) + "\n```\nHope it helps.",
        "After reading it: " + json.dumps(VERDICT) + " That is my final answer {really}.",
        '{"note": "a first object without the key"} then ' + json.dumps(VERDICT),
        json.dumps(VERDICT).replace("true", "True"),
        json.dumps({**VERDICT, "pass": "true"}),
    ],
    ids=["plain", "fenced", "fenced-in-prose", "prose-trailing", "two-objects", "python", "str"],
)
def test_a_verdict_is_found_in_every_shape(answer: str) -> None:
    verdict = parse_verdict(answer)
    assert (verdict.passed, verdict.score, verdict.reason) == (
        True,
        0.75,
        "It names Paris {the capital}.",
    )


def test_a_verdict_without_score_scores_by_pass() -> None:
    assert parse_verdict('{"pass": false, "reason": "no"}').score == 0.0
    assert parse_verdict('{"pass": true}').score == 1.0


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ("It looks fine to me.", 'holding "pass"'),
        ('{"verdict": "pass"}', 'holding "pass"'),
        ('{"pass": "maybe", "score": 1}', '"pass" is "maybe"'),
        ('{"pass": true, "score": 7}', '"score" is 7'),
        ('{"pass": true, "score": "high"}', '"score" is "high"'),
        ('{"pass": true, "score": 1', 'holding "pass"'),  # cut off mid-object
    ],
)
def test_an_unreadable_verdict_is_a_problem_quoting_the_answer(answer: str, complaint: str) -> None:
    with pytest.raises(AssertionProblem) as caught:
        parse_verdict(answer)
    message = str(caught.value)
    assert complaint in message
    assert json.dumps(" ".join(answer.split())) in message  # the raw answer, quoted


def test_a_long_unreadable_answer_is_quoted_shortened_on_one_line() -> None:
    with pytest.raises(AssertionProblem) as caught:
        parse_verdict("line one\nline two " + "x" * 1000)
    message = str(caught.value)
    assert "line one line two" in message and "\n" not in message
    assert len(message) < 400


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("subset", "subset"),
        ("superset", "superset"),
        ("same", "agree"),
        ("disagrees", "disagree"),
        ("differs-but-irrelevant", "differButFactual"),
        ("Differs_But_Irrelevant", "differButFactual"),
        ("(C)", "agree"),
        ("D", "disagree"),
    ],
)
def test_factuality_categories_by_name_or_letter(category: str, expected: str) -> None:
    answer = f'```json\n{{"reason": "compared", "category": "{category}"}}\n```'
    assert parse_factuality(answer) == (expected, "compared")


def test_an_unknown_factuality_category_is_a_problem() -> None:
    with pytest.raises(AssertionProblem, match="is not one of subset"):
        parse_factuality('{"category": "mostly right"}')
    with pytest.raises(AssertionProblem, match='holding "category"'):
        parse_factuality("(C) The submission agrees.")


@pytest.mark.parametrize(
    ("answer", "categories"),
    [
        ("safe", []),
        ("\n\nsafe\n", []),
        ("unsafe\nS1", ["S1"]),
        ("unsafe\nS1,S10", ["S1", "S10"]),
        ("unsafe\nS9, s1\n", ["S9", "S1"]),
    ],
)
def test_llama_guard_answers(answer: str, categories: list[str]) -> None:
    assert parse_guard(answer) == categories


def test_unreadable_guard_answers_are_problems() -> None:
    with pytest.raises(AssertionProblem, match="did not answer `safe` or `unsafe`"):
        parse_guard("I cannot help with that.")
    with pytest.raises(AssertionProblem, match="without naming a category"):
        parse_guard("unsafe")


def test_categories_are_described_by_name() -> None:
    assert describe_categories(["S1", "S14", "S99"]) == (
        "S1 Violent Crimes, S14 Code Interpreter Abuse, S99"
    )


@pytest.mark.parametrize(
    "output",
    [
        [0.6, 0.8],
        [[0.6, 0.8]],
        [{"embedding": [0.6, 0.8]}],
        {"embedding": [0.6, 0.8]},
        {"vectors": [0.6, 0.8]},
        {"embeddings": [[0.6, 0.8]]},
    ],
)
def test_embedding_shapes(output: object) -> None:
    assert parse_embedding(json.dumps(output)) == [0.6, 0.8]


@pytest.mark.parametrize("output", ["[]", '"text"', '[{"score": 1}]', "not json", "[true]"])
def test_outputs_that_are_not_vectors(output: str) -> None:
    with pytest.raises(AssertionProblem, match="not a vector"):
        parse_embedding(output)


@pytest.mark.parametrize("output", ["[NaN, 1]", "[Infinity, 1]", "[1e400, 1]", f"[{10**400}, 1]"])
def test_vectors_of_numbers_that_are_not_finite(output: str) -> None:
    with pytest.raises(AssertionProblem, match="not finite numbers"):
        parse_embedding(output)


def test_vectors_too_large_to_compare() -> None:
    with pytest.raises(AssertionProblem, match="too large to compare"):
        cosine_similarity([1e200] * 4, [1e200] * 4)


def test_cosine_similarity() -> None:
    assert cosine_similarity([1, 0], [1, 0]) == pytest.approx(1.0)
    assert cosine_similarity([1, 0], [0, 1]) == pytest.approx(0.0)
    assert cosine_similarity([1, 1], [-1, -1]) == pytest.approx(-1.0)
    with pytest.raises(AssertionProblem, match="different lengths"):
        cosine_similarity([1, 0], [1, 0, 0])
    with pytest.raises(AssertionProblem, match="zero vector"):
        cosine_similarity([0, 0], [1, 0])
