"""Running part of an earlier run again: its failures (``--only-failing``), its errors
(``--only-errors``), or what an interruption left out (``--resume``).

The earlier run's cells are matched to this config's plan exactly (the same test, prompt label
and provider label; ``history.identity``): a cell that matches and is not to be re-run is
carried over as it was, re-indexed to this config and marked with the run it came from. A plan
cell the earlier run does not have (a test added since, a cell an interruption skipped) is run.
So the result is always complete: every cell of the plan, run now or carried over.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol, TypeVar

from replicate_eval.errors import UsageError
from replicate_eval.history.identity import (
    Matching,
    TestIdentity,
    match_labels,
    match_tests,
    reindexed,
)
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

    def __post_init__(self) -> None:
        if self.rerun not in _RUN_AGAIN:
            raise UsageError(
                f"CarryOver: rerun={self.rerun!r} is not one of {', '.join(map(repr, _RUN_AGAIN))}"
            )
        if not isinstance(self.source, RunResult):
            raise UsageError(
                "CarryOver: source must be a RunResult (reval.read_results(path), "
                f"RunStore.load(run_id)), not {type(self.source).__name__}"
            )


@dataclass(frozen=True)
class Split:
    to_run: Plan
    carried: list[tuple[int, CellResult]]  # (position in the full plan, the earlier result)
    plan: Plan  # the full plan, for the order of the combined cells
    notes: list[str]  # what the user should know about what was carried over


def split_plan(plan: Plan, carry: CarryOver, *, config_sha256: str | None) -> Split:
    """Which of ``plan``'s cells run and which are carried over from ``carry.source``.

    Only the very same cell is carried: the same test (description and vars), the same prompt
    (label and template), the same provider (label and id), the same run of a --repeat.
    Raises UsageError when --resume would not finish REF as it was run."""
    source, earlier = plan.config, carry.source
    repeat = max((cell.repeat for cell in plan.cells), default=0) + 1
    if carry.rerun == "missing" and plan.cells and earlier.repeat != repeat:
        raise UsageError(
            f"--resume {earlier.run_id}: that run ran each cell {earlier.repeat} time(s), this "
            f"one {repeat}; add --repeat {earlier.repeat} to finish it as it was run"
        )
    tests = reindexed(
        match_tests(
            [TestIdentity(t.description, t.vars) for t in earlier.tests],
            [TestIdentity(t.description, t.vars) for t in source.tests],
            exact=True,
        ),
        [t.index for t in earlier.tests],
        [t.index for t in source.tests],
    )
    prompts = _same(earlier.prompts, source.prompts, lambda p: f"{p.label}\0{p.template}")
    providers = _same(earlier.providers, source.providers, lambda p: f"{p.label}\0{p.id}")
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
    notes = []
    if carried and config_sha256 and earlier.config_sha256 not in (None, config_sha256):
        notes.append(
            f"the config changed since run {earlier.run_id}: the {len(carried)} cells carried "
            "over were judged by its assertions as they were then"
        )
    keys = Counter(TestIdentity(t.description, t.vars).key for t in source.tests)
    if carried and any(count > 1 for count in keys.values()):
        notes.append(
            "some tests are written more than once (the same description and vars): their "
            "earlier results are carried over in the order the tests are written"
        )
    if not carried and earlier.cells and earlier.config_path != str(source.path):
        notes.append(
            f"run {earlier.run_id} is of another config ({earlier.config_path}) and has no cell "
            "of this one: every cell runs"
        )
    if carry.rerun != "missing" and earlier.repeat != repeat:
        notes.append(
            f"run {earlier.run_id} ran each cell {earlier.repeat} time(s), this one {repeat}: "
            "only the runs both have are carried over"
        )
    return Split(replace(plan, cells=tuple(to_run)), carried, plan, notes)


class _Indexed(Protocol):
    """A prompt or a provider, of the earlier run's results or of this config."""

    @property
    def index(self) -> int: ...
    @property
    def label(self) -> str: ...


Entry = TypeVar("Entry", bound=_Indexed)
Current = TypeVar("Current", bound=_Indexed)


def _same(
    earlier: Sequence[Entry], current: Sequence[Current], key: Callable[[Entry | Current], str]
) -> Matching:
    """The entries that are the same in both (equal keys), by their own indexes."""
    found = match_labels([key(e) for e in earlier], [key(c) for c in current], exact=True)
    return reindexed(found, [e.index for e in earlier], [c.index for c in current])


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
    from replicate_eval.results import count
    from replicate_eval.stats import RunStats

    cells = combine(split, result.cells)
    totals = count(
        cells,
        planned=len(split.plan.cells),
        wall_time_s=result.totals.wall_time_s,
        stats=RunStats.of(result.totals),
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
