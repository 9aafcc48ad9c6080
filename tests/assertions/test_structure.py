"""promptfoo's shape checks beyond the pass/fail cases in test_assertions.py: load-time
errors, the banded edit distance, and outputs built to make them slow."""

from __future__ import annotations

import random
import re
import time

import pytest

from replicate_eval.assertions import InvalidAssertion
from replicate_eval.assertions.structure import _bounded_distance
from tests.assertions.test_assertions import check


def full_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def test_the_banded_distance_agrees_with_the_full_one() -> None:
    rng = random.Random(7)
    for _ in range(400):
        a = "".join(rng.choice("ab") for _ in range(rng.randint(0, 9)))
        b = "".join(rng.choice("ab") for _ in range(rng.randint(0, 9)))
        limit = rng.randint(0, 6)
        expected = full_distance(a, b)
        assert _bounded_distance(a, b, limit) == (expected if expected <= limit else None)


def test_levenshtein_defaults_to_promptfoos_five_and_says_the_distance() -> None:
    assert check("levenshtein", "abcdefgh", "abcdefgh").passed
    verdict = check("levenshtein", "abcdefghijk", "abcde")
    assert not verdict.passed and "more than 5 edits" in verdict.reason
    assert "2 edits from" in check("levenshtein", "axcxe", "abcde").reason
    assert "1 edit from" in check("levenshtein", "abcxe", "abcde").reason


@pytest.mark.parametrize(
    ("type_", "value", "says"),
    [
        ("is-json", {"type": "nonsense"}, "invalid JSON schema"),
        ("contains-json", "[unclosed", "not valid YAML or JSON"),
        ("is-json", 5, "must be a JSON schema"),
        ("word-count", {"min": 5, "max": 2}, "min (5) is more than max (2)"),
        ("word-count", "many", "a number of words"),
        ("is-xml", {"requiredElements": [1]}, "element paths"),
    ],
)
def test_a_bad_value_is_refused_when_the_config_loads(type_: str, value: object, says: str) -> None:
    with pytest.raises(InvalidAssertion, match=re.escape(says)):
        check(type_, "output", value)


def test_hostile_outputs_are_judged_quickly() -> None:
    started = time.monotonic()
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "]><l>&i;</l>"
    )
    assert not check("is-xml", laughs).passed  # expat refuses the expansion
    assert not check("contains-json", "{" * 200_000 + "[" * 200_000).passed
    assert not check("contains-xml", "<a>" * 3_000 + "</b>" * 3_000).passed
    assert check("levenshtein", "x" * 100_000, "x" * 99_998).passed
    assert time.monotonic() - started < 30  # a hang guard, not a speed target
