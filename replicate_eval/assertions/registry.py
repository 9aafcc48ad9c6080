"""The assertion table: name -> check, plus validation, evaluation and grading.

Adding an assertion is one entry in ``KINDS``; the generic ``not-`` prefix, ``weight`` and the
test ``threshold`` work for every kind. Plugins add theirs through the entry point group
``reval.assertions`` (named by the type, loaded when a config first uses it) or
``register_assertion``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from replicate_eval.assertions import (
    comparative,
    image,
    javascript,
    metrics,
    overlap,
    python,
    refusal,
    sql,
    structure,
    text,
)
from replicate_eval.assertions.base import (
    AssertionKind,
    AssertionProblem,
    AssertionSpec,
    Check,
    CheckContext,
    GraderCalls,
    InvalidAssertion,
    JudgeUnavailable,
    Outcome,
)
from replicate_eval.assertions.promptfoo_types import ALIASES, NOT_HERE
from replicate_eval.entry_points import load_plugin
from replicate_eval.errors import ConfigError
from replicate_eval.judging import checks, g_eval, rag
from replicate_eval.suggest import did_you_mean

KINDS: dict[str, AssertionKind] = {
    kind.name: kind
    for kind in (
        AssertionKind("equals", text.equals, "any"),
        AssertionKind("contains", text.contains, "text"),
        AssertionKind("icontains", text.icontains, "text"),
        AssertionKind("contains-any", text.contains_any, "texts"),
        AssertionKind("contains-all", text.contains_all, "texts"),
        AssertionKind("starts-with", text.starts_with, "text"),
        AssertionKind("regex", text.regex, "text", prepare=text.prepare_regex),
        AssertionKind("icontains-any", text.icontains_any, "texts"),
        AssertionKind("icontains-all", text.icontains_all, "texts"),
        # promptfoo's shape checks (structure.py): a JSON Schema value is optional.
        AssertionKind(
            "is-json", structure.is_json, "optional", prepare=structure.prepare_json_schema
        ),
        AssertionKind(
            "contains-json",
            structure.contains_json,
            "optional",
            prepare=structure.prepare_json_schema,
        ),
        AssertionKind("is-xml", structure.is_xml, "optional", prepare=structure.prepare_xml),
        AssertionKind(
            "contains-xml", structure.contains_xml, "optional", prepare=structure.prepare_xml
        ),
        AssertionKind(
            "word-count", structure.word_count, "any", prepare=structure.prepare_word_count
        ),
        AssertionKind("levenshtein", structure.levenshtein, "text"),
        AssertionKind("bleu", overlap.bleu, "texts"),
        AssertionKind("gleu", overlap.gleu, "texts"),
        AssertionKind("rouge-n", overlap.rouge_n, "text"),
        AssertionKind("is-sql", sql.is_sql, "optional", prepare=sql.prepare_sql),
        AssertionKind("contains-sql", sql.contains_sql, "optional", prepare=sql.prepare_sql),
        AssertionKind("is-refusal", refusal.is_refusal, "none"),
        AssertionKind(
            "python", None, "code", prepare=python.prepare_python, user_code=python.python_check
        ),
        AssertionKind(
            "javascript",
            None,
            "code",
            prepare=javascript.prepare_javascript,
            user_code=javascript.javascript_check,
        ),
        AssertionKind("latency", metrics.latency, "none", needs_threshold=True),
        AssertionKind(
            "image-dimensions", image.image_dimensions, "any", prepare=image.prepare_dimensions
        ),
        AssertionKind("image-format", image.image_format, "texts", prepare=image.prepare_format),
        AssertionKind("image-count", image.image_count, "any", prepare=image.prepare_count),
        AssertionKind("is-valid-openai-image-format", image.valid_images, "none"),
        # Model-graded: a model on Replicate judges the output (see judging/checks.py).
        AssertionKind("llm-rubric", None, "text", judge=checks.llm_rubric, grader="text"),
        AssertionKind(
            "model-graded-closedqa", None, "text", judge=checks.llm_rubric, grader="text"
        ),
        AssertionKind("factuality", None, "text", judge=checks.factuality, grader="text"),
        AssertionKind("g-eval", None, "texts", judge=g_eval.g_eval, grader="text"),
        # promptfoo's retrieval graders (judging/rag.py): the test's `query` and `context`.
        AssertionKind(
            "answer-relevance", None, "none", judge=rag.answer_relevance, grader="text", embeds=True
        ),
        AssertionKind("context-recall", None, "text", judge=rag.context_recall, grader="text"),
        AssertionKind(
            "context-relevance", None, "none", judge=rag.context_relevance, grader="text"
        ),
        AssertionKind(
            "context-faithfulness", None, "none", judge=rag.context_faithfulness, grader="text"
        ),
        AssertionKind(
            "similar",
            None,
            "any",
            prepare=checks.prepare_similar,
            judge=checks.similar,
            grader="embedding",
        ),
        AssertionKind(
            "moderation",
            None,
            "optional",  # no value: every category fails the check
            prepare=checks.prepare_moderation,
            judge=checks.moderation,
            grader="moderation",
        ),
        # Comparative: judged across the outputs of one test (replicate_eval.comparisons).
        AssertionKind("select-best", None, "text", grader="text", comparative=True),
        AssertionKind(
            "max-score",
            None,
            "optional",
            prepare=comparative.prepare_max_score,
            comparative=True,
        ),
    )
}


ENTRY_POINTS = "reval.assertions"
_BUILT_IN = frozenset(KINDS)


def register_assertion(kind: AssertionKind) -> None:
    """Add an assertion type in this process (what the entry point does for a plugin). Its
    check runs guarded: what it raises is the assertion's problem, not reval's crash."""
    if kind.name in _BUILT_IN or kind.name.startswith("not-"):
        raise ConfigError(f"the assertion type `{kind.name}` is reval's own; name yours otherwise")
    check = kind.check
    KINDS[kind.name] = replace(kind, check=_guarded(kind.name, check) if check else None)


def kind_named(name: str) -> AssertionKind | None:
    """The kind called ``name``: built in, registered, or an installed plugin's (loaded now)."""
    kind = KINDS.get(name)
    if kind is None and name in _installed():
        _load_plugin(name)
        kind = KINDS.get(name)
    return kind


@cache
def _installed() -> frozenset[str]:
    return frozenset(entry.name for entry in metadata.entry_points(group=ENTRY_POINTS))


def _load_plugin(name: str) -> None:
    loaded, origin = load_plugin(ENTRY_POINTS, name, "assertion", ConfigError)
    if isinstance(loaded, AssertionKind):
        if loaded.name != name:
            raise ConfigError(f"{origin} is named `{loaded.name}`, not `{name}`")
        register_assertion(loaded)
    elif callable(loaded):  # a bare check function: any value, checked by the function
        register_assertion(AssertionKind(name, loaded, "optional"))
    else:
        raise ConfigError(f"{origin} is neither an AssertionKind nor a check function")


def _guarded(name: str, check: Check) -> Check:
    def guarded(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
        try:
            outcome: Any = check(output, value, spec, ctx)
        except AssertionProblem:
            raise
        except (Exception, SystemExit) as exc:
            raise AssertionProblem(
                f"the `{name}` check raised {type(exc).__name__}: {exc}"
            ) from None
        if isinstance(outcome, bool):  # a plain yes/no from a simple plugin
            return Outcome(outcome, f"`{name}` {'passed' if outcome else 'failed'}")
        if not isinstance(outcome, Outcome):
            raise AssertionProblem(
                f"the `{name}` check returned {type(outcome).__name__}, not an Outcome or a bool"
            )
        return outcome

    return guarded


def compile_assertion(
    type_: str, value: Any, *, weight: float, threshold: float | None, base_dir: Path
) -> AssertionSpec:
    """Validate one assertion from the config. Raises InvalidAssertion naming the bad key."""
    negate = type_.startswith("not-")
    name = type_.removeprefix("not-")
    name = ALIASES.get(name, name)
    kind = kind_named(name)
    if kind is None and name in NOT_HERE:
        raise InvalidAssertion("type", f"promptfoo's `{name}` is not in reval: {NOT_HERE[name]}")
    if kind is None:
        known = [*KINDS, *sorted(_installed() - KINDS.keys())]
        hint = did_you_mean(name, known) or f" (known types: {', '.join(known)})"
        raise InvalidAssertion("type", f"unknown assertion type `{type_}`{hint}")
    if kind.comparative and negate:
        raise InvalidAssertion("type", f"`{name}` picks one output of several: it has no `not-`")
    value = _normalise_value(kind, value)
    if kind.needs_threshold and (threshold is None or threshold <= 0):
        raise InvalidAssertion("threshold", f"`{name}` needs a positive `threshold`")
    if kind.grader is not None and threshold is not None and not 0 <= threshold <= 1:
        raise InvalidAssertion("threshold", f"`{name}`'s `threshold` is a score from 0 to 1")
    prepared = kind.prepare(value, base_dir) if kind.prepare else None
    return AssertionSpec(
        type=type_,
        kind=name,
        negate=negate,
        value=value,
        value_kind=kind.value,
        weight=weight,
        threshold=threshold,
        prepared=prepared,
        runs_user_code=kind.user_code is not None,
        comparative=kind.comparative,
    )


def _normalise_value(kind: AssertionKind, value: Any) -> Any:
    scalar = (str, int, float)
    if kind.value == "optional":
        return value
    if kind.value == "none":
        if value is not None:
            raise InvalidAssertion("value", f"`{kind.name}` takes no `value`")
        return None
    if value is None or isinstance(value, bool):
        raise InvalidAssertion("value", f"`{kind.name}` needs a `value`")
    if kind.value == "text":
        if not isinstance(value, scalar):
            raise InvalidAssertion("value", f"`{kind.name}` needs one text `value`")
        return str(value)
    if kind.value == "texts":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, scalar) for i in items):
            raise InvalidAssertion("value", f"`{kind.name}` needs a list of texts")
        texts = [str(item).strip() if isinstance(value, str) else str(item) for item in items]
        texts = [t for t in texts if t]
        if not texts:
            raise InvalidAssertion("value", f"`{kind.name}` needs at least one text")
        return texts
    return value


@dataclass(frozen=True)
class Verdict:
    """One assertion applied to one output."""

    type: str
    value: Any
    weight: float
    passed: bool
    score: float
    reason: str
    problem: bool = False  # the assertion could not judge the output (see AssertionProblem)
    judge_unavailable: bool = False  # its judge could not be asked: the cell is an error
    metric: str | None = None  # promptfoo's named metric it counts toward


def evaluate(spec: AssertionSpec, output: str, ctx: CheckContext) -> Verdict:
    """A deterministic assertion's verdict (model-graded ones: ``evaluate_graded``)."""
    kind = KINDS[spec.kind]
    try:
        if kind.check is None:
            needs = "the user-code pool" if kind.user_code else "a grader model"
            raise AssertionProblem(f"`{spec.kind}` needs {needs}")
        outcome = kind.check(output, spec.value, spec, ctx)
    except AssertionProblem as problem:
        return problem_verdict(spec, problem)
    return _verdict(spec, outcome)


async def evaluate_graded(
    spec: AssertionSpec, output: str, ctx: CheckContext, grader: GraderCalls
) -> Verdict:
    """A model-graded assertion's verdict; ``grader`` asks the model that judges it."""
    judge = KINDS[spec.kind].judge
    if judge is None:
        return evaluate(spec, output, ctx)
    return await _awaited(spec, judge(output, spec.value, spec, ctx, grader))


async def evaluate_user_code(
    spec: AssertionSpec, output: str, ctx: CheckContext, code: python.UserCode
) -> Verdict:
    """The verdict of an assertion that runs the config's code; ``code`` is where it runs."""
    run = KINDS[spec.kind].user_code
    if run is None:
        return evaluate(spec, output, ctx)
    return await _awaited(spec, run(output, spec.value, spec, ctx, code))


async def _awaited(spec: AssertionSpec, checking: Awaitable[Outcome]) -> Verdict:
    try:
        outcome = await checking
    except AssertionProblem as problem:
        return problem_verdict(spec, problem)
    return _verdict(spec, outcome)


def problem_verdict(spec: AssertionSpec, problem: AssertionProblem) -> Verdict:
    """The verdict of an assertion that could not judge (its transform failed, say)."""
    unavailable = isinstance(problem, JudgeUnavailable)
    return Verdict(
        spec.type,
        spec.value,
        spec.weight,
        False,
        0.0,
        str(problem),
        problem=True,
        judge_unavailable=unavailable,
        metric=spec.metric,
    )


def _verdict(spec: AssertionSpec, outcome: Outcome) -> Verdict:
    passed, score = outcome.passed, outcome.final_score
    if spec.negate:
        passed, score = not passed, 1.0 - score
    return Verdict(
        spec.type, spec.value, spec.weight, passed, score, outcome.reason, metric=spec.metric
    )


@dataclass(frozen=True)
class Grade:
    passed: bool
    score: float
    reason: str | None  # why the cell failed; None when it passed


def grade(verdicts: Sequence[Verdict], threshold: float | None) -> Grade:
    """Weighted score of the verdicts; pass when all weighted ones pass, or score >= threshold.

    An assertion with weight 0 is reported but neither counts toward the score nor fails the cell.
    """
    counted = [v for v in verdicts if v.weight > 0]
    total = sum(v.weight for v in counted)
    score = sum(v.weight * v.score for v in counted) / total if total else 1.0
    failures = [f"{v.type}: {v.reason}" for v in counted if not v.passed]
    if threshold is not None:
        if score >= threshold:
            return Grade(True, score, None)
        detail = f" ({'; '.join(failures)})" if failures else ""
        return Grade(
            False, score, f"score {score:.2f} is below the threshold {threshold:g}{detail}"
        )
    return Grade(not failures, score, "; ".join(failures) or None)
