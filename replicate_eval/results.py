"""The results of a run: a versioned, documented shape that reports and scripts rely on.

``RunResult`` is what ``-o results.json`` writes. Bump ``SCHEMA_VERSION`` on any change that
removes or renames a field; adding a field does not need a bump.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from replicate_eval.media import SavedImage
from replicate_eval.stats import RunStats

SCHEMA_VERSION = 1

CellStatus = Literal["passed", "failed", "error"]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)


class GraderCallResult(_Model):
    """One answer a grader gave: a prediction, or a cached answer (no prediction made)."""

    prediction_id: str | None
    cached: bool
    latency_ms: float


class GraderResult(_Model):
    """The model that judged a model-graded assertion, and what it answered."""

    provider: str  # the grader's provider id
    origin: str  # where it was chosen: the assertion, the test, --grader, or the default
    calls: list[GraderCallResult] = Field(default_factory=list)
    answers: list[str] = Field(default_factory=list)  # raw answers (not embedding vectors)


class AssertionResult(_Model):
    type: str
    value: Any = None
    weight: float
    passed: bool = Field(alias="pass")
    score: float
    reason: str
    grader: GraderResult | None = None  # for model-graded assertions
    metric: str | None = None  # promptfoo's named metric it counts toward
    assertions: list[AssertionResult] = Field(default_factory=list)  # an assert-set's members


# An image a model made, saved in the run's output folder: the record providers return.
ImageResult = SavedImage


class CellResult(_Model):
    test_index: int
    prompt_index: int
    provider_index: int
    test_description: str | None
    prompt_label: str
    provider_id: str
    provider_label: str
    vars: dict[str, Any]
    rendered_prompt: str | None
    input: dict[str, Any] | None  # what was sent to the model
    status: CellStatus
    output: str | None = None  # for image models: the saved images' paths, one per line
    images: list[ImageResult] = Field(default_factory=list)
    score: float | None = None
    reason: str | None = None  # why the cell failed, in one line
    assertions: list[AssertionResult] = Field(default_factory=list)
    # promptfoo's namedScores: each named metric's weighted mean score in this cell.
    named_scores: dict[str, float] = Field(default_factory=dict)
    latency_ms: float | None = None
    prediction_id: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    cached: bool = False  # the output came from the response cache: no prediction was made
    repeat: int = 0  # which run of this test x prompt x provider (--repeat), from 0
    # The run this result was carried over from, unchanged (--only-failing, --resume); None:
    # it ran in this run.
    carried_from: str | None = None


class PromptInfo(_Model):
    index: int
    label: str
    template: str


class ProviderInfo(_Model):
    index: int
    id: str
    label: str
    # The model version the run used: the id's own, or the current one, resolved once at the
    # start of the run for an id without one; None where there is none (a deployment, a local
    # model) or it could not be found out.
    version: str | None = None


class GitInfo(_Model):
    """The repository the config is in, when it is in one: which code the run evaluated."""

    commit: str
    branch: str | None = None  # None: a detached HEAD outside CI
    dirty: bool = False  # uncommitted changes to tracked files


class TestInfo(_Model):
    index: int
    description: str | None
    vars: dict[str, Any]
    metadata: dict[str, Any] = Field(default_factory=dict)  # the test's `metadata`, as written


class MetricTotals(_Model):
    """promptfoo's named metrics of one prompt x provider, over its graded cells."""

    prompt_index: int
    provider_index: int
    cells: int  # graded cells (errors have no scores): `__count` in derived metrics
    sums: dict[str, float]  # each named metric's scores added up (what derived metrics read)
    means: dict[str, float]  # and their mean over the cells that have it (what tables show)
    derived: dict[str, float | None] = Field(default_factory=dict)  # None: no value (x / 0)


class DerivedMetricInfo(_Model):
    name: str
    value: str  # the expression, as written


class Totals(_Model):
    cells: int  # cells that finished
    passed: int
    failed: int
    errors: int
    predictions: int  # predictions made: on Replicate and on local Cog servers
    wall_time_s: float
    planned: int = 0  # cells in the plan; more than `cells` when the run was interrupted
    cached: int = 0  # cells answered from the response cache
    carried: int = 0  # cells carried over from an earlier run, not run again
    polls: int = 0  # status requests for predictions still running after the wait
    throttled: int = 0  # 429 answers to creation requests (retried, not failures)
    # Model-graded assertions' grader calls, apart from the models under test's predictions.
    grader_predictions: int = 0  # predictions the graders made
    grader_cached: int = 0  # grader answers found in the cache (or already asked in this run)
    grader_time_s: float = 0.0  # time the graders' predictions took, added up
    # Create requests whose fate was unknown (a reset, a read timeout, a 502/504 after sending,
    # an interruption): each may have started a prediction reval had no id for. The ones in
    # none of the three counts below were found at the end already finished (paid, not used).
    ambiguous_creates: int = 0
    ambiguous_followed: int = 0  # its prediction was found in the list and used: paid once
    ambiguous_canceled: int = 0  # its prediction was found running at the end and canceled
    # No prediction found for it: none started, or one reval could not see (it may have run).
    ambiguous_unaccounted: int = 0
    # --min-pass (min_pass.py): the tests x prompts x providers planned, and how many of them
    # passed at least `min_pass` of their runs. None without --min-pass.
    groups: int | None = None
    groups_passed: int | None = None

    @property
    def pass_rate(self) -> float:
        """Passed cells over the cells that ran (an interrupted run's rate is of what it saw;
        its exit code says it is incomplete). No cell ran: 0, never a pass."""
        return self.passed / self.cells if self.cells else 0.0


class RunResult(_Model):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    reval_version: str
    config_path: str
    description: str | None
    started_at: str  # ISO 8601, UTC
    finished_at: str
    complete: bool  # False when the run was interrupted before every cell ran
    output_dir: str | None = None  # where images were saved; None when there were none
    repeat: int = 1  # runs of every cell (--repeat)
    min_pass: int | None = None  # --min-pass: runs of `repeat` a test must pass (min_pass.py)
    shard: str | None = None  # "I/N" for a shard's results (--shard); None for all tests
    # Only some of the config's tests ran (--filter-pattern, --filter-first-n, --shard): a
    # diff leaves the others out rather than calling them removed.
    selected: bool = False
    config_sha256: str | None = None  # of the config file's bytes: `reval merge` compares it
    git: GitInfo | None = None  # the config's repository; None outside one
    prompts: list[PromptInfo]
    providers: list[ProviderInfo]
    tests: list[TestInfo]
    cells: list[CellResult]
    totals: Totals
    # promptfoo's named metrics per prompt x provider, and the derivedMetrics that made them.
    named_metrics: list[MetricTotals] = Field(default_factory=list)
    derived_metrics: list[DerivedMetricInfo] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)  # the config's (promptfoo's key)

    @property
    def image_count(self) -> int:
        return sum(len(cell.images) for cell in self.cells)

    def to_json(self) -> str:
        return "".join(self.json_chunks())

    def json_chunks(self) -> Iterator[str]:
        """The results file's text (indented JSON) in pieces, one per cell, so that writing a
        large run never holds it whole."""
        head = self.model_copy(update={"cells": []}).model_dump_json(indent=2, by_alias=True)
        # JSON strings hold no raw newline: this line can only be the top-level key.
        before, after = head.split(_EMPTY_CELLS_LINE)
        if not self.cells:
            yield head + "\n"
            return
        yield before + '\n  "cells": ['
        for number, cell in enumerate(self.cells):
            text = cell.model_dump_json(indent=2, by_alias=True).replace("\n", _CELL_INDENT)
            yield ("," if number else "") + _CELL_INDENT + text
        yield "\n  ]" + after + "\n"


_EMPTY_CELLS_LINE = '\n  "cells": []'
_CELL_INDENT = "\n    "


class Positioned(Protocol):
    """A cell as any stage reads its place: a whole result, or the part a diff reads."""

    @property
    def test_index(self) -> int: ...
    @property
    def prompt_index(self) -> int: ...
    @property
    def provider_index(self) -> int: ...
    @property
    def repeat(self) -> int: ...


Cell = TypeVar("Cell", bound=Positioned)
GroupKey = tuple[int, int, int]  # test, prompt, provider index


def runs_by_position(cells: Iterable[Cell]) -> dict[GroupKey, list[Cell]]:
    """Each test x prompt x provider's runs, in --repeat order."""
    runs: dict[GroupKey, list[Cell]] = {}
    for cell in sorted(cells, key=lambda c: c.repeat):
        runs.setdefault((cell.test_index, cell.prompt_index, cell.provider_index), []).append(cell)
    return runs


def count(
    cells: list[CellResult], *, planned: int, wall_time_s: float, stats: RunStats | None = None
) -> Totals:
    """The totals of a run: what the cells say, and the counters the run kept in ``stats``."""
    counters = (stats or RunStats()).as_dict()
    counters["grader_time_s"] = round(counters["grader_time_s"], 3)
    statuses = [cell.status for cell in cells]
    return Totals(
        cells=len(cells),
        passed=statuses.count("passed"),
        failed=statuses.count("failed"),
        errors=statuses.count("error"),
        wall_time_s=round(wall_time_s, 3),
        planned=planned,
        # Answered from the cache in this run: a carried-over cell's flag is its first run's.
        cached=sum(cell.cached and cell.carried_from is None for cell in cells),
        carried=sum(cell.carried_from is not None for cell in cells),
        **counters,
    )


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a pass rate: honest at 0/n, n/n and small n."""
    if trials == 0:
        return 0.0, 1.0
    rate = successes / trials
    denominator = 1 + z * z / trials
    centre = (rate + z * z / (2 * trials)) / denominator
    spread = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials))
    return max(0.0, centre - spread / denominator), min(1.0, centre + spread / denominator)
