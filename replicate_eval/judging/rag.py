"""promptfoo's retrieval (RAG) graders: answer-relevance, context-recall, context-relevance and
context-faithfulness, judged by a model on Replicate with reval's own grader prompts.

The scores follow promptfoo's matchers (src/matchers, after RAGAS): answer-relevance is the mean
cosine similarity between the query and questions the grader writes for the output;
context-recall the share of the reference's sentences found in the context; context-relevance
the share of the context's units (chunks, lines or sentences) the grader finds relevant;
context-faithfulness one minus the share of the output's statements the context does not
support. Each passes at ``threshold`` (default 0, as in promptfoo). The context is the test's
``context`` var (a text, or a list of chunks joined by blank lines); the query its ``query``
var (answer-relevance falls back to the prompt).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from replicate_eval.assertions.base import (
    AssertionProblem,
    AssertionSpec,
    CheckContext,
    GraderCalls,
    Outcome,
)
from replicate_eval.judging.answers import cosine_similarity, parse_embedding, quoted
from replicate_eval.judging.checks import every_answer, render_shipped, text_only

# The test vars each kind reads, checked at load time (config/load.py).
NEEDED_VARS: dict[str, tuple[str, ...]] = {
    "context-recall": ("context",),
    "context-relevance": ("query", "context"),
    "context-faithfulness": ("query", "context"),
}
QUESTIONS = 3  # promptfoo asks for three candidate questions
MAX_STATEMENTS = 100  # of an output, checked against the context: a grader may ramble
NO_RELEVANT = "NO RELEVANT SENTENCES"  # what context-relevance.j2 tells the grader to say
_IN, _NOT_IN = "[in context]", "[not in context]"  # context-recall.j2's markers, lower-cased
_VERDICT = re.compile(r"verdict:\s*(yes|no)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*")


def missing_vars(kind: str, variables: Mapping[str, Any]) -> list[str]:
    return [name for name in NEEDED_VARS.get(kind, ()) if name not in variables]


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def sentences(text: str) -> list[str]:
    """Lines, each split after a sentence's end (``.``, ``!``, ``?`` and a space)."""
    return [part for line in lines(text) for part in _SENTENCE_END.split(line) if part.strip()]


def _context(ctx: CheckContext) -> str | list[str]:
    value = ctx.vars.get("context")
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(chunk, str) for chunk in value):
        return value
    raise AssertionProblem("the test's `context` var must be a text or a list of texts")


def _joined(context: str | list[str]) -> str:
    return context if isinstance(context, str) else "\n\n".join(context)


def _query(ctx: CheckContext, *, fallback: bool = False) -> str:
    value = ctx.vars.get("query")
    if value is None and fallback:
        return ctx.prompt
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise AssertionProblem("the test's `query` var must be a text")
    return str(value)


def _threshold(spec: AssertionSpec) -> float:
    return spec.threshold if spec.threshold is not None else 0.0


def _scored(name: str, score: float, spec: AssertionSpec, detail: str) -> Outcome:
    threshold = _threshold(spec)
    passed = score >= threshold
    reason = f"{name} {score:.2f} {'>=' if passed else '<'} {threshold:g} ({detail})"
    return Outcome(passed, reason, max(0.0, min(1.0, score)))


async def answer_relevance(
    output: str, value: Any, spec: AssertionSpec, ctx: CheckContext, grader: GraderCalls
) -> Outcome:
    text_only(spec, ctx)
    query = _query(ctx, fallback=True)
    answer = await grader.ask(render_shipped("answer-relevance", {"output": output}))
    questions = [_NUMBERING.sub("", line) for line in lines(answer)][:QUESTIONS]
    questions = [question for question in questions if question]
    if not questions:
        raise AssertionProblem("the grader wrote no question for the output: " + quoted(answer))
    embedded = await every_answer(*(grader.embed(text) for text in [query, *questions]))
    mine, *theirs = (parse_embedding(vector) for vector in embedded)
    similarity = sum(cosine_similarity(mine, other) for other in theirs) / len(theirs)
    closest = max(zip(theirs, questions, strict=True), key=lambda p: cosine_similarity(mine, p[0]))
    detail = f"mean similarity of the query to {len(questions)} questions; closest: {closest[1]!r}"
    return _scored("relevance", similarity, spec, detail)


async def context_recall(
    output: str, value: Any, spec: AssertionSpec, ctx: CheckContext, grader: GraderCalls
) -> Outcome:
    """How much of the reference answer (the assertion's value) the context holds; the
    output itself is not judged, as in promptfoo."""
    context = _joined(_context(ctx))
    reference = value if isinstance(value, str) else str(value)
    prompt = render_shipped("context-recall", {"context": context, "reference": reference})
    answer = await grader.ask(prompt)
    marked = [line for line in lines(answer) if _IN in line.lower() or _NOT_IN in line.lower()]
    if not marked:
        raise AssertionProblem(
            "the grader marked no sentence [IN CONTEXT] or [NOT IN CONTEXT]: " + quoted(answer)
        )
    found = sum(1 for line in marked if _NOT_IN not in line.lower())
    detail = f"{found} of {len(marked)} sentences of the reference are in the context"
    return _scored("recall", found / len(marked), spec, detail)


async def context_relevance(
    output: str, value: Any, spec: AssertionSpec, ctx: CheckContext, grader: GraderCalls
) -> Outcome:
    """The share of the context that helps answer the query: units are its chunks (a list),
    else its sentences; the grader's answer is counted in lines when the context is already
    split (a list, or several lines), else in sentences (promptfoo's rule)."""
    context = _context(ctx)
    query = _query(ctx)
    text = _joined(context)
    prompt = render_shipped("context-relevance", {"query": query, "context": text})
    answer = await grader.ask(prompt)
    if isinstance(context, list):
        units = [chunk for chunk in context if chunk.strip()]
    else:
        units = sentences(context)
    split = isinstance(context, list) or len(lines(context)) > 1
    relevant = [] if NO_RELEVANT in answer.upper() else (lines if split else sentences)(answer)
    count = min(len(set(relevant)), len(units))
    detail = f"{count} of {len(units)} parts of the context help answer the query"
    return _scored("context relevance", count / len(units) if units else 0.0, spec, detail)


async def context_faithfulness(
    output: str, value: Any, spec: AssertionSpec, ctx: CheckContext, grader: GraderCalls
) -> Outcome:
    """The output broken into statements by the grader, each checked against the context."""
    text_only(spec, ctx)
    context = _joined(_context(ctx))
    query = _query(ctx)
    prompt = render_shipped("context-faithfulness-statements", {"query": query, "output": output})
    statements = [_NUMBERING.sub("", line) for line in lines(await grader.ask(prompt))]
    statements = [statement for statement in statements if statement]
    cut = len(statements) > MAX_STATEMENTS
    statements = statements[:MAX_STATEMENTS]
    if not statements:
        return Outcome(False, "the grader found no statement in the output", 0.0)
    numbered = "\n".join(f"{n}. {statement}" for n, statement in enumerate(statements, 1))
    prompt = render_shipped(
        "context-faithfulness-verdicts", {"context": context, "statements": numbered}
    )
    answer = await grader.ask(prompt)
    verdicts = [found.lower() for found in _VERDICT.findall(answer)]
    if not verdicts:
        raise AssertionProblem("the grader gave no `verdict: yes/no` line: " + quoted(answer))
    unsupported = verdicts[: len(statements)].count("no")
    score = 1 - unsupported / len(statements)
    detail = f"{unsupported} of {len(statements)} statements of the output are not in the context"
    if cut:
        detail += f"; the grader's first {MAX_STATEMENTS} statements were checked"
    return _scored("faithfulness", score, spec, detail)
