"""promptfoo's comparative assertions (`select-best`, `max-score`), run once every output of a
test is in: the outputs of its prompts x providers, each run of ``--repeat`` apart.

The runner holds back the cells of such a test until the last one finishes, then this module
adds the comparative verdicts to each graded cell and grades it again. A cell that errored takes
no part. When the run is interrupted before a test's outputs are all in, its comparative
assertions cannot judge: they fail saying so, and no grader is asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from replicate_eval.assertions import AssertionSpec
from replicate_eval.assertions.base import AssertionProblem
from replicate_eval.assertions.comparative import MaxScore
from replicate_eval.assertions.registry import Verdict, grade, problem_verdict
from replicate_eval.grading import assertion_result, named_scores
from replicate_eval.judging.calls import Graders
from replicate_eval.judging.select_best import parse_choice, select_best_prompt
from replicate_eval.plan import Cell, Plan
from replicate_eval.results import AssertionResult, CellResult, GraderResult

GroupKey = tuple[int, int]  # (test index, repeat)


@dataclass
class _Group:
    size: int
    done: list[tuple[Cell, CellResult]] = field(default_factory=list)


class Comparisons:
    """The tests of a plan with comparative assertions, and their finished cells so far."""

    def __init__(self, plan: Plan, graders: Graders) -> None:
        self._graders = graders
        self._groups: dict[GroupKey, _Group] = {}
        for cell in plan.cells:
            if any(spec.comparative for spec in cell.assertions):
                key = (cell.test.index, cell.repeat)
                self._groups.setdefault(key, _Group(0)).size += 1

    def waits(self, cell: Cell) -> bool:
        return (cell.test.index, cell.repeat) in self._groups

    def add(self, cell: Cell, result: CellResult) -> list[tuple[Cell, CellResult]] | None:
        """The test's cells once this one completes them; None while others are to come."""
        group = self._groups[(cell.test.index, cell.repeat)]
        group.done.append((cell, result))
        return group.done if len(group.done) == group.size else None

    def unfinished(self) -> list[list[tuple[Cell, CellResult]]]:
        """The groups an interrupted run left with some cells in, none out."""
        return [g.done for g in self._groups.values() if g.done and len(g.done) < g.size]

    async def settle(
        self, group: Sequence[tuple[Cell, CellResult]], *, complete: bool
    ) -> list[CellResult]:
        """Each cell of ``group`` with its comparative verdicts, graded again (in ``group``'s
        order)."""
        # In the plan's order, whatever order they finished in: a tie goes to the first, and
        # the grader is asked the same question (a cached answer) every time.
        graded = sorted(
            ((cell, result) for cell, result in group if result.status != "error"),
            key=lambda pair: (pair[1].prompt_index, pair[1].provider_index),
        )
        cell = group[0][0]
        verdicts: dict[int, list[AssertionResult]] = {id(r): [] for _, r in graded}
        for spec in (s for s in cell.assertions if s.comparative):
            for (_, result), verdict in zip(
                graded, await self._compare(spec, graded, complete), strict=True
            ):
                verdicts[id(result)].append(verdict)
        changed = {id(result): _regraded(c, result, verdicts[id(result)]) for c, result in graded}
        return [changed.get(id(result), result) for _, result in group]

    async def _compare(
        self, spec: AssertionSpec, graded: Sequence[tuple[Cell, CellResult]], complete: bool
    ) -> list[AssertionResult]:
        if not graded:
            return []
        if not complete:
            problem = AssertionProblem(
                "the run was interrupted before every output of this test was in"
            )
            return [assertion_result(problem_verdict(spec, problem)) for _ in graded]
        results = [result for _, result in graded]
        if isinstance(spec.prepared, MaxScore):
            return _max_score(spec, spec.prepared, results)
        return await self._select_best(spec, graded)

    async def _select_best(
        self, spec: AssertionSpec, graded: Sequence[tuple[Cell, CellResult]]
    ) -> list[AssertionResult]:
        outputs = [result.output or "" for _, result in graded]
        grader = self._graders.for_assertion(spec)
        try:
            prompt = select_best_prompt(spec, outputs, graded[0][0].test.vars)
            chosen = parse_choice(await grader.ask(prompt), len(outputs))
        except AssertionProblem as problem:
            await grader.settle(readable=False)
            failed = problem_verdict(spec, problem)
            return [assertion_result(failed, grader.result()) for _ in graded]
        await grader.settle(readable=True)
        judged = grader.result()
        return [
            _pick(spec, number == chosen, _name(graded[chosen][1]), len(outputs), judged)
            for number in range(len(outputs))
        ]


def _max_score(
    spec: AssertionSpec, settings: MaxScore, results: Sequence[CellResult]
) -> list[AssertionResult]:
    scores = [_aggregate(settings, result.assertions) for result in results]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))  # the first on a tie
    reached = settings.threshold is None or scores[best] >= settings.threshold
    shown = ", ".join(f"{_name(r)} {s:.3g}" for r, s in zip(results, scores, strict=True))
    picked: list[AssertionResult] = []
    for number in range(len(results)):
        won = reached and number == best
        if won:
            reason = f"the highest score of {len(results)} outputs ({shown})"
        elif not reached:
            reason = f"no output reached the threshold {settings.threshold:g} ({shown})"
        else:
            reason = f"{_name(results[best])} scored higher ({shown})"
        verdict = Verdict(spec.type, spec.value, spec.weight, won, 1.0 if won else 0.0, reason)
        picked.append(assertion_result(_tagged(verdict, spec)))
    return picked


def _aggregate(settings: MaxScore, assertions: Sequence[AssertionResult]) -> float:
    weighted = [(settings.weights.get(a.type, 1.0), a.score) for a in assertions]
    total = sum(weight * score for weight, score in weighted)
    if settings.method == "sum":
        return total
    weights = sum(weight for weight, _ in weighted)
    return total / weights if weights else 0.0


def _pick(
    spec: AssertionSpec, won: bool, winner: str, count: int, grader: GraderResult
) -> AssertionResult:
    reason = (
        f"the grader chose this output as the best of {count}"
        if won
        else f"the grader chose {winner} as the best of {count}"
    )
    verdict = Verdict(spec.type, spec.value, spec.weight, won, 1.0 if won else 0.0, reason)
    return assertion_result(_tagged(verdict, spec), grader)


def _tagged(verdict: Verdict, spec: AssertionSpec) -> Verdict:
    return Verdict(
        verdict.type,
        verdict.value,
        verdict.weight,
        verdict.passed,
        verdict.score,
        verdict.reason,
        metric=spec.metric,
    )


def _name(result: CellResult) -> str:
    return f"the output of `{result.prompt_label}` x `{result.provider_label}`"


def _regraded(cell: Cell, result: CellResult, added: list[AssertionResult]) -> CellResult:
    """``result`` with the comparative verdicts in their places among its assertions."""
    own = iter(result.assertions)
    comparative = iter(added)
    assertions = [next(comparative if s.comparative else own) for s in cell.assertions]
    verdicts = [
        Verdict(a.type, a.value, a.weight, a.passed, a.score, a.reason, metric=a.metric)
        for a in assertions
    ]
    outcome = grade(verdicts, cell.test.threshold)
    return result.model_copy(
        update={
            "assertions": assertions,
            "status": "passed" if outcome.passed else "failed",
            "score": outcome.score,
            "reason": outcome.reason,
            "named_scores": named_scores(assertions),
        }
    )
