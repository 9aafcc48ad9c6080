"""One run-statistics object: every counter a run reports is kept in it and merged with it."""

from __future__ import annotations

import asyncio
from dataclasses import fields
from pathlib import Path
from typing import Any

from replicate_eval.providers.cog.server import CogServers
from replicate_eval.providers.replicate.limits import CreationPacer, PollBudget
from replicate_eval.providers.replicate.session import ReplicateSession
from replicate_eval.report.merge import merge_results
from replicate_eval.results import RunResult, Totals, count
from replicate_eval.stats import RunStats

COUNTERS = [f.name for f in fields(RunStats)]
# The totals that are not run counters, and why merge does not simply add them.
NOT_COUNTERS = {
    "cells": "counted from the cells",
    "passed": "counted from the cells",
    "failed": "counted from the cells",
    "errors": "counted from the cells",
    "cached": "counted from the cells",
    "carried": "counted from the cells (carried_from)",
    "planned": "the plan's size, added up by merge",
    "wall_time_s": "shards run side by side: merge keeps the longest",
    "groups": "--min-pass: the plan's tests x prompts x providers, counted again by merge",
    "groups_passed": "--min-pass: counted from the cells (min_pass.py), again by merge",
}


def test_every_total_is_a_run_counter_or_named_here() -> None:
    """A new field of Totals must be a RunStats field (then merge adds it) or listed above."""
    totals = set(Totals.model_fields)
    assert totals - set(COUNTERS) == set(NOT_COUNTERS)
    assert set(COUNTERS) <= totals


def _shard(number: int, counters: dict[str, Any]) -> RunResult:
    return RunResult.model_validate(
        {
            "run_id": f"r{number}",
            "reval_version": "0",
            "config_path": "c.yaml",
            "description": None,
            "started_at": "2026-01-01T00:00:00",
            "finished_at": "2026-01-01T00:00:01",
            "complete": True,
            "shard": f"{number}/2",
            "prompts": [],
            "providers": [],
            "tests": [{"index": number, "description": None, "vars": {}}],
            "cells": [],
            "totals": {
                "cells": 0,
                "passed": 0,
                "failed": 0,
                "errors": 0,
                "wall_time_s": float(number),
                **counters,
            },
        }
    )


def test_merge_adds_up_every_counter_a_run_reports() -> None:
    first = {name: i + 1 for i, name in enumerate(COUNTERS)}
    second = {name: 100 * (i + 1) for i, name in enumerate(COUNTERS)}
    merged = merge_results(
        [(Path("a.json"), _shard(1, first)), (Path("b.json"), _shard(2, second))]
    )
    for name in COUNTERS:
        assert getattr(merged.totals, name) == first[name] + second[name], name
    assert merged.totals.wall_time_s == 2.0


def test_count_reports_every_counter_of_the_run() -> None:
    stats = RunStats(**{name: i + 1 for i, name in enumerate(COUNTERS)})
    totals = count([], planned=3, wall_time_s=1.0, stats=stats)
    assert RunStats.of(totals) == stats
    assert count([], planned=0, wall_time_s=0.0).predictions == 0  # no stats: all zero


def test_stats_add_up_field_by_field() -> None:
    one = RunStats(predictions=1, grader_time_s=0.5)
    two = RunStats(predictions=2, polls=4, grader_time_s=0.25)
    assert one + two == RunStats(predictions=3, polls=4, grader_time_s=0.75)
    assert RunStats.combined([one, two, RunStats()]) == one + two
    assert RunStats.combined([]) == RunStats()


def test_the_pieces_of_a_run_count_into_the_one_object_they_are_given() -> None:
    stats = RunStats()
    pacer = CreationPacer(clock=lambda: 0.0, stats=stats)
    pacer.throttled_for(1.0)
    budget = PollBudget(rate=1000, stats=stats)
    asyncio.run(budget.acquire())
    session = ReplicateSession(max_connections=1, stats=stats)
    assert session.stats is stats and session.polls is not budget
    asyncio.run(session.polls.acquire())
    assert CogServers(stats=stats).stats is stats
    assert (stats.throttled, stats.polls) == (1, 2)
