"""``--min-pass K``: with ``--repeat N``, a test passes when at least K of its N runs passed.

A "test" here is one test x prompt x provider: the runs of one table cell. promptfoo-action's
`repeat-min-pass` groups the same way (promptfoo/promptfoo-action, src/utils/thresholds.ts,
``buildGroupKey``: the test, the prompt index and the provider id) and passes a group when its
successes reach the minimum. An errored run is a run that did not pass.

The verdicts live here, once; the results carry their counts (``Totals.groups``), which the
exit code, the tables and the CI files read. Light on purpose (no pydantic import): the exit
code's module imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from replicate_eval.errors import UsageError

if TYPE_CHECKING:
    from replicate_eval.results import CellResult, GroupKey, RunResult


@dataclass(frozen=True)
class Verdict:
    """One test x prompt x provider's runs, held against ``--min-pass``."""

    passed: int  # runs that passed
    ran: int  # runs that finished (fewer than ``runs`` when the run was interrupted)
    runs: int  # runs planned (--repeat)
    needed: int  # --min-pass

    @property
    def ok(self) -> bool:
        return self.passed >= self.needed

    @property
    def undecided(self) -> bool:
        """Not passed yet, but the runs an interruption left out could still make it pass."""
        return not self.ok and self.passed + self.runs - self.ran >= self.needed

    @property
    def badge(self) -> str:
        return "PASS" if self.ok else "FAIL"

    def describe(self) -> str:
        """``2/3 runs passed, min 2``: why a flaky test counts as passed (or not)."""
        return f"{self.passed}/{self.ran} runs passed, min {self.needed}"


def check_min_pass(min_pass: int | None, repeat: int, *, repeat_from: str | None = None) -> None:
    """Refuse a K no test can reach before any prediction is made (promptfoo-action refuses it
    too: "repeat-min-pass cannot exceed repeat"). ``repeat_from`` says where N was set."""
    if min_pass is None:
        return
    if min_pass < 1:
        raise UsageError(f"--min-pass {min_pass}: give at least 1 (the runs a test must pass)")
    if min_pass > repeat:
        runs = "run" if repeat == 1 else "runs"
        raise UsageError(
            f"--min-pass {min_pass} is more than the {repeat} {runs} of each test "
            f"({repeat_from or f'--repeat {repeat}'}): lower --min-pass to at most {repeat} or "
            f"raise --repeat to {min_pass} or more"
        )


def verdict(runs: Iterable[CellResult], result: RunResult) -> Verdict | None:
    """The verdict on one test x prompt x provider's runs; None without ``--min-pass``."""
    if result.min_pass is None:
        return None
    statuses = [cell.status for cell in runs]
    return Verdict(
        passed=statuses.count("passed"),
        ran=len(statuses),
        runs=max(result.repeat, 1),
        needed=result.min_pass,
    )


def verdicts(result: RunResult) -> dict[GroupKey, Verdict]:
    """Every test x prompt x provider that ran, with its verdict; empty without ``--min-pass``."""
    if result.min_pass is None:
        return {}
    from replicate_eval.results import runs_by_position

    found = {key: verdict(cells, result) for key, cells in runs_by_position(result.cells).items()}
    return {key: judged for key, judged in found.items() if judged is not None}


def by_column(result: RunResult) -> dict[tuple[int, int], tuple[int, int]]:
    """Each (prompt, provider)'s tests that passed and tests judged; empty without --min-pass."""
    counts: dict[tuple[int, int], tuple[int, int]] = {}
    for (_, prompt, provider), found in verdicts(result).items():
        passed, judged = counts.get((prompt, provider), (0, 0))
        counts[(prompt, provider)] = (passed + found.ok, judged + 1)
    return counts


def with_min_pass(result: RunResult, min_pass: int | None) -> RunResult:
    """``result`` judged by ``min_pass``: the option recorded and the groups counted in its
    totals. Unchanged when ``min_pass`` is None."""
    if min_pass is None:
        return result
    check_min_pass(min_pass, result.repeat)
    judged = result.model_copy(update={"min_pass": min_pass})
    passed = sum(found.ok for found in verdicts(judged).values())
    # The plan holds every test x prompt x provider `repeat` times (plan.build_plan): planned
    # groups, not the ones that ran, so that an interrupted run is never a better one.
    groups = result.totals.planned // max(result.repeat, 1)
    totals = result.totals.model_copy(update={"groups": groups, "groups_passed": passed})
    return judged.model_copy(update={"totals": totals})


def groups_line(result: RunResult) -> str | None:
    """``1 of 2 tests passed at least 2 of 3 runs``: the totals line's count of tests."""
    totals = result.totals
    if result.min_pass is None or totals.groups is None:
        return None
    tests = "test" if totals.groups == 1 else "tests"
    runs = "run" if result.repeat == 1 else "runs"
    return (
        f"{totals.groups_passed or 0} of {totals.groups} {tests} passed at least "
        f"{result.min_pass} of {result.repeat} {runs}"
    )
