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
    (a percentage); otherwise 100. Nothing evaluated is not a pass (an empty shard may be)."""
    if not result.complete:
        return ExitCode.INTERRUPTED
    totals = result.totals
    if totals.cells == 0 and result.shard is None:
        return ExitCode.FAILURES
    if fail_under is not None:
        # Compare in whole cells: 2 of 3 passed is at 66.66...%, not below 66.67 by rounding.
        needed = fail_under / 100 * totals.planned
        return ExitCode.OK if totals.passed >= needed - 1e-9 else ExitCode.FAILURES
    return ExitCode.OK if totals.passed == totals.planned else ExitCode.FAILURES
