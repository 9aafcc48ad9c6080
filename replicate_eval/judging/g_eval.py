"""promptfoo's ``g-eval`` (after G-Eval, Liu et al. 2023): the grader first turns the criteria
into evaluation steps, then follows them to score the output from 0 to 10.

As in promptfoo (src/assertions/geval.ts and its matcher): the value is one criterion or a
list of them, each judged on its own and their scores averaged; the score is the grader's
divided by 10; it passes at ``threshold``, 0.7 unless given.
"""

from __future__ import annotations

import json
from typing import Any

from replicate_eval.assertions.base import (
    AssertionProblem,
    AssertionSpec,
    CheckContext,
    GraderCalls,
    Outcome,
)
from replicate_eval.judging.answers import find_json_object, quoted
from replicate_eval.judging.checks import every_answer, render_shipped, text_only

DEFAULT_THRESHOLD = 0.7
MAX_SCORE = 10
MAX_STEPS = 20  # a grader that lists more is rambling: the first ones are kept


def criteria_of(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [item if isinstance(item, str) else json.dumps(item) for item in items]


async def _judged(
    criterion: str, output: str, ctx: CheckContext, grader: GraderCalls
) -> tuple[float, str]:
    answer = await grader.ask(render_shipped("g-eval-steps", {"criteria": criterion}))
    found = find_json_object(answer, "steps")
    steps = found.get("steps") if found else None
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
        raise AssertionProblem(
            'the grader did not answer with a JSON object holding a list of "steps": '
            + quoted(answer)
        )
    variables = {
        "criteria": criterion,
        "steps": "\n- ".join(step.strip() for step in steps[:MAX_STEPS]),
        "max_score": MAX_SCORE,
        "input": ctx.prompt,
        "output": output,
    }
    answer = await grader.ask(render_shipped("g-eval", variables))
    verdict = find_json_object(answer, "score")
    score = verdict.get("score") if verdict else None
    if (
        isinstance(score, bool)
        or not isinstance(score, (int, float))
        or not 0 <= score <= MAX_SCORE
    ):
        raise AssertionProblem(
            f'the grader did not answer with a JSON object holding a "score" from 0 to '
            f"{MAX_SCORE}: " + quoted(answer)
        )
    reason = str((verdict or {}).get("reason") or "").strip()
    return score / MAX_SCORE, reason


async def g_eval(
    output: str, value: Any, spec: AssertionSpec, ctx: CheckContext, grader: GraderCalls
) -> Outcome:
    text_only(spec, ctx)
    criteria = criteria_of(value)
    judged = await every_answer(*(_judged(c, output, ctx, grader) for c in criteria))
    score = sum(each for each, _ in judged) / len(judged)
    threshold = spec.threshold if spec.threshold is not None else DEFAULT_THRESHOLD
    passed = score >= threshold
    said = f"score {score:.2f} {'>=' if passed else '<'} {threshold:g}"
    if len(criteria) > 1:
        said += f" (mean of {len(criteria)} criteria)"
    reasons = "; ".join(reason for _, reason in judged if reason)
    return Outcome(passed, f"grader: {said}" + (f": {reasons}" if reasons else ""), score)
