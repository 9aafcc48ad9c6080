"""The results table: a row per test, a column per prompt x provider."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.table import Table
from rich.text import Text

from replicate_eval.clip import clip
from replicate_eval.min_pass import Verdict, groups_line, verdict
from replicate_eval.report.labels import (
    BADGES,
    column_title,
    grader_summary,
    repeat_summary,
    test_title,
)
from replicate_eval.results import CellResult, RunResult, runs_by_position
from replicate_eval.terminal_text import printable


def results_table(result: RunResult, *, max_cell_length: int, plain: bool = False) -> Table:
    """``plain``: ASCII lines only, for logs and files that are not a terminal."""
    many_prompts = len(result.prompts) > 1
    table = Table(
        box=box.ASCII2 if plain else box.SIMPLE_HEAVY,
        show_lines=True,
        title=Text(printable(result.description)) if result.description else None,
        safe_box=True,
    )
    table.add_column("Test", overflow="fold", ratio=1)
    columns = [(prompt, provider) for prompt in result.prompts for provider in result.providers]
    for prompt, provider in columns:
        header = Text(printable(column_title(provider.label)), style="bold")
        if many_prompts:
            header.append(f"\n{printable(prompt.label)}", style="dim")
        table.add_column(header, overflow="fold", ratio=2)

    runs = runs_by_position(result.cells)
    for test in result.tests:
        row: list[Text] = [Text(printable(test_title(test.description, test.vars, test.index)))]
        for prompt, provider in columns:
            found = runs.get((test.index, prompt.index, provider.index))
            if not found:
                row.append(Text("not run", "dim"))
            elif len(found) == 1:
                row.append(_cell_text(found[0], max_cell_length))
            else:
                row.append(_repeated_text(found, max_cell_length, verdict(found, result)))
        table.add_row(*row)
    return table


def _repeated_text(cells: list[CellResult], limit: int, judged: Verdict | None) -> Text:
    """--repeat: the pass rate with its 95% interval, then the run that says the most. With
    --min-pass the badge is the test's verdict (a flaky test that reached K shows PASS), and
    the run shown, when it did not pass, says which it is."""
    worst, rate = repeat_summary(cells, judged)
    label, style = BADGES[worst.status]
    if judged is not None and judged.ok:
        label, style = BADGES["passed"]
    text = Text(label, style=style)
    text.append(f" {rate}\n")
    if judged is not None and worst.status != "passed":
        worst_label, worst_style = BADGES[worst.status]
        text.append(f"run {worst.repeat + 1}: ", style="dim")
        text.append(worst_label, style=worst_style)
        text.append("\n")
    shown = _cell_text(worst, limit)
    text.append_text(shown[shown.plain.index("\n") + 1 :] if "\n" in shown.plain else Text())
    return text


def _cell_text(cell: CellResult, limit: int) -> Text:
    label, style = BADGES[cell.status]
    text = Text(label, style=style)
    if cell.cached:
        text.append(" (cached)", style="dim")
    if cell.carried_from:
        text.append(f" (carried over from {cell.carried_from})", style="dim")
    if cell.status == "error":
        text.append("\n" + clip(printable(cell.error or ""), limit * 2), style="yellow")
        return text
    if cell.images:
        # The file name, linked to the full path (terminals that support links open it); the
        # summary line names the folder.
        for image in cell.images:
            path = image.file
            text.append(f"\n{printable(path.name)}", style=f"cyan link {path.resolve().as_uri()}")
            text.append(f" {image.dimensions} {printable(image.format)}")
    else:
        text.append("\n" + clip(printable(cell.output or ""), limit))
    if cell.status == "failed" and cell.reason:
        text.append("\n" + clip(printable(cell.reason), limit), style="red")
    return text


def summary_line(result: RunResult, *, html_report: Path | None = None) -> Text:
    """Totals in one line; with images, where they are and the report that shows them."""
    totals = result.totals
    text = Text()
    text.append(f"{totals.passed} passed", style="green" if totals.passed else "")
    text.append(", ")
    text.append(f"{totals.failed} failed", style="red" if totals.failed else "")
    text.append(", ")
    errors = "error" if totals.errors == 1 else "errors"
    text.append(f"{totals.errors} {errors}", style="yellow" if totals.errors else "")
    text.append(
        f" ({totals.pass_rate:.0%} pass rate) · {totals.predictions} predictions · "
        f"{totals.wall_time_s:.1f}s"
    )
    line = groups_line(result)
    if line is not None:
        all_passed = totals.groups_passed == totals.groups
        text.append(" · ")
        text.append(line, style="green" if all_passed else "red")
    if totals.cached:
        text.append(f" · {totals.cached} cached")
    if totals.carried:
        text.append(f" · {totals.carried} carried over")
    if totals.grader_predictions or totals.grader_cached:
        text.append(f" · {grader_summary(result)}")
    if totals.throttled:
        text.append(f" · {totals.throttled} rate-limited requests retried", style="yellow")
    if totals.ambiguous_unaccounted:
        unknown = totals.ambiguous_unaccounted
        requests = "request" if unknown == 1 else "requests"
        text.append(
            f" · {unknown} create {requests} unaccounted for (may have run)", style="yellow"
        )
    if not result.complete:
        missing = totals.planned - totals.cells
        text.append(
            f"\nInterrupted: {missing} of {totals.planned} cells did not run", style="bold yellow"
        )
    if result.image_count:
        images = "image" if result.image_count == 1 else "images"
        text.append(f"\n{result.image_count} {images} saved in {printable(str(result.output_dir))}")
        if html_report is not None:
            text.append(" · open ")
            text.append(printable(str(html_report)), style="bold")
            text.append(" to see them")
    return text
