"""Words and titles that the terminal table and the HTML report share."""

from __future__ import annotations

import re

from replicate_eval.clip import clip
from replicate_eval.min_pass import Verdict
from replicate_eval.results import CellResult, CellStatus, RunResult, wilson_interval

_VERSION_ID = re.compile(r"\b[0-9a-f]{64}\b")
_VERSION_SHOWN = 9  # a version id's first 8 characters and the ellipsis

# A cell's badge and its Rich style.
BADGES: dict[CellStatus, tuple[str, str]] = {
    "passed": ("PASS", "bold green"),
    "failed": ("FAIL", "bold red"),
    "error": ("ERROR", "bold yellow"),
}


def column_title(label: str) -> str:
    """64-hex version ids take five header lines; their first 8 characters identify them."""
    return _VERSION_ID.sub(lambda match: clip(match.group(0), _VERSION_SHOWN), label)


def test_title(description: str | None, variables: dict[str, object], index: int) -> str:
    """A test's description, or its vars when it has none."""
    if description:
        return description
    if not variables:
        return f"test {index + 1}"
    return ", ".join(f"{key}={value}" for key, value in variables.items())


def repeat_summary(
    runs: list[CellResult], verdict: Verdict | None = None
) -> tuple[CellResult, str]:
    """The run to show for a --repeat cell (an error, else a failure, else the first) and its
    pass rate with a 95% Wilson interval; with --min-pass, its verdict's reason first."""
    passed = sum(cell.status == "passed" for cell in runs)
    low, high = wilson_interval(passed, len(runs))
    shown = next((c for c in runs if c.status == "error"), None) or next(
        (c for c in runs if c.status == "failed"), runs[0]
    )
    interval = f"{passed / len(runs):.0%}, 95% CI {low:.0%}-{high:.0%}"
    if verdict is not None:
        return shown, f"{verdict.describe()} ({interval})"
    return shown, f"{passed}/{len(runs)} passed ({interval})"


def grader_summary(result: RunResult) -> str:
    """The graders' share: their predictions, time and cached answers."""
    totals = result.totals
    calls = "prediction" if totals.grader_predictions == 1 else "predictions"
    text = f"graders: {totals.grader_predictions} {calls}, {totals.grader_time_s:.1f}s"
    return text + (f", {totals.grader_cached} cached" if totals.grader_cached else "")
