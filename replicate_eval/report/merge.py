"""Shard results (``--shard I/N`` runs) combined into one result, as if run at once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from replicate_eval.errors import UsageError
from replicate_eval.min_pass import with_min_pass
from replicate_eval.named_metrics import derived_from_results, metric_totals
from replicate_eval.results import RunResult, count
from replicate_eval.stats import RunStats


def merge_results(parts: Sequence[tuple[Path, RunResult]]) -> RunResult:
    """One result from several of the same config; refuses other configs and overlaps."""
    if not parts:
        raise UsageError("reval merge needs at least one results file")
    (first_path, first), *rest = parts
    _check_shards(parts)
    seen = {test.index: first_path for test in first.tests}
    for path, part in rest:
        if _identity(part) != _identity(first):
            raise UsageError(
                f"{path} and {first_path} come from different configs "
                "(their prompts, providers or description differ); reval merges shards of one"
            )
        for test in part.tests:
            if test.index in seen:
                raise UsageError(
                    f"test {test.index + 1} is in both {seen[test.index]} and {path}: "
                    "merge the results of different shards"
                )
            seen[test.index] = path
    for path, part in rest:
        if part.min_pass != first.min_pass:  # one gate for the merged run, as if run at once
            raise UsageError(
                f"{path} was run with {_min_pass_option(part)} and {first_path} with "
                f"{_min_pass_option(first)}: merge shards run with the same --min-pass"
            )
    results = [part for _, part in parts]
    tests = sorted((t for r in results for t in r.tests), key=lambda t: t.index)
    cells = sorted(
        (c for r in results for c in r.cells),
        key=lambda c: (c.test_index, c.prompt_index, c.provider_index, c.repeat),
    )
    totals = count(
        cells,
        planned=sum(r.totals.planned for r in results),
        # Shards run side by side in CI: the merged run took as long as the longest.
        wall_time_s=max(r.totals.wall_time_s for r in results),
        stats=RunStats.combined(RunStats.of(r.totals) for r in results),
    )
    merged = first.model_copy(
        update={
            "run_id": "merged-" + "+".join(r.run_id for r in results),
            "started_at": min(r.started_at for r in results),
            "finished_at": max(r.finished_at for r in results),
            "complete": all(r.complete for r in results),
            "shard": None,
            "selected": False,  # every shard together: the whole config
            "output_dir": None,
            "tests": tests,
            "cells": cells,
            "totals": totals,
            # The shards' named metrics, counted again over all their cells.
            "named_metrics": metric_totals(cells, derived_from_results(first.derived_metrics)),
        }
    )
    return with_min_pass(merged, first.min_pass)  # the tests' verdicts, over every shard


def _min_pass_option(result: RunResult) -> str:
    return "no --min-pass" if result.min_pass is None else f"--min-pass {result.min_pass}"


def _check_shards(parts: Sequence[tuple[Path, RunResult]]) -> None:
    """Shards of one split, all of them: a missing shard would pass as a smaller run."""
    shards = [part.shard for _, part in parts]
    if all(shard is None for shard in shards):
        return
    if any(shard is None for shard in shards):
        raise UsageError("reval merge combines `--shard I/N` results; some files are not shards")
    counts = {str(shard).split("/")[1] for shard in shards}
    if len(counts) != 1:
        raise UsageError(f"the files are shards of different splits ({', '.join(sorted(counts))})")
    total = int(counts.pop())
    present = {int(str(shard).split("/")[0]) for shard in shards}
    missing = sorted(set(range(1, total + 1)) - present)
    if missing:
        listed = ", ".join(f"{n}/{total}" for n in missing)
        raise UsageError(f"shard(s) {listed} missing: merge every shard of the split")


def _identity(result: RunResult) -> tuple[object, ...]:
    return (
        result.config_sha256,
        result.description,
        [(p.label, p.template) for p in result.prompts],
        [(p.id, p.label) for p in result.providers],
        result.repeat,
    )
