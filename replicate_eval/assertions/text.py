"""Deterministic checks on the output text. Each returns what it observed, pass or fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import regex as regex_engine

from replicate_eval.assertions.base import (
    AssertionProblem,
    AssertionSpec,
    CheckContext,
    InvalidAssertion,
    Outcome,
)
from replicate_eval.clip import clip
from replicate_eval.templating import may_be_template


def quote(text: str, limit: int = 80) -> str:
    """A short, unambiguous rendering of ``text`` for a reason."""
    return clip(json.dumps(text, ensure_ascii=False), limit, marker='..."')


def equals(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    if isinstance(value, (dict, list)):
        try:
            parsed = json.loads(output)
        except ValueError:
            return Outcome(False, "output is not JSON, so it cannot equal the expected structure")
        if parsed == value:
            return Outcome(True, "output JSON equals the expected structure")
        return Outcome(False, f"output JSON {quote(json.dumps(parsed))} differs from the expected")
    expected = str(value)
    if output == expected:
        return Outcome(True, f"output equals {quote(expected)}")
    return Outcome(False, f"output {quote(output)} does not equal {quote(expected)}")


def contains(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    needle = str(value)
    if needle in output:
        return Outcome(True, f"output contains {quote(needle)}")
    return Outcome(False, f"output does not contain {quote(needle)}")


def icontains(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    needle = str(value)
    if needle.lower() in output.lower():
        return Outcome(True, f"output contains {quote(needle)} (ignoring case)")
    return Outcome(False, f"output does not contain {quote(needle)} (ignoring case)")


def contains_any(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    found = [needle for needle in value if needle in output]
    if found:
        return Outcome(True, f"output contains {quote(found[0])}")
    return Outcome(False, f"output contains none of {', '.join(map(quote, value))}")


def contains_all(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    missing = [needle for needle in value if needle not in output]
    if not missing:
        return Outcome(True, f"output contains all of {', '.join(map(quote, value))}")
    return Outcome(False, f"output is missing {', '.join(map(quote, missing))}")


def icontains_any(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    lowered = output.lower()
    found = [needle for needle in value if needle.lower() in lowered]
    if found:
        return Outcome(True, f"output contains {quote(found[0])} (ignoring case)")
    return Outcome(False, f"output contains none of {', '.join(map(quote, value))} (ignoring case)")


def icontains_all(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    lowered = output.lower()
    missing = [needle for needle in value if needle.lower() not in lowered]
    if not missing:
        return Outcome(
            True, f"output contains all of {', '.join(map(quote, value))} (ignoring case)"
        )
    return Outcome(False, f"output is missing {', '.join(map(quote, missing))} (ignoring case)")


def starts_with(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    prefix = str(value)
    if output.startswith(prefix):
        return Outcome(True, f"output starts with {quote(prefix)}")
    # Not clip(): the output's start is shown as it is, leading whitespace and all.
    return Outcome(
        False, f"output starts with {quote(output[: len(prefix) + 10])}, not {quote(prefix)}"
    )


# A pattern that backtracks catastrophically (`(a|aa)+$` on "aaaa…!") would hold the event loop
# for hours; the `regex` engine stops a match after this many seconds (it checks the clock now
# and then, so it may overrun a little).
REGEX_TIME_LIMIT = 0.5


def regex(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    pattern = _compile_regex(str(value), lambda message: AssertionProblem(message))
    try:
        match = pattern.search(output, timeout=REGEX_TIME_LIMIT)
    except TimeoutError:
        raise AssertionProblem(
            f"/{pattern.pattern}/ did not finish matching the output within "
            f"{REGEX_TIME_LIMIT:g} s (a pattern that backtracks catastrophically?); stopped"
        ) from None
    if match:
        return Outcome(True, f"output matches /{pattern.pattern}/ at {quote(match.group(0))}")
    return Outcome(False, f"output does not match /{pattern.pattern}/")


def prepare_regex(value: Any, base_dir: Path) -> None:
    """Catch a broken pattern at load time unless it is only complete after rendering."""
    text = str(value)
    if not may_be_template(text):
        _compile_regex(text, lambda message: InvalidAssertion("value", message))


def _compile_regex(pattern: str, error: Any) -> regex_engine.Pattern[str]:
    try:
        return regex_engine.compile(pattern)
    except (regex_engine.error, ValueError, OverflowError, RecursionError) as exc:
        raise error(f"invalid regular expression /{pattern}/: {exc}") from None
