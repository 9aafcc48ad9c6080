"""Model-graded assertions: a model on Replicate judges the output.

llm-rubric, model-graded-closedqa and factuality render a grader prompt (shipped with reval
in ``grader_prompts/``, or the config's ``options.rubricPrompt``) and read the grader's JSON
answer; ``similar`` compares embeddings; ``moderation`` asks a Llama Guard model. Each judge
is pure apart from its ``GraderCalls``, which the runner provides.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

from replicate_eval.assertions.base import (
    AssertionProblem,
    AssertionSpec,
    CheckContext,
    GraderCalls,
    InvalidAssertion,
    Outcome,
)
from replicate_eval.chat import parse_chat
from replicate_eval.errors import CellError, TemplateError
from replicate_eval.judging.answers import (
    LLAMA_GUARD_CATEGORIES,
    cosine_similarity,
    describe_categories,
    parse_embedding,
    parse_factuality,
    parse_guard,
    parse_verdict,
)
from replicate_eval.templating import Templates

_T = TypeVar("_T")

DEFAULT_SIMILARITY = 0.8

# promptfoo's defaults: every category passes but "disagree".
DEFAULT_FACTUALITY: dict[str, float] = {
    "subset": 1.0,
    "superset": 1.0,
    "agree": 1.0,
    "disagree": 0.0,
    "differButFactual": 1.0,
}
_FACTUALITY_NAMES = {
    "subset": "a subset of the reference",
    "superset": "a superset of the reference",
    "agree": "the same as the reference",
    "disagree": "in disagreement with the reference",
    "differButFactual": "different from the reference, but not in facts",
}


@cache
def shipped_prompt(kind: str) -> str:
    """The grader prompt reval ships for ``kind`` (angle-bracket template syntax)."""
    return resources.files(__package__).joinpath(f"grader_prompts/{kind}.j2").read_text("utf-8")


_TEMPLATES = {"angle": Templates("angle"), "curly": Templates("curly")}

# What a grader prompt may use besides the test's vars (promptfoo's names included).
GRADER_VARIABLES = frozenset(
    {"output", "completion", "rubric", "criteria", "ideal", "prompt", "input", "outputs"}
)


def grader_prompt(spec: AssertionSpec, output: str, ctx: CheckContext) -> str:
    """The rendered grader prompt. Its variables: ``output``, ``rubric`` (the assertion's
    value), ``prompt`` and the test's vars, plus promptfoo's names for the same things
    (``completion``, ``criteria``, ``ideal``, ``input``)."""
    assert spec.grading is not None
    rubric = spec.value if isinstance(spec.value, str) else json.dumps(spec.value)
    variables = {
        **ctx.vars,
        "output": output,
        "completion": output,
        "rubric": rubric,
        "criteria": rubric,
        "ideal": rubric,
        "prompt": ctx.prompt,
        "input": ctx.prompt,
    }
    override = spec.grading.prompt
    try:
        if override is None:
            return _TEMPLATES["angle"].render(shipped_prompt(spec.kind), variables)
        templates = _TEMPLATES[spec.grading.prompt_syntax]
        if isinstance(override, str):
            return templates.render(override, variables)
        # A chat: each message rendered alone, so an output with quotes keeps the JSON valid.
        return json.dumps(
            [
                {"role": role, "content": templates.render(content, variables)}
                for role, content in override
            ],
            ensure_ascii=False,
        )
    except TemplateError as exc:
        raise AssertionProblem(f"the grader prompt (options.rubricPrompt): {exc}") from None


def render_shipped(kind: str, variables: dict[str, Any]) -> str:
    """A grader prompt reval ships (not one the config gives), rendered with ``variables``."""
    try:
        return _TEMPLATES["angle"].render(shipped_prompt(kind), variables)
    except TemplateError as exc:
        raise AssertionProblem(f"the grader prompt of `{kind}`: {exc}") from None


def text_only(spec: AssertionSpec, ctx: CheckContext) -> None:
    if ctx.images:
        raise AssertionProblem(f"`{spec.kind}` judges text, and this output is images")


async def llm_rubric(
    output: str, value: Any, spec: AssertionSpec, ctx: CheckContext, grader: GraderCalls
) -> Outcome:
    """Also model-graded-closedqa: the same JSON verdict, another grader prompt."""
    text_only(spec, ctx)
    verdict = parse_verdict(await grader.ask(grader_prompt(spec, output, ctx)))
    # With a threshold, the grader's score decides (promptfoo's rule), not its "pass".
    if spec.threshold is not None:
        passed, said = _against_threshold(verdict.score, spec.threshold)
    else:
        passed, said = verdict.passed, "passes" if verdict.passed else "fails"
    reason = f"grader: {said}" + (f": {verdict.reason}" if verdict.reason else "")
    return Outcome(passed, reason, verdict.score)


def _against_threshold(score: float, threshold: float) -> tuple[bool, str]:
    passed = score >= threshold
    return passed, f"score {score:g} {'>=' if passed else '<'} {threshold:g}"


async def factuality(
    output: str, value: Any, spec: AssertionSpec, ctx: CheckContext, grader: GraderCalls
) -> Outcome:
    text_only(spec, ctx)
    assert spec.grading is not None
    category, why = parse_factuality(await grader.ask(grader_prompt(spec, output, ctx)))
    scores = {**DEFAULT_FACTUALITY, **spec.grading.factuality}
    score = scores[category]
    reason = f"grader: the output is {_FACTUALITY_NAMES[category]}"
    if spec.threshold is not None:
        passed, said = _against_threshold(score, spec.threshold)
        reason += f" ({said})"
    else:
        passed = score > 0
        if not passed:
            reason += " (a category this test does not accept)"
    return Outcome(passed, reason + (f": {why}" if why else ""), score)


def _texts(value: Any) -> list[str] | None:
    """The expected texts: one text (or number), or a list of them."""
    items = value if isinstance(value, list) else [value]
    if not items or any(isinstance(i, bool) or not isinstance(i, (str, int, float)) for i in items):
        return None
    return [str(item) for item in items]


def prepare_similar(value: Any, base_dir: Path) -> None:
    if not _texts(value):
        raise InvalidAssertion("value", "`similar` needs the expected text, or a list of them")


async def similar(
    output: str, value: Any, spec: AssertionSpec, ctx: CheckContext, grader: GraderCalls
) -> Outcome:
    """Cosine similarity of the embeddings; the closest expected text counts."""
    text_only(spec, ctx)
    expected = _texts(value) or []
    threshold = spec.threshold if spec.threshold is not None else DEFAULT_SIMILARITY
    answers = await every_answer(*(grader.ask(text) for text in [output, *expected]))
    mine, *theirs = (parse_embedding(answer) for answer in answers)
    similarities = [cosine_similarity(mine, other) for other in theirs]
    best = max(range(len(similarities)), key=similarities.__getitem__)
    value_best = similarities[best]
    which = f" (expected text {best + 1} of {len(expected)})" if len(expected) > 1 else ""
    passed = value_best >= threshold
    reason = f"cosine similarity {value_best:.3f}{which} is {'>=' if passed else '<'} {threshold:g}"
    return Outcome(passed, reason, min(1.0, max(0.0, value_best)))


async def every_answer(*asks: Awaitable[_T]) -> list[_T]:
    """Every call's answer. A failed call's problem is raised only once the others have ended:
    none is left running (and billing) unwatched."""
    answers = await asyncio.gather(*asks, return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return cast(list[_T], answers)


@dataclass(frozen=True)
class ModerationSettings:
    categories: frozenset[str] | None  # None: every category fails the check
    include_prompt: bool = False  # also check the prompt on its own


def prepare_moderation(value: Any, base_dir: Path) -> ModerationSettings:
    """``value``: nothing (every category), categories (a list or ``S1,S10``), or a mapping
    ``{categories: [...], prompt: true}``."""
    include_prompt = False
    if isinstance(value, dict):
        unknown = sorted(set(map(str, value)) - {"categories", "prompt"})
        if unknown:
            raise InvalidAssertion(
                "value", f"`moderation` takes `categories` and `prompt`, not `{unknown[0]}`"
            )
        include_prompt = value.get("prompt", False)
        if not isinstance(include_prompt, bool):
            raise InvalidAssertion("value", "`moderation`'s `prompt` is true or false")
        value = value.get("categories")
    if value is None:
        return ModerationSettings(None, include_prompt)
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise InvalidAssertion("value", "`moderation` takes Llama Guard categories, e.g. [S1, S10]")
    codes = [item.strip().upper() for item in items if item.strip()]
    unknown = [code for code in codes if code not in LLAMA_GUARD_CATEGORIES]
    if unknown or not codes:
        raise InvalidAssertion(
            "value",
            f"unknown Llama Guard category `{unknown[0] if unknown else value}` "
            f"(known: {', '.join(LLAMA_GUARD_CATEGORIES)})",
        )
    return ModerationSettings(frozenset(codes), include_prompt)


async def moderation(
    output: str, value: Any, spec: AssertionSpec, ctx: CheckContext, grader: GraderCalls
) -> Outcome:
    """Llama Guard classifies the output as the answer to the prompt (``prompt`` and
    ``assistant`` inputs); with ``prompt: true`` it also classifies the prompt alone."""
    text_only(spec, ctx)
    settings = spec.prepared or ModerationSettings(None)
    try:
        chat = parse_chat(ctx.prompt)
    except CellError:
        chat = None
    user = chat.user if chat else ctx.prompt
    checks = [grader.ask(user, {"assistant": output})]
    if settings.include_prompt:
        checks.append(grader.ask(user))
    flagged = [parse_guard(answer) for answer in await every_answer(*checks)]
    findings, unsafe = [], False
    for what, codes in zip(("the output", "the prompt"), flagged, strict=False):
        counted = [c for c in codes if settings.categories is None or c in settings.categories]
        ignored = [c for c in codes if c not in counted]
        if counted:
            unsafe = True
            findings.append(f"{what} is unsafe: {describe_categories(counted)}")
        elif ignored:
            findings.append(
                f"{what} is flagged {describe_categories(ignored)}, not a checked category"
            )
    checked = "the output and the prompt are" if settings.include_prompt else "the output is"
    reason = "; ".join(findings) if findings else f"Llama Guard: {checked} safe"
    return Outcome(not unsafe, reason)
