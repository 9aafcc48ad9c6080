"""``-o diff.md``: a run diff as a pull-request comment.

GitHub refuses a comment over 65,536 characters ("body is too long (maximum is 65536
characters)", the REST API's 422; danger/danger#424), so the comment stops growing before
``max_chars`` and says how many rows it left out. The most urgent sections come first, so what
is cut is what matters least.

Test names, labels, reasons and outputs are untrusted text, and GitHub renders a comment's
Markdown and some of its HTML. In Markdown they are backslash-escaped (CommonMark lets any ASCII
punctuation be), flattened to one line, and ``@name`` and ``#123`` are broken with a zero-width
space: GitHub would notify that user and cross-reference that issue. Inside HTML (a
``<summary>``, the word diff's ``<pre>``) they are HTML-escaped instead, as Markdown escapes
do not apply there.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from replicate_eval.clip import clip
from replicate_eval.history.changes import CellChange, RunDiff
from replicate_eval.history.word_diff import word_diff
from replicate_eval.report.diff_tables import (
    ARROW,
    Table,
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
from replicate_eval.terminal_text import printable

_NOTE_ROOM = 400  # characters kept for the note that says the comment was cut
_TEXT_LIMIT = 200  # characters of a test title, a label or a reason in a table cell
_PROSE_LIMIT = 1000  # characters of a warning
_OUTPUT_LIMIT = 1500  # characters of a changed output's word diff
_CONTEXT = 160  # characters of unchanged text kept beside each change
_MARKUP = re.compile(r"([\\`*_~\[\]<>|&])")
# GitHub's mention pattern starts at "@" then a letter or digit (html-pipeline's
# MentionFilter); an issue reference is "#" then digits.
_REFERENCE = re.compile(r"(@(?=[0-9A-Za-z])|#(?=[0-9]))")
_COMMIT = re.compile(r"[0-9a-f]{7,40}")
_SPACE = re.compile(r"\s+")
_CODE = re.compile(r"`([^`\n]*)`")
_BREAK = "\u200b"  # zero-width space: invisible, and no mention or reference starts
_TAGS = {"removed": "del", "added": "ins"}  # GitHub keeps both (html-pipeline's allowlist)
# What the cut note calls each section's rows.
_NAMES = {
    "rates": "pass rates",
    "regression": "regressions",
    "new": "new tests",
    "removed": "removed tests",
    "score": "score changes",
}


def markdown_diff(diff: RunDiff, *, max_chars: int = 60_000) -> str:
    """The diff as Markdown of at most ``max_chars`` characters."""
    page = _Page(max_chars - _NOTE_ROOM)
    page.add(_headline(diff))
    notes = [f"> ⚠️ {_prose(warning)}" for warning in diff.warnings]
    notes += [f"> ℹ️ {_prose(pairing)} (renamed)" for pairing in diff.pairings]
    if notes:
        page.add("\n" + "\n>\n".join(notes))
    if is_empty(diff):
        return page.text(max_chars)
    page.table(rates_table(diff))
    tables = change_tables(diff)
    for table in tables:
        if table.key == "score":  # the prompts and providers close New and Removed
            _entries(page, diff)
        page.table(table)
    if all(table.key != "score" for table in tables):
        _entries(page, diff)
    cells = changed_outputs(diff)
    page.section(
        "changed outputs",
        len(cells),
        f"\n### Changed outputs ({len(cells):,})\n\nStruck through: removed; underlined: added.",
        (_output(cell) for cell in cells),
    )
    return page.text(max_chars)


class _Page:
    """Markdown that stops growing before ``limit`` characters, counting what it left out."""

    def __init__(self, limit: int) -> None:
        self._parts: list[str] = []
        self._size = 0
        self._limit = limit
        self._full = False
        self.left_out: dict[str, int] = {}

    def add(self, block: str, reserve: int = 0) -> bool:
        """Add ``block`` (and a line break) if it fits with ``reserve`` characters to spare."""
        cost = len(block) + 1
        if self._full or self._size + cost + reserve > self._limit:
            self._full = True
            return False
        self._parts.append(block)
        self._size += cost
        return True

    def section(
        self, name: str, count: int, head: str, rows: Iterable[str], tail: str = ""
    ) -> None:
        """A heading, as many of ``count`` rows as fit, and ``tail`` (which closes the section);
        nothing when not even one row fits."""
        if not count:
            return
        mark, size = len(self._parts), self._size
        reserve = len(tail) + 1 if tail else 0
        shown = 0
        if self.add(head, reserve):
            for row in rows:
                if not self.add(row, reserve):
                    break
                shown += 1
        if shown:
            if tail:
                self._parts.append(tail)
                self._size += len(tail) + 1
        else:  # a heading alone says nothing: take it back
            del self._parts[mark:]
            self._size = size
        if shown < count:
            self.left_out[name] = self.left_out.get(name, 0) + count - shown

    def table(self, table: Table) -> None:
        count = len(table.rows)
        title = table.title if table.key == "rates" else f"{table.title} ({count:,})"
        head = f"\n### {title}\n\n"
        if table.collapsed:
            cells = "cell" if count == 1 else "cells"
            head += f"<details><summary>{count:,} {cells}</summary>\n\n"
        head += _row(table.columns) + "\n|" + " --- |" * len(table.columns)
        name = _NAMES.get(table.key, table.key.replace("_", " "))
        tail = "\n</details>" if table.collapsed else ""
        self.section(name, count, head, (_row(row) for row in table.rows), tail)

    def text(self, max_chars: int) -> str:
        text = "\n".join(self._parts)
        if self.left_out:
            total = sum(self.left_out.values())
            where = ", ".join(f"{name} {count:,}" for name, count in self.left_out.items())
            text += (
                f"\n\n---\n**Cut to fit a comment:** {total:,} rows left out ({where}). "
                "`reval diff -o diff.html` or `-o diff.json` has them all."
            )
        # Only a max_chars too small for the headline and the note gets here.
        return text + "\n" if len(text) < max_chars else clip(text, max_chars)


def _headline(diff: RunDiff) -> str:
    (base_id, base_commit), (new_id, new_commit) = run_names(diff.base), run_names(diff.new)
    runs = f"base {_run(base_id, base_commit)} {ARROW} new {_run(new_id, new_commit)}"
    if is_empty(diff):
        cells = len(diff.changes)
        what = (
            f"all {cells:,} cells passed in both runs, with the same outputs and scores"
            if cells
            else "neither run has any cells"
        )
        return f"**No changes** · {runs}: {what}."
    (regressions, words), *rest = headline_counts(diff)
    first = f"**{regressions:,} {words}**" if regressions else "**No regressions**"
    return ", ".join([first] + [f"{count:,} {words}" for count, words in rest]) + f" · {runs}"


def _run(run_id: str, commit: str | None) -> str:
    if commit is None:
        return _code(run_id)
    # A bare commit id is one GitHub links to the commit; anything else stays code.
    shown = commit if _COMMIT.fullmatch(commit) else _code(commit)
    return f"{_code(run_id)} (commit {shown})"


def _entries(page: _Page, diff: RunDiff) -> None:
    """The prompts and providers only one run has (their cells are in New and Removed)."""
    lines = [
        f"**{what}:** " + ", ".join(_code(name) for name in names) for what, names in entries(diff)
    ]
    page.section("prompts and providers", len(lines), "", lines)


def _output(cell: CellChange) -> str:
    before, after = cell.base.output if cell.base else "", cell.new.output if cell.new else ""
    pieces, left = shortened(
        word_diff(before or "", after or ""), limit=_OUTPUT_LIMIT, context=_CONTEXT
    )
    marked = _break(
        "".join(
            f"<{_TAGS[piece.operation]}>{_html(piece.text)}</{_TAGS[piece.operation]}>"
            if piece.operation in _TAGS
            else _html(piece.text)
            for piece in pieces
        )
    )
    more = f"\n\n_{left:,} more characters not shown._" if left else ""
    title = _html(_flat(cell_title(cell)), limit=_TEXT_LIMIT)
    # A blank line before <pre> starts an HTML block that ends only at </pre> (CommonMark's
    # type 1), so blank lines inside the output do not let Markdown back in.
    return (
        f"\n<details><summary>{_break(title)}</summary>\n\n<pre>{marked}</pre>{more}\n\n</details>"
    )


def _row(row: tuple[str, ...]) -> str:
    return "|" + "|".join(f" {_cell(value)} " for value in row) + "|"


def _cell(text: str) -> str:
    """Text for a table cell: one line, at most _TEXT_LIMIT characters, markup escaped."""
    return _escaped(clip(_flat(text), _TEXT_LIMIT))


def _prose(text: str) -> str:
    """reval's own sentences: their `names` stay code spans, the rest is escaped."""
    parts = _CODE.split(clip(_flat(text), _PROSE_LIMIT))  # text, code, text, ..., text
    return "".join(_code(part) if n % 2 else _escaped(part) for n, part in enumerate(parts))


def _flat(text: str) -> str:
    return _SPACE.sub(" ", printable(text))


def _escaped(text: str) -> str:
    return _break(_MARKUP.sub(r"\\\1", text))


def _code(text: str) -> str:
    # A code span shows its content as written and GitHub links nothing inside it.
    flat = clip(_flat(text).replace("`", "'"), _TEXT_LIMIT)
    return f"`{flat}`" if flat else ""


def _html(text: str, *, limit: int | None = None) -> str:
    shown = clip(text, limit) if limit is not None else text
    return html.escape(printable(shown), quote=False)


def _break(text: str) -> str:
    return _REFERENCE.sub(r"\1" + _BREAK, text)
