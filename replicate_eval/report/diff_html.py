"""``-o diff.html``: a run diff as one self-contained page.

The run report's posture (``report/html.py``): the same Jinja2 environment autoescapes every
value, and the Content-Security-Policy allows no network access and, this page needing none,
no script at all, so even an escaping mistake could not run a model's ``<script>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import replicate_eval
from replicate_eval.history.changes import CellChange, RunDiff
from replicate_eval.history.word_diff import Piece, word_diff
from replicate_eval.report.diff_tables import (
    cell_title,
    change_tables,
    changed_outputs,
    entries,
    headline_counts,
    is_empty,
    rates_table,
    run_names,
    shortened,
)
from replicate_eval.report.html import ENVIRONMENT, batched

_OUTPUT_LIMIT = 20_000  # characters of a changed output's word diff
_CONTEXT = 2_000  # characters of unchanged text kept beside each change
_OPEN = 20  # the first changed outputs are shown unfolded; the rest wait for a click
# A word diff can take tens of milliseconds (difflib is quadratic on repetitive text): past
# this many, an output change shows the whole before and the whole after instead.
_WORD_DIFFS = 200
# The headline's colour for each count's words (the others are plain).
_CLASSES = {
    "regression": "regression",
    "regressions": "regression",
    "fixed": "fixed",
    "flaky": "flaky",
}


@dataclass(frozen=True)
class OutputView:
    title: str
    pieces: list[Piece]
    left: int  # characters not shown
    open: bool
    compared: bool  # False: past _WORD_DIFFS, shown whole rather than word by word


def diff_html(diff: RunDiff) -> str:
    return "".join(diff_html_chunks(diff))


def diff_html_chunks(diff: RunDiff) -> Iterator[str]:
    """The page in pieces: the word diffs are made one at a time, as the page is written."""
    tables = change_tables(diff)
    outputs = changed_outputs(diff)
    (base_id, _), (new_id, _) = run_names(diff.base), run_names(diff.new)
    pieces = ENVIRONMENT.get_template("diff.html.j2").generate(
        version=replicate_eval.__version__,
        base_id=base_id,
        new_id=new_id,
        empty=is_empty(diff),
        cells=len(diff.changes),
        counts=[
            (f"{count:,} {words}", _CLASSES.get(words, "")) if count else ("No regressions", "")
            for count, words in headline_counts(diff)
        ],
        runs=[("Base", diff.base), ("New", diff.new)],
        warnings=diff.warnings,
        pairings=diff.pairings,
        tables=[table for table in tables if table.key != "score"],
        scores=next((table for table in tables if table.key == "score"), None),
        entries=entries(diff),
        outputs_count=len(outputs),
        outputs=(_output(cell, n) for n, cell in enumerate(outputs)),
        word_diffs=_WORD_DIFFS,
        rates=rates_table(diff),
    )
    return batched(pieces)


def _output(cell: CellChange, position: int) -> OutputView:
    before = (cell.base.output if cell.base else None) or ""
    after = (cell.new.output if cell.new else None) or ""
    compared = position < _WORD_DIFFS
    whole = [Piece("removed", before), Piece("added", after)]
    pieces, left = shortened(
        word_diff(before, after) if compared else whole, limit=_OUTPUT_LIMIT, context=_CONTEXT
    )
    return OutputView(cell_title(cell), pieces, left, open=position < _OPEN, compared=compared)
