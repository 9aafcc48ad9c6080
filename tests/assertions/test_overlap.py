"""promptfoo's `bleu`, `gleu`, `rouge-n`, `is-sql`, `contains-sql` and `is-refusal`: scores
worked out by hand, the value forms, load-time errors, and outputs built to be slow."""

from __future__ import annotations

import math
import time

import pytest

from replicate_eval.assertions import InvalidAssertion
from replicate_eval.assertions.overlap import bleu_score, gleu_score, rouge_n_score, treebank_tokens
from tests.assertions.test_assertions import check


def test_bleu_is_promptfoos_smoothed_bleu_4() -> None:
    # 1-grams 5/6, 2-grams 3/5, 3-grams 1/4, 4-grams 0/3 (counted as 1e-7); equal lengths.
    expected = math.exp(
        0.25 * (math.log(5 / 6) + math.log(3 / 5) + math.log(1 / 4) + math.log(1e-7))
    )
    got = bleu_score(
        ["the", "cat", "is", "on", "the", "mat"], [["the", "cat", "sat", "on", "the", "mat"]]
    )
    assert got == pytest.approx(expected) and got == pytest.approx(0.010574, abs=1e-6)


def test_gleu_is_the_smaller_of_ngram_precision_and_recall() -> None:
    # 1- to 4-grams: the output has 3 + 2 + 1 + 0 = 6, all matched; the reference 18.
    short = gleu_score(["the", "cat", "sat"], [["the", "cat", "sat", "on", "the", "mat"]])
    assert short == pytest.approx(6 / 18)
    assert gleu_score(["a", "b"], [["x"], ["a", "b"]]) == 1.0  # identical to one reference
    assert gleu_score(["dog"], [["cat"]]) == 0.0


def test_gleu_drops_trailing_dots_and_case_and_defaults_to_a_half() -> None:
    assert check("gleu", "The cat sat on the mat.", "the cat sat on the MAT").score == 1.0
    verdict = check("gleu", "the cat sat", "the cat sat on the mat")
    assert not verdict.passed and "GLEU 0.3333" in verdict.reason and "< 0.5" in verdict.reason
    assert check("gleu", "the cat sat", "the cat sat on the mat", threshold=0.3).passed


def test_bleu_penalises_a_short_output_against_the_closest_reference() -> None:
    words = ["the", "cat", "sat", "on"]
    # Every n-gram matches; the brevity penalty is e^(1 - 4/6) against the 6-word reference.
    assert bleu_score(words, [["the", "cat", "sat", "on", "the", "mat"]]) == pytest.approx(
        math.exp(1 - 4 / 6)
    )
    # With a 4-word reference as well, that one is the closest: no penalty.
    assert (
        bleu_score(words, [["the", "cat", "sat", "on", "the", "mat"], ["the", "cat", "sat", "on"]])
        == 1
    )


def test_bleu_takes_the_best_reference_and_its_threshold_defaults_to_a_half() -> None:
    verdict = check("bleu", "the cat sat on the mat", ["a dog ran", "the cat sat on the mat"])
    assert verdict.passed and verdict.score == 1.0 and "best of 2 references" in verdict.reason
    close = check("bleu", "the cat sat on the rug", "the cat sat on the mat")
    assert close.passed and close.score == pytest.approx(0.7598, abs=1e-4)
    low = check("bleu", "the dog sat on a rug", "the cat sat on the mat")
    assert not low.passed and "< 0.5" in low.reason
    assert (
        check("bleu", "the cat sat on the rug", "the cat sat on the mat", threshold=0.8).passed
        is False
    )
    assert check("not-bleu", "a dog", "the cat sat on the mat").passed


def test_rouge_n_is_js_rouges_unigram_recall_of_distinct_tokens() -> None:
    assert (
        rouge_n_score(treebank_tokens("the cat sat"), treebank_tokens("the cat sat on the mat"))
        == 0.5
    )
    # Case is kept, punctuation is a token of its own.
    assert treebank_tokens("Paris, I don't know.") == ["Paris", ",", "I", "do", "n't", "know", "."]
    verdict = check("rouge-n", "The capital is Paris.", "the capital is Paris.")
    # the, capital, is, Paris, . : "The" differs in case: 4 of 5.
    assert verdict.score == pytest.approx(0.8) and verdict.passed
    assert not check("rouge-n", "Lyon", "the capital is Paris.").passed


def test_is_sql_checks_the_dialect_and_promptfoos_allow_lists() -> None:
    assert check("is-sql", "SELECT id FROM users;", None).passed
    prose = check("is-sql", "hello world", None)
    assert not prose.passed and "not a MySQL statement: 'hello world'" in prose.reason
    broken = check("is-sql", "SELEC * FROM users", None)
    assert not broken.passed and "line 1" in broken.reason and "\x1b" not in broken.reason
    assert not check("is-sql", "", None).passed
    rules = {
        "databaseType": "PostgresQL",
        "allowedTables": ["(select|update)::null::users"],
        "allowedColumns": ["select::null::(id|name)", "update::null::name"],
    }
    assert check("is-sql", "SELECT id, name FROM users WHERE id = 2", rules).passed
    assert check("is-sql", "UPDATE users SET name = 'x'", rules).passed
    table = check("is-sql", "SELECT id FROM orders", rules)
    assert not table.passed and "table `select::null::orders`" in table.reason
    column = check("is-sql", "SELECT email FROM users", rules)
    assert not column.passed and "column `select::null::email`" in column.reason
    deleted = check("is-sql", "DELETE FROM users", rules)
    assert not deleted.passed and "delete::null::users" in deleted.reason
    assert check("not-is-sql", "just some words here", None).passed


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("MySQL", "takes `{databaseType"),
        ({"databaseType": "Oracle9"}, "cannot parse `Oracle9`"),
        ({"allowedTables": "users"}, "a list of texts"),
        ({"allowedTables": ["(unclosed"]}, "allowedTables"),
        ({"tables": ["x"]}, "has no `tables`"),
    ],
)
def test_is_sql_values_are_checked_at_load(value: object, says: str) -> None:
    with pytest.raises(InvalidAssertion, match=says.replace("(", r"\(").replace("{", r"\{")):
        check("is-sql", "SELECT 1", value)


@pytest.mark.parametrize(
    "output",
    [
        "I'm sorry, but I can't help with that.",
        "I cannot provide instructions for that.",
        "As an AI language model, I don't have opinions.",
        "I apologize, but this request goes against my guidelines.",
        "Sorry — I’m not able to assist with that request.",
        "",
        "   \n ",
    ],
)
def test_refusals_are_refusals(output: str) -> None:
    assert check("is-refusal", output, None).passed


@pytest.mark.parametrize(
    "output",
    [
        "Paris is the capital of France.",
        "Here is a recipe for bread: flour, water, salt.",
        "The character says he cannot sleep at night.",
    ],
)
def test_answers_are_not_refusals(output: str) -> None:
    assert not check("is-refusal", output, None).passed
    assert check("not-is-refusal", output, None).passed


def test_is_refusal_takes_no_value() -> None:
    with pytest.raises(InvalidAssertion, match="takes no `value`"):
        check("is-refusal", "x", "yes")


@pytest.mark.parametrize(
    ("type_", "output", "value"),
    [
        ("bleu", "word " * 1_000_000, "word word word"),
        ("rouge-n", "word, " * 500_000, "word"),
        ("is-sql", "SELECT " + "(" * 5000 + "1" + ")" * 5000, None),
        ("is-sql", "SELECT 1 " * 100_000, None),
        ("is-refusal", "x" * 5_000_000, None),
    ],
)
def test_hostile_outputs_are_judged_quickly(type_: str, output: str, value: object) -> None:
    started = time.monotonic()
    try:
        check(type_, output, value)
    except Exception as exc:  # an AssertionProblem (cannot judge) is fine; a crash is not
        assert type(exc).__name__ == "AssertionProblem", exc
    assert time.monotonic() - started < 10


def test_contains_sql_judges_the_sql_code_blocks_or_else_the_whole_output() -> None:
    answer = (
        "First the setup:\n```python\nprint('x')\n```\nA broken try:\n```\nSELEC 1\n```\n"
        "Then:\n~~~~sql\nSELECT name FROM users\n~~~~\n"
    )
    found = check("contains-sql", answer, None)
    assert found.passed and found.reason.startswith("code block 2 of 2: valid")
    assert check("contains-sql", "SELECT 1", None).passed  # no block: the whole output
    prose = check("contains-sql", "I would rather not write SQL.", None)
    assert not prose.passed
    empty = check("contains-sql", "```sql\n```", None)
    assert not empty.passed and "no SQL code block with anything" in empty.reason
    # The allow-lists apply to the block, as for is-sql.
    rules = {"allowedTables": ["select::null::orders"]}
    refused = check("contains-sql", "```sql\nSELECT name FROM users\n```", rules)
    assert not refused.passed and "not allowed" in refused.reason
