"""``reval diff`` on the terminal: the headline, warnings, pass rates, then the changed cells.

Regressions come first and are all shown up to ``limit``; the quieter sections (still failing,
unchanged) are counted, not listed, so a 10,000-cell diff prints as fast as a small one.
"""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from replicate_eval.clip import clip
from replicate_eval.history.changes import CellChange, Change, RunDiff
from replicate_eval.history.word_diff import word_diff
from replicate_eval.report.diff_tables import counts_text, entries, p_text, points_text
from replicate_eval.terminal_text import printable

ROWS_SHOWN = 30  # per section
_OUTPUT_SHOWN = 300  # characters of an output in a word diff
# diff_tables.entries' headings, as the terminal's one-line notes say them.
_ENTRY = {
    "Prompts added": "new prompt",
    "Prompts removed": "removed prompt",
    "Providers added": "new provider",
    "Providers removed": "removed provider",
}
_TITLES: dict[Change, tuple[str, str]] = {
    "regression": ("Regressions", "bold red"),
    "fixed": ("Fixed", "bold green"),
    "flaky": ("Flaky (changes chance may explain)", "bold yellow"),
    "new": ("New", "bold cyan"),
    "removed": ("Removed", "dim"),
}


def headline(diff: RunDiff) -> Text:
    """One line: the counts that matter, and which runs."""
    counts = diff.counts
    text = Text()
    regressions = counts["regression"]
    text.append(
        f"{regressions} regression{'' if regressions == 1 else 's'}",
        style="bold red" if regressions else "green",
    )
    others: tuple[tuple[Change, str], ...] = (
        ("fixed", "fixed"),
        ("still_failing", "still failing"),
        ("flaky", "flaky"),
        ("new", "new"),
        ("removed", "removed"),
        ("unchanged", "unchanged"),
    )
    for change, word in others:
        text.append(f", {counts[change]} {word}")
        if change == "new" and diff.new_failing:
            text.append(f" ({len(diff.new_failing)} failing)", style="bold red")
    text.append(f" · {diff.base.run_id} → {diff.new.run_id}")
    return text


def diff_view(diff: RunDiff, *, plain: bool = False, limit: int = ROWS_SHOWN) -> RenderableType:
    parts: list[RenderableType] = [headline(diff)]
    for warning in diff.warnings:
        parts.append(Text(f"warning: {printable(warning)}", style="yellow"))
    for pairing in diff.pairings:
        parts.append(Text(f"note: {printable(pairing)}"))
    for what, labels in entries(diff):  # "Providers added": one line each
        parts += [Text(f"{_ENTRY[what]}: {printable(clip(label, 120))}") for label in labels]
    parts.append(_rates_table(diff, plain))
    for change, (title, style) in _TITLES.items():
        cells = diff.of(change)
        if cells:
            parts.append(_cells_table(title, style, cells[:limit], plain))
            if len(cells) > limit:
                parts.append(Text(f"... and {len(cells) - limit} more ({title.lower()})"))
    scores = diff.score_changes
    if scores:
        parts.append(_scores_table(scores[:limit], plain))
    changed = diff.changed_outputs[:limit]
    if changed:
        parts.append(Text("Changed outputs", style="bold"))
        parts += [_output_change(cell) for cell in changed]
    return Group(*parts)


def _table(title: str, style: str, plain: bool) -> Table:
    return Table(
        title=Text(title, style=style),
        title_justify="left",
        box=box.ASCII2 if plain else box.SIMPLE_HEAVY,
        safe_box=True,
    )


def _rates_table(diff: RunDiff, plain: bool) -> Table:
    table = _table("Pass rate per prompt × provider", "bold", plain)
    for name in ("Prompt", "Provider"):
        table.add_column(name, overflow="fold", ratio=2)
    for name in ("Base", "New", "Change", "p"):
        table.add_column(name, justify="right", no_wrap=True)
    for rate in diff.rates:
        change = points_text(rate)
        style = "red" if change.startswith("-") else "green" if change.startswith("+") else ""
        table.add_row(
            printable(clip(rate.prompt, 60)),
            printable(rate.provider),
            counts_text(rate.base),
            counts_text(rate.new),
            Text(change, style=style),
            p_text(rate.p_value) if rate.p_value is not None else "",
        )
    return table


def _cells_table(title: str, style: str, cells: list[CellChange], plain: bool) -> Table:
    table = _table(f"{title} ({len(cells)} shown)" if len(cells) > 1 else title, style, plain)
    for name in ("Test", "Prompt", "Provider"):
        table.add_column(name, overflow="fold", ratio=2)
    table.add_column("Before → after", no_wrap=True)
    table.add_column("Why", overflow="fold", ratio=3)
    for cell in cells:
        before = cell.base.outcome if cell.base else "—"
        after = cell.new.outcome if cell.new else "—"
        p = f" (p={cell.p_value:.3f})" if cell.p_value is not None else ""
        reason = (cell.new.reason if cell.new else None) or ""
        table.add_row(
            printable(clip(cell.test, 80)),
            printable(clip(cell.prompt, 40)),
            printable(cell.provider),
            f"{before} → {after}{p}",
            printable(clip(reason, 160)),
        )
    return table


def _scores_table(cells: list[CellChange], plain: bool) -> Table:
    table = _table("Score changes", "bold", plain)
    for name in ("Test", "Prompt", "Provider"):
        table.add_column(name, overflow="fold", ratio=2)
    table.add_column("Score", no_wrap=True, justify="right")
    for cell in cells:
        assert cell.base and cell.new and cell.base.score is not None
        assert cell.new.score is not None and cell.score_delta is not None
        table.add_row(
            printable(clip(cell.test, 80)),
            printable(clip(cell.prompt, 40)),
            printable(cell.provider),
            Text(
                f"{cell.base.score:.2f} → {cell.new.score:.2f} ({cell.score_delta:+.2f})",
                style="red" if cell.score_delta < 0 else "green",
            ),
        )
    return table


def _output_change(cell: CellChange) -> Text:
    """`[-removed-]{+added+}`: git's plain word-diff marks, readable without colour too."""
    assert cell.base and cell.new and cell.base.output is not None and cell.new.output is not None
    text = Text(f"{printable(clip(cell.test, 80))} · {printable(cell.provider)}: ", style="bold")
    for piece in word_diff(
        clip(cell.base.output, _OUTPUT_SHOWN), clip(cell.new.output, _OUTPUT_SHOWN)
    ):
        shown = printable(piece.text)
        if piece.operation == "same":
            text.append(shown)
        elif piece.operation == "removed":
            text.append(f"[-{shown}-]", style="red strike")
        else:
            text.append(f"{{+{shown}+}}", style="green")
    return text
