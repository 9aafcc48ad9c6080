"""A run diff as the diff files show it: its sections as tables of plain text, in order.

The Markdown comment and the HTML page render the same tables (each escaping for its own
format), so a section's columns and wording are decided once, here. Nothing here is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from replicate_eval.clip import ELLIPSIS
from replicate_eval.history.changes import (
    CHANGES,
    CellChange,
    Change,
    PassRate,
    RunDiff,
    RunSummary,
    Side,
)
from replicate_eval.history.significance import PassCounts
from replicate_eval.history.word_diff import Piece

NONE = "—"  # a side that did not run, a value that does not exist
ARROW = "→"
_SHORT_COMMIT = 7  # git's own abbreviation
# The headline's counts after the regressions, and their words.
_COUNTED: tuple[tuple[Change, str], ...] = (
    ("fixed", "fixed"),
    ("flaky", "flaky"),
    ("still_failing", "still failing"),
    ("new", "new"),
    ("removed", "removed"),
)


@dataclass(frozen=True)
class Table:
    key: str  # a stable name: a change (``regression``...) or ``score``, for ids and counts
    title: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    collapsed: bool = False  # long and rarely read (still failing): folded away by default


def headline_counts(diff: RunDiff) -> list[tuple[int, str]]:
    """What the headline counts, as (count, words): regressions always, the rest when some."""
    counts = diff.counts
    regressions = counts["regression"]
    parts = [(regressions, "regression" if regressions == 1 else "regressions")]
    for change, words in _COUNTED:
        if counts[change]:
            failing = len(diff.new_failing) if change == "new" else 0
            parts.append((counts[change], f"{words} ({failing} failing)" if failing else words))
    return parts


def run_names(summary: RunSummary) -> tuple[str, str | None]:
    """A run's id and its commit, shortened as git shortens it."""
    return summary.run_id, summary.commit[:_SHORT_COMMIT] if summary.commit else None


def is_empty(diff: RunDiff) -> bool:
    """Nothing to report: every cell passed in both runs with the same output and score."""
    return (
        all(cell.change == "unchanged" for cell in diff.changes)
        and not diff.changed_outputs
        and not diff.score_changes
        and not (diff.added_prompts or diff.removed_prompts)
        and not (diff.added_providers or diff.removed_providers)
    )


def has_repeats(diff: RunDiff) -> bool:
    """Both runs repeated their cells: only then do pass-rate p-values say anything."""
    base = any(cell.base is not None and cell.base.runs > 1 for cell in diff.changes)
    new = any(cell.new is not None and cell.new.runs > 1 for cell in diff.changes)
    return base and new


def p_text(p_value: float | None) -> str:
    if p_value is None:
        return NONE
    return "<0.001" if p_value < 0.001 else f"{p_value:.3f}"


def counts_text(counts: PassCounts | None) -> str:
    if counts is None:
        return NONE
    rate = counts.passed / counts.runs if counts.runs else 0.0
    return f"{counts.passed}/{counts.runs} ({rate:.0%})"


def points_text(rate: PassRate) -> str:
    """The change in pass rate, in percentage points."""
    if rate.base is None:
        return "new"
    if rate.new is None:
        return "removed"
    before = rate.base.passed / rate.base.runs if rate.base.runs else 0.0
    after = rate.new.passed / rate.new.runs if rate.new.runs else 0.0
    points = (after - before) * 100
    return "0 pts" if abs(points) < 0.05 else f"{points:+.1f} pts"


def rates_table(diff: RunDiff) -> Table:
    with_p = has_repeats(diff)
    columns = ("Prompt", "Provider", "Base", "New", "Δ") + (("p",) if with_p else ())
    rows = [
        (rate.prompt, rate.provider, counts_text(rate.base), counts_text(rate.new))
        + (points_text(rate),)
        + ((p_text(rate.p_value),) if with_p else ())
        for rate in diff.rates
    ]
    return Table("rates", "Pass rate per prompt × provider", columns, rows)


def change_tables(diff: RunDiff) -> list[Table]:
    """The sections that list cells, most urgent first; empty ones left out."""
    by_change = {change: diff.of(change) for change in CHANGES}
    tables = [
        _outcomes("regression", "Regressions", by_change["regression"], "Reason"),
        _outcomes("fixed", "Fixed", by_change["fixed"], "Was failing because"),
        Table(
            "flaky",
            "Flaky (the pass count moved, but chance may explain it)",
            ("Test", "Prompt", "Provider", "Base passed", "New passed", "p"),
            [
                (*_where(cell), _passes(cell.base), _passes(cell.new), p_text(cell.p_value))
                for cell in by_change["flaky"]
            ],
        ),
        Table(
            "still_failing",
            "Still failing",
            ("Test", "Prompt", "Provider", "Outcome", "Reason"),
            [
                (*_where(cell), _before_after(cell), _reason(cell))
                for cell in by_change["still_failing"]
            ],
            collapsed=True,
        ),
        _one_side("new", "New tests", by_change["new"]),
        _one_side("removed", "Removed tests", by_change["removed"]),
        Table(
            "score",
            "Score changes",
            ("Test", "Prompt", "Provider", "Base", "New", "Δ"),
            [
                (*_where(cell), _score(cell, "base"), _score(cell, "new"), _delta(cell))
                for cell in sorted(diff.score_changes, key=lambda c: c.score_delta or 0.0)
            ],
        ),
    ]
    return [table for table in tables if table.rows]


def changed_outputs(diff: RunDiff) -> list[CellChange]:
    """The cells whose output changed, in the order of the sections (regressions first)."""
    order = {change: n for n, change in enumerate(CHANGES)}
    return sorted(diff.changed_outputs, key=lambda cell: order[cell.change])


def entries(diff: RunDiff) -> list[tuple[str, list[str]]]:
    """The prompts and providers only one run has, as (what, labels); none: empty."""
    found = [
        ("Prompts added", diff.added_prompts),
        ("Prompts removed", diff.removed_prompts),
        ("Providers added", diff.added_providers),
        ("Providers removed", diff.removed_providers),
    ]
    return [(what, labels) for what, labels in found if labels]


def cell_title(cell: CellChange) -> str:
    return f"{cell.test} · {cell.prompt} · {cell.provider} ({cell.change.replace('_', ' ')})"


def shortened(pieces: list[Piece], *, limit: int, context: int) -> tuple[list[Piece], int]:
    """A word diff cut for showing: long unchanged stretches keep ``context`` characters
    beside each change, and the whole stops at ``limit`` characters. Also returns how many
    characters the limit left out."""
    kept: list[Piece] = []
    for n, piece in enumerate(pieces):
        text = piece.text
        if piece.operation == "same" and len(text) > 2 * context + len(ELLIPSIS):
            head = text[:context] if n > 0 else ""  # what follows the change before
            tail = text[-context:] if n < len(pieces) - 1 else ""  # what leads to the next
            text = head + ELLIPSIS + tail
        kept.append(Piece(piece.operation, text))
    shown: list[Piece] = []
    room = limit
    for n, piece in enumerate(kept):
        if len(piece.text) > room:
            if room:
                shown.append(Piece(piece.operation, piece.text[:room]))
            left = len(piece.text) - room + sum(len(p.text) for p in kept[n + 1 :])
            return shown, left
        shown.append(piece)
        room -= len(piece.text)
    return shown, 0


def _outcomes(key: str, title: str, cells: list[CellChange], why: str) -> Table:
    with_p = any(cell.p_value is not None for cell in cells)
    columns = ("Test", "Prompt", "Provider", f"Before {ARROW} after", why)
    rows = [
        (*_where(cell), _before_after(cell), _reason(cell, before=key == "fixed"))
        + ((p_text(cell.p_value),) if with_p else ())
        for cell in cells
    ]
    return Table(key, title, columns + (("p",) if with_p else ()), rows)


def _one_side(key: str, title: str, cells: list[CellChange]) -> Table:
    rows = [(*_where(cell), _side_outcome(cell), _reason(cell)) for cell in cells]
    return Table(key, title, ("Test", "Prompt", "Provider", "Outcome", "Reason"), rows)


def _where(cell: CellChange) -> tuple[str, str, str]:
    return cell.test, cell.prompt, cell.provider


def _before_after(cell: CellChange) -> str:
    before = cell.base.outcome if cell.base else NONE
    after = cell.new.outcome if cell.new else NONE
    return f"{before} {ARROW} {after}"


def _side_outcome(cell: CellChange) -> str:
    side = cell.new or cell.base
    return side.outcome if side else NONE


def _passes(side: Side | None) -> str:
    return f"{side.passed}/{side.runs}" if side is not None else NONE


def _reason(cell: CellChange, *, before: bool = False) -> str:
    side = cell.base if before else (cell.new or cell.base)
    return (side.reason or "") if side else ""


def _score(cell: CellChange, which: str) -> str:
    side = cell.base if which == "base" else cell.new
    return f"{side.score:.2f}" if side is not None and side.score is not None else NONE


def _delta(cell: CellChange) -> str:
    return f"{cell.score_delta:+.2f}" if cell.score_delta is not None else NONE
