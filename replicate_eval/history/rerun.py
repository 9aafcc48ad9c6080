"""Running part of an earlier run again: its failures (``--only-failing``), its errors
(``--only-errors``), or what an interruption left out (``--resume``).

The earlier run's cells are matched to this config's plan exactly (the same test, prompt label
and provider label; ``history.identity``): a cell that matches and is not to be re-run is
carried over as it was, re-indexed to this config and marked with the run it came from. A plan
cell the earlier run does not have (a test added since, a cell an interruption skipped) is run.
So the result is always complete: every cell of the plan, run now or carried over.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from replicate_eval.history.identity import TestIdentity, match_labels, match_tests
from replicate_eval.plan import Cell, Plan
from replicate_eval.results import CellResult, CellStatus, RunResult

Rerun = Literal["failing", "errors", "missing"]
# Which earlier results are run again, besides the cells the earlier run lacks.
_RUN_AGAIN: dict[Rerun, frozenset[CellStatus]] = {
    "failing": frozenset({"failed", "error"}),
    "errors": frozenset({"error"}),
    "missing": frozenset(),
}
OPTION_NAMES: dict[Rerun, str] = {
    "failing": "--only-failing",
    "errors": "--only-errors",
    "missing": "--resume",
}


@dataclass(frozen=True)
class CarryOver:
    """An earlier run and which of its cells to run again."""

    source: RunResult
    rerun: Rerun


@dataclass(frozen=True)
class Split:
    to_run: Plan
    carried: list[tuple[int, CellResult]]  # (position in the full plan, the earlier result)
    plan: Plan  # the full plan, for the order of the combined cells


def split_plan(plan: Plan, carry: CarryOver) -> Split:
    source = plan.config
    earlier = carry.source
    tests = match_tests(
        [TestIdentity(t.description, t.vars) for t in earlier.tests],
        [TestIdentity(t.description, t.vars) for t in source.tests],
        exact=True,
    )
    prompts = match_labels(
        [p.label for p in earlier.prompts], [p.label for p in source.prompts], exact=True
    )
    providers = match_labels(
        [p.label for p in earlier.providers], [p.label for p in source.providers], exact=True
    )
    # The earlier cells, by this plan's (test, prompt, provider, repeat).
    found: dict[tuple[int, int, int, int], CellResult] = {}
    for old in earlier.cells:
        t = tests.pairs.get(old.test_index)
        p = prompts.pairs.get(old.prompt_index)
        v = providers.pairs.get(old.provider_index)
        if t is not None and p is not None and v is not None:
            found[t, p, v, old.repeat] = old
    again = _RUN_AGAIN[carry.rerun]
    to_run: list[Cell] = []
    carried: list[tuple[int, CellResult]] = []
    for position, cell in enumerate(plan.cells):
        before = found.get((cell.test.index, cell.prompt.index, cell.provider.index, cell.repeat))
        if before is None or before.status in again:
            to_run.append(cell)
            continue
        carried.append((position, _carried(before, cell, earlier.run_id)))
    return Split(replace(plan, cells=tuple(to_run)), carried, plan)


def combine(split: Split, ran: list[CellResult]) -> list[CellResult]:
    """The cells run now and those carried over, in the full plan's order."""
    positions = {
        (c.test.index, c.prompt.index, c.provider.index, c.repeat): n
        for n, c in enumerate(split.plan.cells)
    }
    placed = [(position, cell) for position, cell in split.carried]
    placed += [
        (positions[(c.test_index, c.prompt_index, c.provider_index, c.repeat)], c) for c in ran
    ]
    return [cell for _, cell in sorted(placed, key=lambda item: item[0])]


def _carried(before: CellResult, cell: Cell, run_id: str) -> CellResult:
    return before.model_copy(
        update={
            "test_index": cell.test.index,
            "prompt_index": cell.prompt.index,
            "provider_index": cell.provider.index,
            "prompt_label": cell.prompt.label,
            "provider_id": cell.provider.id,
            "provider_label": cell.provider.label,
            # Where it first ran, through any number of re-runs.
            "carried_from": before.carried_from or run_id,
        }
    )


def with_carried(result: RunResult, split: Split) -> RunResult:
    """The run of ``split.to_run``, completed with the cells carried over: its totals and
    named metrics counted again over every cell (the counters of calls stay this run's)."""
    from replicate_eval.named_metrics import metric_totals

    cells = combine(split, result.cells)
    statuses = [cell.status for cell in cells]
    totals = result.totals.model_copy(
        update={
            "cells": len(cells),
            "passed": statuses.count("passed"),
            "failed": statuses.count("failed"),
            "errors": statuses.count("error"),
            "planned": len(split.plan.cells),
            "cached": sum(cell.cached for cell in cells),
            "carried": len(split.carried),
        }
    )
    return result.model_copy(
        update={
            "cells": cells,
            "totals": totals,
            "named_metrics": metric_totals(cells, split.plan.config.derived_metrics),
        }
    )


def carried_notice(split: Split, carry: CarryOver) -> str:
    """What a re-run will do, said before it starts."""
    option = OPTION_NAMES[carry.rerun]
    return (
        f"{option} {carry.source.run_id}: running {len(split.to_run.cells)} of "
        f"{len(split.plan.cells)} cells; {len(split.carried)} carried over from that run"
    )
