"""A run as ``reval diff`` reads it: the fields a comparison needs, and nothing else.

A results file holds every cell's input, assertions, metrics and images; a diff reads only
statuses, scores, outputs and reasons. Reading a stored run or a results file into this model
(pydantic ignores the rest as it parses) takes a third of the time a whole ``RunResult`` does,
which is most of what a diff of two 10,000-cell runs costs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from replicate_eval.results import CellStatus, GitInfo, PromptInfo, ProviderInfo, TestInfo


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, from_attributes=True)


class ComparedTotals(_Read):
    cells: int
    passed: int
    planned: int = 0


class ComparedCell(_Read):
    test_index: int
    prompt_index: int
    provider_index: int
    repeat: int = 0
    status: CellStatus
    score: float | None = None
    output: str | None = None
    reason: str | None = None
    error: str | None = None


class ComparedRun(_Read):
    schema_version: int = 1
    run_id: str
    config_path: str
    config_sha256: str | None = None
    description: str | None
    started_at: str
    complete: bool
    repeat: int = 1
    min_pass: int | None = None
    shard: str | None = None
    selected: bool = False
    git: GitInfo | None = None
    prompts: list[PromptInfo]
    providers: list[ProviderInfo]
    tests: list[TestInfo]
    cells: list[ComparedCell]
    totals: ComparedTotals


def compared(result: BaseModel) -> ComparedRun:
    """A ``RunResult`` already in memory (``reval run --baseline``'s own run), as compared."""
    return ComparedRun.model_validate(result, from_attributes=True)
