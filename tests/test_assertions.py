"""Each assertion type, its `not-` form, and how weights and thresholds grade a cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from replicate_eval.assertions import (
    KINDS,
    CheckContext,
    Verdict,
    compile_assertion,
    evaluate,
    grade,
)

CONTEXT = CheckContext(
    vars={"city": "Paris", "words": ["red", "blue"]},
    prompt="p",
    latency_ms=120.0,
    provider_id="replicate:a/b",
)


def check(
    type_: str,
    output: str,
    value: Any = None,
    *,
    threshold: float | None = None,
    base_dir: Path = Path(),
    context: CheckContext = CONTEXT,
) -> Verdict:
    spec = compile_assertion(type_, value, weight=1.0, threshold=threshold, base_dir=base_dir)
    return evaluate(spec, output, context)


# (type, value, threshold, an output that passes, an output that fails)
CASES = [
    ("equals", "Paris", None, "Paris", "paris"),
    ("equals", {"a": [1, 2]}, None, '{"a": [1, 2]}', '{"a": [2, 1]}'),
    ("contains", "Paris", None, "It is Paris.", "It is Lyon."),
    ("icontains", "PARIS", None, "it is paris", "it is lyon"),
    ("contains-any", ["Paris", "Lyon"], None, "Lyon!", "Nice!"),
    ("contains-any", "Paris, Lyon", None, "Lyon!", "Nice!"),
    ("contains-all", ["red", "blue"], None, "blue and red", "red only"),
    ("starts-with", "Yes", None, "Yes, sure", "No, yes"),
    ("regex", r"\d{3}-\d{4}", None, "call 555-1234", "call me"),
    ("is-json", None, None, '{"ok": true}', "ok: true"),
    ("python", "len(output) < 5", None, "tiny", "far too long"),
    ("latency", None, 500, "any", None),
]


def test_every_registered_type_has_a_case() -> None:
    assert {case[0] for case in CASES} == set(KINDS)


@pytest.mark.parametrize(("type_", "value", "threshold", "good", "bad"), CASES)
def test_type_and_its_negation(
    type_: str, value: Any, threshold: float | None, good: str, bad: str | None
) -> None:
    passing = check(type_, good, value, threshold=threshold)
    assert passing.passed and passing.score == 1.0
    negated = check(f"not-{type_}", good, value, threshold=threshold)
    assert not negated.passed and negated.score == 0.0
    assert negated.reason == passing.reason  # the observation, true either way
    if bad is not None:
        failing = check(type_, bad, value, threshold=threshold)
        assert not failing.passed and failing.reason
        assert check(f"not-{type_}", bad, value, threshold=threshold).passed


def test_latency_fails_above_the_threshold() -> None:
    slow = CheckContext(vars={}, prompt="p", latency_ms=900.0, provider_id="x")
    verdict = check("latency", "x", threshold=500, context=slow)
    assert not verdict.passed and verdict.reason == "latency 900 ms exceeds 500 ms"


def test_reasons_say_what_was_observed() -> None:
    assert check("contains", "It is Lyon.", "Paris").reason == 'output does not contain "Paris"'
    assert check("contains-all", "red", ["red", "blue"]).reason == 'output is missing "blue"'
    assert check("equals", "paris", "Paris").reason == 'output "paris" does not equal "Paris"'


def test_a_broken_check_fails_even_when_negated() -> None:
    verdict = check("not-python", "x", "undefined_name > 1")
    assert not verdict.passed
    assert "raised NameError" in verdict.reason
    regex_after_render = compile_assertion(
        "not-regex", "<<pattern>>", weight=1, threshold=None, base_dir=Path()
    )
    from dataclasses import replace

    broken = evaluate(replace(regex_after_render, value="(unclosed"), "x", CONTEXT)
    assert not broken.passed and "invalid regular expression" in broken.reason


# --- python ----------------------------------------------------------------------------------


def test_python_expression_sees_output_vars_and_context() -> None:
    assert check(
        "python", "Paris!", "vars['city'] in output and context['provider'] == 'replicate:a/b'"
    ).passed
    # names are visible inside comprehensions too
    assert check("python", "red blue", "all(w in output for w in vars['words'])").passed


def test_python_function_body() -> None:
    body = "words = output.split()\nif len(words) > 3:\n    return False\nreturn True"
    assert check("python", "one two", body).passed
    assert not check("python", "one two three four", body).passed


@pytest.mark.parametrize(
    ("code", "threshold", "passed", "score"),
    [
        ("0.75", None, True, 0.75),
        ("0", None, False, 0.0),
        ("0.5", 0.6, False, 0.5),
        ("0.6", 0.6, True, 0.6),
    ],
)
def test_python_scores(code: str, threshold: float | None, passed: bool, score: float) -> None:
    verdict = check("python", "x", code, threshold=threshold)
    assert (verdict.passed, verdict.score) == (passed, score)


def test_python_grading_result_mapping() -> None:
    verdict = check("python", "x", "{'pass': False, 'score': 0.25, 'reason': 'too short'}")
    assert (verdict.passed, verdict.score, verdict.reason) == (False, 0.25, "too short")


def test_python_returning_nothing_is_explained() -> None:
    verdict = check("python", "x", "output.upper()\nprint('no return')")
    assert not verdict.passed
    assert "returned None; return True/False, a score" in verdict.reason


def test_python_from_file_with_promptfoo_signature(tmp_path: Path) -> None:
    (tmp_path / "checks.py").write_text(
        "def get_assert(output, context):\n"
        "    return {'pass': context['vars']['city'] in output, 'score': 0.9, 'reason': 'ok'}\n"
        "def shout(output, context):\n"
        "    return output.isupper()\n",
        encoding="utf-8",
    )
    assert check("python", "Paris", "file://checks.py", base_dir=tmp_path).score == 0.9
    assert check("python", "LOUD", "file://checks.py:shout", base_dir=tmp_path).passed
    with pytest.raises(ValueError, match="has no function `missing`"):
        check("python", "x", "file://checks.py:missing", base_dir=tmp_path)


# --- grading ---------------------------------------------------------------------------------


def verdict(passed: bool, weight: float = 1.0, score: float | None = None) -> Verdict:
    return Verdict(
        "contains", "x", weight, passed, score if score is not None else float(passed), "reason"
    )


def test_without_threshold_every_weighted_assertion_must_pass() -> None:
    outcome = grade([verdict(True), verdict(False, weight=3)], None)
    assert not outcome.passed
    assert outcome.score == pytest.approx(0.25)
    assert outcome.reason == "contains: reason"


def test_threshold_passes_on_weighted_score() -> None:
    verdicts = [verdict(True, weight=3), verdict(False, weight=1)]
    assert grade(verdicts, 0.75).passed
    failed = grade(verdicts, 0.8)
    assert not failed.passed
    assert failed.reason == "score 0.75 is below the threshold 0.8 (contains: reason)"


def test_weight_zero_is_informational() -> None:
    outcome = grade([verdict(True), verdict(False, weight=0)], None)
    assert outcome.passed and outcome.score == 1.0


def test_no_assertions_pass() -> None:
    assert grade([], None).passed
