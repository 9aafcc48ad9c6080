"""The exit-code rule: what a finished (or interrupted) run means for a CI step.

Light on purpose (no pydantic import at module level): ``reval --version`` imports it.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from replicate_eval.results import RunResult


class ExitCode(IntEnum):
    OK = 0  # every test passed
    INTERNAL = 1  # a bug in reval
    USAGE = 2  # the config, an option, or the environment is wrong; nothing was run
    FAILURES = 100  # the run finished and at least one cell failed or errored
    INTERRUPTED = 130  # Ctrl-C: the results so far were written, marked incomplete


def exit_code(result: RunResult, fail_under: float | None = None) -> ExitCode:
    """130 interrupted; 0 when every cell passed, or the pass rate reaches ``fail_under``
    (a percentage); otherwise 100. Nothing evaluated is not a pass (an empty shard may be).

    With ``--min-pass`` the unit is a test x prompt x provider instead of a cell: it passed when
    at least K of its runs did (min_pass.py), and ``fail_under`` is the share of those."""
    if not result.complete:
        return ExitCode.INTERRUPTED
    totals = result.totals
    if totals.cells == 0 and result.shard is None:
        return ExitCode.FAILURES
    passed, planned = totals.passed, totals.planned
    if result.min_pass is not None and totals.groups is not None:
        passed, planned = totals.groups_passed or 0, totals.groups
    if fail_under is not None:
        # Compare in whole cells: 2 of 3 passed is at 66.66...%, not below 66.67 by rounding.
        needed = fail_under / 100 * planned
        return ExitCode.OK if passed >= needed - 1e-9 else ExitCode.FAILURES
    return ExitCode.OK if passed == planned else ExitCode.FAILURES
