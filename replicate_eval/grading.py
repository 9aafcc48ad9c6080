"""Grading one cell's output: promptfoo's transforms, then every assertion (assert-sets and
named metrics included), then the cell's verdict. The runner calls it once the output is in."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from replicate_eval.assertions import AssertionSpec, CheckContext
from replicate_eval.assertions.base import ASSERT_SET, AssertionProblem
from replicate_eval.assertions.registry import (
    Verdict,
    evaluate,
    evaluate_graded,
    evaluate_user_code,
    grade,
    problem_verdict,
)
from replicate_eval.judging.calls import Graders
from replicate_eval.plan import Cell
from replicate_eval.providers.base import ProviderResponse
from replicate_eval.providers.outputs import well_formed
from replicate_eval.results import AssertionResult, CellResult, CellStatus, GraderResult
from replicate_eval.transforms import TransformFailed, apply_transforms, output_text
from replicate_eval.usercode.pool import UserCodePool
from replicate_eval.usercode.worker import PythonSource


@dataclass(frozen=True)
class Judged:
    """One assertion's verdict, the grader that judged it, and an assert-set's members."""

    verdict: Verdict
    grader: GraderResult | None = None
    members: tuple[Judged, ...] = ()


class CellGrader:
    """Transforms and judges outputs; graders and the config's code run where they belong."""

    def __init__(self, graders: Graders, user_code: UserCodePool) -> None:
        self._graders = graders
        self._user_code = user_code

    async def graded(
        self, cell: Cell, model_input: dict[str, Any], response: ProviderResponse, *, cached: bool
    ) -> CellResult:
        response = replace(response, output=well_formed(response.output))
        value: Any = response.output
        chain = _output_transforms(cell)
        if chain:
            try:
                value = await apply_transforms(
                    self._user_code, chain, value, cell.test.vars, _transform_context(cell)
                )
            except TransformFailed as exc:
                return cell_result(
                    cell,
                    status="error",
                    error=str(exc),
                    model_input=model_input,
                    output=response.output,
                    prediction_id=response.prediction_id,
                    cached=cached,
                )
            response = replace(response, output=well_formed(output_text(value)))
        context = CheckContext(
            vars=cell.test.vars,
            prompt=cell.rendered_prompt or "",
            latency_ms=response.latency_ms,
            provider_id=cell.provider.id,
            images=response.images,
            value=None if isinstance(value, str) else value,
        )
        # Comparative ones (select-best, max-score) wait for the test's other outputs.
        own = [spec for spec in cell.assertions if not spec.comparative]
        judged = await self._judge_all(cell, own, response.output, context)
        return _with_verdicts(cell, model_input, response, judged, cached=cached)

    async def _judge_all(
        self, cell: Cell, specs: Sequence[AssertionSpec], output: str, context: CheckContext
    ) -> list[Judged]:
        if any(_asks_a_model(spec) for spec in specs):
            # Judges are models: ask them all at once.
            return list(
                await asyncio.gather(*(self._judge(cell, s, output, context) for s in specs))
            )
        # No model to wait for, no task per assertion (hot path).
        return [await self._judge(cell, spec, output, context) for spec in specs]

    async def _judge(
        self, cell: Cell, spec: AssertionSpec, output: str, context: CheckContext
    ) -> Judged:
        if spec.transform is not None:  # promptfoo: this assertion sees the output transformed
            try:
                value = await apply_transforms(
                    self._user_code,
                    [("the assertion's", spec.transform)],
                    output if context.value is None else context.value,
                    cell.test.vars,
                    _transform_context(cell),
                )
            except TransformFailed as exc:
                return Judged(problem_verdict(spec, AssertionProblem(str(exc))))
            output = well_formed(output_text(value))
            context = replace(context, value=None if isinstance(value, str) else value)
        if spec.kind == ASSERT_SET:
            members = await self._judge_all(cell, spec.children, output, context)
            return Judged(_set_verdict(spec, [m.verdict for m in members]), None, tuple(members))
        if spec.grading is None:
            if spec.runs_user_code:
                return Judged(await evaluate_user_code(spec, output, context, self._user_code))
            return Judged(evaluate(spec, output, context))
        grader = self._graders.for_assertion(spec)
        verdict = await evaluate_graded(spec, output, context, grader)
        # An answer that could not be read is not worth keeping, in the cache or the run.
        await grader.settle(readable=not verdict.problem)
        return Judged(verdict, grader.result())


def _asks_a_model(spec: AssertionSpec) -> bool:
    return spec.grading is not None or any(_asks_a_model(child) for child in spec.children)


def _set_verdict(spec: AssertionSpec, members: list[Verdict]) -> Verdict:
    """promptfoo's assert-set: its members graded as a test's are, with the set's threshold."""
    outcome = grade(members, spec.threshold)
    return Verdict(
        spec.type,
        None,
        spec.weight,
        outcome.passed,
        outcome.score,
        outcome.reason or f"all {len(members)} assertions of the set passed",
        judge_unavailable=any(member.judge_unavailable for member in members),
        metric=spec.metric,
    )


def named_scores(assertions: Sequence[AssertionResult]) -> dict[str, float]:
    """promptfoo's namedScores of a cell: each metric's weighted mean of the scores tagged with
    it, an assert-set's members weighted by the set's weight too (assertionsResult.ts). A weight
    of 0 (reported, not counted) still gives its metric a score: promptfoo's metric-only use."""
    sums: dict[str, float] = {}
    weights: dict[str, float] = {}

    def walk(items: Sequence[AssertionResult], factor: float) -> None:
        for item in items:
            weight = (item.weight or 1.0) * factor
            if item.metric:
                sums[item.metric] = sums.get(item.metric, 0.0) + item.score * weight
                weights[item.metric] = weights.get(item.metric, 0.0) + weight
            walk(item.assertions, weight)

    walk(assertions, 1.0)
    return {name: sums[name] / weights[name] for name in sums if weights[name] > 0}


def _output_transforms(cell: Cell) -> list[tuple[str, PythonSource]]:
    """promptfoo's order: the provider's transform, then the test's."""
    chain = []
    if cell.provider.transform is not None:
        chain.append((f"provider `{cell.provider.label}`'s", cell.provider.transform))
    if cell.test.transform is not None:
        chain.append(("the test's", cell.test.transform))
    return chain


def _transform_context(cell: Cell) -> dict[str, Any]:
    return {
        "vars": dict(cell.test.vars),
        "prompt": cell.rendered_prompt or "",
        "provider": cell.provider.id,
        "metadata": dict(cell.test.metadata),
    }


def _with_verdicts(
    cell: Cell,
    model_input: dict[str, Any],
    response: ProviderResponse,
    judged: Sequence[Judged],
    *,
    cached: bool,
) -> CellResult:
    outcome = grade([item.verdict for item in judged], cell.test.threshold)
    results = [assertion_result(item.verdict, item.grader, item.members) for item in judged]
    unjudged = [
        f"{j.verdict.type}: {j.verdict.reason}" for j in judged if j.verdict.judge_unavailable
    ]
    return cell_result(
        cell,
        status="error" if unjudged else "passed" if outcome.passed else "failed",
        error="; ".join(unjudged) or None,
        model_input=model_input,
        output=response.output,
        images=list(response.images),
        score=outcome.score,
        reason=outcome.reason,
        assertions=results,
        named_scores=named_scores(results),
        latency_ms=round(response.latency_ms, 1),
        prediction_id=response.prediction_id,
        metrics=dict(response.metrics),
        cached=cached,
    )


def assertion_result(
    verdict: Verdict, grader: GraderResult | None = None, members: Sequence[Judged] = ()
) -> AssertionResult:
    return AssertionResult(
        type=verdict.type,
        value=verdict.value,
        weight=verdict.weight,
        passed=verdict.passed,
        score=verdict.score,
        reason=verdict.reason,
        grader=grader,
        metric=verdict.metric,
        assertions=[assertion_result(m.verdict, m.grader, m.members) for m in members],
    )


def cell_result(
    cell: Cell, *, status: CellStatus, model_input: dict[str, Any] | None = None, **fields: Any
) -> CellResult:
    if isinstance(fields.get("error"), str):
        fields["error"] = well_formed(fields["error"])  # a model's error message, say
    return CellResult(
        repeat=cell.repeat,
        test_index=cell.test.index,
        prompt_index=cell.prompt.index,
        provider_index=cell.provider.index,
        test_description=cell.test.description,
        prompt_label=cell.prompt.label,
        provider_id=cell.provider.id,
        provider_label=cell.provider.label,
        vars=dict(cell.test.vars),
        rendered_prompt=cell.rendered_prompt,
        input=model_input,
        status=status,
        **fields,
    )
