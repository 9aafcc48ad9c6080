"""Reading what grader models answer: JSON verdicts, factuality categories, Llama Guard's
verdict lines and embedding vectors.

Models wrap JSON in prose or code fences, add text after it, or write Python's ``True``; a
reader takes the first JSON object that has the expected key and ignores the rest. An answer it
cannot read raises AssertionProblem quoting the raw answer: the assertion fails, nothing crashes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from replicate_eval.assertions.base import AssertionProblem
from replicate_eval.clip import clip

_SHOWN = 300  # characters of a raw answer quoted in a message


def quoted(answer: str) -> str:
    text = " ".join(answer.split())
    return json.dumps(clip(text, _SHOWN))


@dataclass(frozen=True)
class GraderVerdict:
    passed: bool
    score: float
    reason: str


def parse_verdict(answer: str) -> GraderVerdict:
    """``{"pass": bool, "score": 0..1, "reason": "..."}`` found anywhere in ``answer``."""
    found = find_json_object(answer, "pass")
    if found is None:
        raise AssertionProblem(
            'the grader did not answer with a JSON object holding "pass": ' + quoted(answer)
        )
    passed = _boolean(found["pass"])
    if passed is None:
        raise AssertionProblem(
            f'the grader\'s "pass" is {json.dumps(found["pass"])}, not true or false: '
            + quoted(answer)
        )
    score = found.get("score")
    if score is None:
        score = 1.0 if passed else 0.0
    elif isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        raise AssertionProblem(
            f'the grader\'s "score" is {json.dumps(score)}, not a number from 0 to 1: '
            + quoted(answer)
        )
    reason = found.get("reason")
    return GraderVerdict(passed, float(score), str(reason).strip() if reason else "")


# promptfoo's factuality choices (A-E) and the names reval's grader prompt uses.
FACTUALITY_CATEGORIES: dict[str, str] = {
    "subset": "subset",
    "a": "subset",
    "superset": "superset",
    "b": "superset",
    "same": "agree",
    "agree": "agree",
    "c": "agree",
    "disagrees": "disagree",
    "disagree": "disagree",
    "d": "disagree",
    "differs-but-irrelevant": "differButFactual",
    "differbutfactual": "differButFactual",
    "e": "differButFactual",
}


def parse_factuality(answer: str) -> tuple[str, str]:
    """The category (promptfoo's name: subset, superset, agree, disagree, differButFactual)
    and the grader's reason."""
    found = find_json_object(answer, "category")
    if found is None:
        raise AssertionProblem(
            'the grader did not answer with a JSON object holding "category": ' + quoted(answer)
        )
    raw = str(found["category"]).strip().strip("()").lower()
    category = FACTUALITY_CATEGORIES.get(raw) or FACTUALITY_CATEGORIES.get(raw.replace("_", "-"))
    if category is None:
        raise AssertionProblem(
            f'the grader\'s "category" {json.dumps(found["category"])} is not one of subset, '
            "superset, same, disagrees, differs-but-irrelevant: " + quoted(answer)
        )
    reason = found.get("reason")
    return category, str(reason).strip() if reason else ""


def find_json_object(text: str, key: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` that has ``key``, wherever it is."""
    decoder = json.JSONDecoder()
    for candidate in (text, _pythonic_to_json(text)):
        for match in re.finditer(r"\{", candidate):
            try:
                value, _ = decoder.raw_decode(candidate, match.start())
            except ValueError:
                continue
            if isinstance(value, dict) and key in value:
                return value
    return None


def _pythonic_to_json(text: str) -> str:
    """``True``/``False``/``None`` as JSON spells them, for models that write Python."""
    spelled = {"True": "true", "False": "false", "None": "null"}
    return re.sub(r"\b(True|False|None)\b", lambda m: spelled[m[1]], text)


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
        return value.strip().lower() in ("true", "yes")
    return None


# Llama Guard 3 and 4's hazard categories (MLCommons taxonomy).
LLAMA_GUARD_CATEGORIES: dict[str, str] = {
    "S1": "Violent Crimes",
    "S2": "Non-Violent Crimes",
    "S3": "Sex-Related Crimes",
    "S4": "Child Sexual Exploitation",
    "S5": "Defamation",
    "S6": "Specialized Advice",
    "S7": "Privacy",
    "S8": "Intellectual Property",
    "S9": "Indiscriminate Weapons",
    "S10": "Hate",
    "S11": "Suicide & Self-Harm",
    "S12": "Sexual Content",
    "S13": "Elections",
    "S14": "Code Interpreter Abuse",
}


def parse_guard(answer: str) -> list[str]:
    """Llama Guard's answer: ``safe``, or ``unsafe`` and a line of categories (``S1,S10``).
    Returns the unsafe categories; an empty list means safe."""
    lines = [line.strip() for line in answer.strip().splitlines() if line.strip()]
    verdict = lines[0].lower() if lines else ""
    if verdict == "safe":
        return []
    if verdict != "unsafe":
        raise AssertionProblem(
            "the guard model did not answer `safe` or `unsafe`: " + quoted(answer)
        )
    codes = re.findall(r"\bS\d{1,2}\b", " ".join(lines[1:]).upper())
    if not codes:
        raise AssertionProblem(
            "the guard model answered `unsafe` without naming a category: " + quoted(answer)
        )
    return list(dict.fromkeys(codes))


def describe_categories(codes: Sequence[str]) -> str:
    return ", ".join(
        f"{code} {LLAMA_GUARD_CATEGORIES[code]}" if code in LLAMA_GUARD_CATEGORIES else code
        for code in codes
    )


def parse_embedding(answer: str) -> list[float]:
    """A vector from an embedding model's output (as JSON): a list of numbers, the first of a
    list of them, or the same under an ``embedding``/``embeddings``/``vectors`` key."""
    try:
        value: Any = json.loads(answer)
    except (ValueError, OverflowError):  # not JSON, or a number too long to read
        value = None
    for _ in range(4):  # unwrap [{"embedding": [...]}] and similar, a few levels deep
        if isinstance(value, dict):
            value = next(
                (value[k] for k in ("embedding", "embeddings", "vectors", "vector") if k in value),
                None,
            )
        elif isinstance(value, list) and value and isinstance(value[0], (list, dict)):
            value = value[0]
        else:
            break
    if (
        isinstance(value, list)
        and value
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
    ):
        try:
            vector = [float(x) for x in value]
        except OverflowError:
            vector = [math.inf]
        if all(math.isfinite(x) for x in vector):
            return vector
        raise AssertionProblem(
            "the embedding model's vector holds values that are not finite numbers: "
            + quoted(answer)
        )
    raise AssertionProblem("the embedding model's output is not a vector: " + quoted(answer))


def cosine_similarity(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        raise AssertionProblem(
            f"the embedding model returned vectors of different lengths ({len(a)} and {len(b)})"
        )
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    if norm == 0:
        raise AssertionProblem("the embedding model returned a zero vector")
    similarity = sum(x * y for x, y in zip(a, b, strict=True)) / norm
    if not math.isfinite(similarity):  # values so large their squares overflow
        raise AssertionProblem("the embedding model's vectors are too large to compare")
    return similarity
