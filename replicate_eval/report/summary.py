"""The terminal table of a large run: a row per prompt x provider with its counts, then the
failing and errored cells (at most FAILING_CELLS_SHOWN). It costs the same at any size, where
the full grid (report/table.py) grows with every test."""

from __future__ import annotations

import statistics
from pathlib import Path

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from replicate_eval.clip import clip
from replicate_eval.min_pass import by_column, verdicts
from replicate_eval.report.labels import BADGES, column_title, test_title
from replicate_eval.report.modes import FAILING_CELLS_SHOWN, FULL_GRID_MAX_CELLS, TableMode
from replicate_eval.results import CellResult, PromptInfo, ProviderInfo, RunResult
from replicate_eval.terminal_text import printable


def chosen_table(mode: TableMode, result: RunResult) -> TableMode:
    """``auto``: the full grid when it is small, the summary otherwise (terminal or not)."""
    if mode != "auto":
        return mode
    cells = len(result.tests) * len(result.prompts) * len(result.providers)
    return "full" if cells <= FULL_GRID_MAX_CELLS else "summary"


def summary_tables(
    result: RunResult,
    *,
    max_cell_length: int,
    plain: bool = False,
    outputs: list[Path] | None = None,
    limit: int = FAILING_CELLS_SHOWN,
) -> RenderableType:
    """The counts per prompt x provider, then the failing cells and where the rest are."""
    parts: list[RenderableType] = [_counts_table(result, plain)]
    failing = sorted(
        (cell for cell in result.cells if cell.status != "passed"),
        key=lambda c: (c.test_index, c.prompt_index, c.provider_index, c.repeat),
    )
    if failing:
        parts.append(_failing_table(result, failing[:limit], max_cell_length, plain))
    if len(failing) > limit:
        parts.append(_more_line(len(failing) - limit, outputs or []))
    return Group(*parts)


def _counts_table(result: RunResult, plain: bool) -> Table:
    table = Table(
        box=box.ASCII2 if plain else box.SIMPLE_HEAVY,
        title=Text(printable(result.description)) if result.description else None,
        safe_box=True,
    )
    table.add_column("Provider", overflow="fold", ratio=2)
    table.add_column("Prompt", overflow="fold", ratio=2)
    for name in ("Passed", "Failed", "Errors", "Pass rate", "Median latency"):
        table.add_column(name, justify="right", no_wrap=True)
    tests_passed = by_column(result)  # --min-pass: each prompt x provider's tests that did
    if result.min_pass is not None:
        table.add_column(f"Tests passed (min {result.min_pass})", justify="right", no_wrap=True)
    groups: dict[tuple[int, int], list[CellResult]] = {}
    for cell in result.cells:
        groups.setdefault((cell.prompt_index, cell.provider_index), []).append(cell)
    for prompt in result.prompts:
        for provider in result.providers:
            cells = groups.get((prompt.index, provider.index), [])
            statuses = [cell.status for cell in cells]
            passed, failed = statuses.count("passed"), statuses.count("failed")
            errors = statuses.count("error")
            # Cached cells made no prediction: their latency is the cache's, not the model's.
            latencies = [c.latency_ms for c in cells if c.latency_ms is not None and not c.cached]
            tests = [] if result.min_pass is None else [_tests_text(tests_passed, prompt, provider)]
            table.add_row(
                Text(printable(column_title(provider.label))),
                Text(printable(prompt.label)),
                Text(str(passed), style="green" if passed else ""),
                Text(str(failed), style="red" if failed else ""),
                Text(str(errors), style="yellow" if errors else ""),
                f"{passed / len(cells):.0%}" if cells else "-",
                f"{statistics.median(latencies) / 1000:.2f}s" if latencies else "-",
                *tests,
            )
    return table


def _tests_text(
    tests_passed: dict[tuple[int, int], tuple[int, int]], prompt: PromptInfo, provider: ProviderInfo
) -> Text:
    passed, judged = tests_passed.get((prompt.index, provider.index), (0, 0))
    return Text(f"{passed}/{judged}", style="green" if passed == judged else "red")


def _failing_table(result: RunResult, cells: list[CellResult], limit: int, plain: bool) -> Table:
    table = Table(
        box=box.ASCII2 if plain else box.SIMPLE_HEAVY,
        title=Text("Failing cells", style="bold"),
        safe_box=True,
    )
    table.add_column("Test", overflow="fold", ratio=2)
    many_prompts = len(result.prompts) > 1
    table.add_column("Prompt x provider" if many_prompts else "Provider", overflow="fold", ratio=2)
    table.add_column("Result", no_wrap=True)
    table.add_column("Reason", overflow="fold", ratio=4)
    repeated = result.repeat > 1
    judged = verdicts(result)
    for cell in cells:
        title = test_title(cell.test_description, cell.vars, cell.test_index)
        found = judged.get((cell.test_index, cell.prompt_index, cell.provider_index))
        if found is not None:  # why this failed run may still leave its test passing
            title += f" (run {cell.repeat + 1}; test {found.badge}: {found.describe()})"
        elif repeated:
            title += f" (run {cell.repeat + 1})"
        label, style = BADGES[cell.status]
        why = cell.error if cell.status == "error" else cell.reason
        column = column_title(cell.provider_label)
        table.add_row(
            Text(printable(title)),
            Text(printable(f"{cell.prompt_label} x {column}" if many_prompts else column)),
            Text(label, style=style),
            Text(clip(printable(why or ""), limit), style="yellow" if cell.error else "red"),
        )
    return table


def _more_line(more: int, outputs: list[Path]) -> Text:
    cells = "cell" if more == 1 else "cells"
    text = Text(f"… and {more} more failing {cells}; ", style="bold")
    if outputs:
        text.append("all of them are in " + ", ".join(printable(str(p)) for p in outputs))
        text.append(" (or run again with --table full)")
    else:
        text.append("run with -o results.json or --table full to see them all")
    return text
