"""What a diff of two runs says, as data: each test × prompt × provider's change, the pass rates,
and the warnings; the terminal view and the diff files (report/diff_*.py) render it.

A group's change:

    regression     it passed before and does not now (with repeats: its pass count dropped and
                   Fisher's exact test says chance is unlikely to explain the drop, p < 0.05;
                   with --min-pass in both runs: its verdict went from pass to fail)
    fixed          the reverse
    still_failing  it passed in neither run
    flaky          with repeats, it passed only some of the time and did not change
                   significantly either way (a drop chance may explain is flaky, not a regression)
    unchanged      it passed in both
    new, removed   only one run has it
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from replicate_eval.history.compared import ComparedRun
from replicate_eval.history.significance import PassCounts
from replicate_eval.results import CellStatus

Change = Literal["regression", "fixed", "still_failing", "flaky", "unchanged", "new", "removed"]
CHANGES: tuple[Change, ...] = (
    "regression",
    "fixed",
    "still_failing",
    "flaky",
    "new",
    "removed",
    "unchanged",
)
SCORE_STEP = 0.005  # smaller score changes are rounding, not change
ALPHA = 0.05


@dataclass(frozen=True)
class RunSummary:
    """Which run a side of the diff is."""

    run_id: str
    config_path: str
    description: str | None
    started_at: str
    commit: str | None
    passed: int
    cells: int
    min_pass: int | None = None  # --min-pass: how many of a test's runs must pass

    @classmethod
    def of(cls, result: ComparedRun) -> RunSummary:
        return cls(
            run_id=result.run_id,
            config_path=result.config_path,
            description=result.description,
            started_at=result.started_at,
            commit=result.git.commit if result.git else None,
            passed=result.totals.passed,
            cells=result.totals.cells,
            min_pass=result.min_pass,
        )


@dataclass(frozen=True)
class Side:
    """One run's results of a test × prompt × provider: all its repeats."""

    statuses: tuple[CellStatus, ...]
    score: float | None  # the mean of the runs' scores
    output: str | None  # the first run's
    reason: str | None  # why the first run that did not pass failed

    @property
    def passed(self) -> int:
        return self.statuses.count("passed")

    @property
    def runs(self) -> int:
        return len(self.statuses)

    @property
    def rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0

    @property
    def outcome(self) -> str:
        """``passed``, ``failed``, ``error``, or ``3/5 passed`` for repeats."""
        if self.runs == 1:
            return self.statuses[0]
        return f"{self.passed}/{self.runs} passed"


@dataclass(frozen=True)
class CellChange:
    test: str  # the test's title: its description, or its vars
    prompt: str
    provider: str
    change: Change
    base: Side | None
    new: Side | None
    p_value: float | None = None  # one-sided Fisher's exact test, for groups with repeats

    @property
    def output_changed(self) -> bool:
        return (
            self.base is not None
            and self.new is not None
            and self.base.output is not None
            and self.new.output is not None
            and self.base.output != self.new.output
        )

    @property
    def score_delta(self) -> float | None:
        if self.base is None or self.new is None:
            return None
        if self.base.score is None or self.new.score is None:
            return None
        delta = self.new.score - self.base.score
        return delta if abs(delta) >= SCORE_STEP else None


@dataclass(frozen=True)
class PassRate:
    """A prompt × provider's pass rate in each run (None: the run did not have it)."""

    prompt: str
    provider: str
    base: PassCounts | None
    new: PassCounts | None
    p_value: float | None  # two-sided Fisher's exact test of the change, when both ran


@dataclass(frozen=True)
class RunDiff:
    base: RunSummary
    new: RunSummary
    changes: list[CellChange]
    rates: list[PassRate]
    warnings: list[str] = field(default_factory=list)
    pairings: list[str] = field(default_factory=list)  # entries matched although renamed
    added_prompts: list[str] = field(default_factory=list)
    removed_prompts: list[str] = field(default_factory=list)
    added_providers: list[str] = field(default_factory=list)
    removed_providers: list[str] = field(default_factory=list)
    left_out: int = 0  # base cells of tests the new run's filter or shard did not choose
    not_run: int = 0  # base cells an interrupted new run did not get to

    def of(self, change: Change) -> list[CellChange]:
        return [cell for cell in self.changes if cell.change == change]

    @property
    def regressions(self) -> list[CellChange]:
        return self.of("regression")

    @property
    def new_failing(self) -> list[CellChange]:
        """Tests new since the base run that do not pass (by --min-pass, if the run had it):
        no baseline excuses them."""
        needed = self.new.min_pass
        return [
            cell
            for cell in self.of("new")
            if cell.new is not None
            and cell.new.passed < (needed if needed is not None else cell.new.runs)
        ]

    @property
    def blocking(self) -> list[CellChange]:
        """What fails ``--fail-on regression``: the regressions and the new tests failing."""
        return [*self.regressions, *self.new_failing]

    @property
    def counts(self) -> dict[Change, int]:
        counted = dict.fromkeys(CHANGES, 0)
        for cell in self.changes:
            counted[cell.change] += 1
        return counted

    @property
    def changed_outputs(self) -> list[CellChange]:
        return [cell for cell in self.changes if cell.output_changed]

    @property
    def score_changes(self) -> list[CellChange]:
        """Scores that moved while the verdict did not (a flip is listed as what it is)."""
        return [
            cell
            for cell in self.changes
            if cell.score_delta is not None and cell.change not in ("regression", "fixed")
        ]
