"""Each assertion type, its `not-` form, and how weights and thresholds grade a cell."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from replicate_eval.assertions import AssertionSpec, CheckContext, InvalidAssertion
from replicate_eval.assertions.registry import (
    KINDS,
    Verdict,
    compile_assertion,
    evaluate,
    evaluate_user_code,
    grade,
)
from replicate_eval.media import SavedImage
from replicate_eval.usercode.pool import UserCodePool

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
    if spec.runs_user_code:
        return asyncio.run(in_a_worker(spec, output, context))
    return evaluate(spec, output, context)


async def in_a_worker(spec: AssertionSpec, output: str, context: CheckContext) -> Verdict:
    pool = UserCodePool(size=1)
    try:
        return await evaluate_user_code(spec, output, context, pool)
    finally:
        await pool.aclose()


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
    # promptfoo's: case-insensitive lists, JSON with a schema, XML, word counts, edit distance.
    ("icontains-any", ["PARIS", "rome"], None, "I love paris", "london"),
    ("icontains-all", ["PARIS", "Rome"], None, "paris and ROME", "paris only"),
    ("is-json", {"type": "object", "required": ["ok"]}, None, '{"ok": 1}', '{"no": 1}'),
    ("is-json", "type: array\nitems: {type: integer}", None, "[1, 2]", '[1, "x"]'),
    ("contains-json", None, None, 'Here: {"a": 1} done', "no json {here"),
    ("contains-json", {"required": ["ok"]}, None, 'x {"b": 1} y {"ok": true}', 'x {"b": 1}'),
    ("is-xml", "root.child", None, "<root><child/></root>", "<root><other/></root>"),
    ("contains-xml", None, None, "text <a><b>x</b></a> tail", "a < b and c > d"),
    ("word-count", {"min": 2, "max": 3}, None, "one two", "one"),
    ("word-count", 3, None, " a  b\nc ", "a b"),
    ("levenshtein", "kitten", 3, "sitting", "sitting on a mat"),
    ("bleu", "the cat sat on the mat", None, "The cat sat on the mat", "a dog ran off"),
    ("gleu", "the cat sat on the mat", None, "The cat sat on the mat.", "a dog ran off"),
    ("rouge-n", "a quick brown fox", None, "a quick brown fox", "a dog ran off"),
    ("is-sql", None, None, "SELECT id FROM users WHERE id = 1", "Sure, here it is: users"),
    ("contains-sql", None, None, "Here:\n```sql\nSELECT 1\n```\nDone.", "Here:\n```\nSELEC 1\n```"),
    ("is-refusal", None, None, "I'm sorry, but I can't help with that.", "Paris is the capital."),
    ("python", "len(output) < 5", None, "tiny", "far too long"),
    ("javascript", "output.length < 5", None, "tiny", "far too long"),
    ("latency", None, 500, "any", None),
]


def test_every_deterministic_type_has_a_case() -> None:
    # Model-graded types are tested against the fake's judges in test_model_graded.py, the
    # comparative ones across a test's outputs in tests/promptfoo/test_comparative.py.
    deterministic = {
        name for name, kind in KINDS.items() if kind.judge is None and not kind.comparative
    }
    assert {case[0] for case in CASES} | {case[0] for case in IMAGE_CASES} == deterministic


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


def test_a_catastrophically_backtracking_regex_fails_instead_of_hanging() -> None:
    started = time.monotonic()
    for type_ in ("regex", "not-regex"):
        verdict = check(type_, "a" * 40 + "!", r"^(a|aa)+$")
        assert not verdict.passed
        assert "did not finish matching the output within 0.5 s" in verdict.reason
    assert time.monotonic() - started < 15


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
    with pytest.raises(InvalidAssertion, match="has no function `missing`"):
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


def images(*specs: tuple[int, int, str]) -> CheckContext:
    saved = tuple(
        SavedImage(
            path=f"out/{n}.{fmt}",
            source=f"https://x/{n}",
            format=fmt,
            width=w,
            height=h,
            size_bytes=100,
        )
        for n, (w, h, fmt) in enumerate(specs)
    )
    return CheckContext(vars={}, prompt="p", latency_ms=1.0, provider_id="x", images=saved)


SQUARE = images((768, 768, "png"))
PAIR = images((768, 768, "png"), (512, 768, "jpeg"))

# (type, value, a context that passes, a context that fails)
IMAGE_CASES = [
    ("image-dimensions", {"width": 768, "height": 768}, SQUARE, PAIR),
    ("image-dimensions", {"min_width": 600}, SQUARE, PAIR),
    ("image-dimensions", {"max_width": 600}, images((512, 9, "png")), SQUARE),
    ("image-format", "png", SQUARE, PAIR),
    ("image-format", ["png", "jpg"], PAIR, images((1, 1, "webp"))),
    ("image-format", "png, jpeg", PAIR, images((1, 1, "gif"))),
    ("image-count", 2, PAIR, SQUARE),
    ("image-count", {"min": 1, "max": 1}, SQUARE, PAIR),
    ("image-count", 0, CONTEXT, SQUARE),
    ("is-valid-openai-image-format", None, PAIR, CONTEXT),
]


@pytest.mark.parametrize(("type_", "value", "good", "bad"), IMAGE_CASES)
def test_image_type_and_its_negation(
    type_: str, value: Any, good: CheckContext, bad: CheckContext
) -> None:
    passing = check(type_, "", value, context=good)
    assert passing.passed, passing.reason
    assert not check(f"not-{type_}", "", value, context=good).passed
    failing = check(type_, "", value, context=bad)
    assert not failing.passed and failing.reason
    assert check(f"not-{type_}", "", value, context=bad).passed


def test_image_failure_reasons_name_the_image_and_what_was_expected() -> None:
    verdict = check("image-dimensions", "", {"width": 768, "height": 768}, context=PAIR)
    assert verdict.reason == "image 2 (1.jpeg) is 512x768: width 512, expected 768"
    verdict = check("image-dimensions", "", {"min_height": 1000}, context=SQUARE)
    assert verdict.reason == "the image is 768x768: height 768, expected at least 1000"
    verdict = check("image-format", "", "webp", context=PAIR)
    assert verdict.reason == "image 1 (0.png) is png, expected webp"
    assert check("image-count", "", 3, context=PAIR).reason == "2 images (expected 3)"


def test_image_checks_without_images_fail_even_when_negated() -> None:
    for type_, value in [("image-dimensions", {"width": 1}), ("image-format", "png")]:
        for prefix in ("", "not-"):
            verdict = check(prefix + type_, "a text answer", value)
            assert not verdict.passed
            assert "the output has no images to check" in verdict.reason


@pytest.mark.parametrize(
    ("type_", "value", "message"),
    [
        ("image-dimensions", 768, "needs a mapping such as `{width: 1024, height: 1024}`"),
        ("image-dimensions", {"widht": 768}, "unknown key `widht`; use `width`"),
        ("image-dimensions", {"width": -1}, "`width` must be a whole number >= 0, got -1"),
        ("image-dimensions", {"width": "big"}, "`width` must be a whole number, got 'big'"),
        ("image-format", "tiff", "unknown image format `tiff`; use png, jpeg, webp, gif"),
        ("image-count", "many", "`value` must be a whole number, got 'many'"),
        ("image-count", {"least": 1}, "unknown key `least`; use `min`, `max`"),
        ("image-count", {"min": 3, "max": 1}, "`min` 3 is more than `max` 1"),
        (
            "image-dimensions",
            {"min_width": 800, "max_width": 600},
            "`min_width` 800 is more than `max_width` 600",
        ),
    ],
)
def test_bad_image_assertion_values(type_: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidAssertion, match=re.escape(message)):
        compile_assertion(type_, value, weight=1.0, threshold=None, base_dir=Path())


@pytest.mark.parametrize("marker", ["<<w>>", "{{w}}"])
def test_templated_image_values_are_checked_once_rendered(marker: str) -> None:
    spec = compile_assertion(
        "image-dimensions", {"width": marker}, weight=1.0, threshold=None, base_dir=Path()
    )
    rendered = replace(spec, value={"width": "768"})
    assert evaluate(rendered, "", SQUARE).passed
    broken = evaluate(replace(spec, value={"width": "wide"}), "", SQUARE)
    assert not broken.passed and "`width` must be a whole number" in broken.reason
    formats = compile_assertion("image-format", marker, weight=1.0, threshold=None, base_dir=Path())
    assert evaluate(replace(formats, value=["png"]), "", SQUARE).passed
    assert not evaluate(replace(formats, value=["webp"]), "", SQUARE).passed
    unknown = evaluate(replace(formats, value=["bmp"]), "", SQUARE)
    assert not unknown.passed and "unknown image format `bmp`" in unknown.reason


def test_python_checks_see_the_saved_images() -> None:
    verdict = check(
        "python",
        "",
        "all(i['width'] == 768 and i['path'].endswith('.png') for i in context['images'])",
        context=SQUARE,
    )
    assert verdict.passed, verdict.reason
