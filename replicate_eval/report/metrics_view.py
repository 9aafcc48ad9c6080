"""promptfoo's named and derived metrics as the reports show them: a row per prompt x provider,
a column per metric (its mean over the graded cells) and per derived metric (its value)."""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.table import Table
from rich.text import Text

from replicate_eval.report.labels import column_title
from replicate_eval.results import RunResult
from replicate_eval.terminal_text import printable


@dataclass(frozen=True)
class MetricsView:
    columns: list[str]  # metric names, then derived metric names
    rows: list[tuple[str, str, list[str]]]  # (provider label, prompt label, values as text)


def metrics_view(result: RunResult) -> MetricsView | None:
    """None when the run has no named metrics."""
    if not result.named_metrics:
        return None
    names = list(dict.fromkeys(n for totals in result.named_metrics for n in totals.means))
    derived = [info.name for info in result.derived_metrics]
    prompts = {p.index: p.label for p in result.prompts}
    providers = {p.index: column_title(p.label) for p in result.providers}
    rows = []
    for totals in result.named_metrics:
        values = [_number(totals.means.get(name)) for name in names]
        values += [_number(totals.derived.get(name)) for name in derived]
        rows.append((providers[totals.provider_index], prompts[totals.prompt_index], values))
    return MetricsView([*names, *derived], rows)


def _number(value: float | None) -> str:
    # n/a: no cell had this metric, or a derived metric has no value (a division by zero).
    return "n/a" if value is None else f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def metrics_table(result: RunResult, *, plain: bool) -> Table | None:
    """The terminal table of the named metrics, under the results."""
    view = metrics_view(result)
    if view is None:
        return None
    table = Table(
        box=box.ASCII2 if plain else box.SIMPLE_HEAVY,
        title=Text("Named metrics (mean per cell; derived as computed)", style="bold"),
        safe_box=True,
    )
    table.add_column("Provider", overflow="fold", ratio=2)
    table.add_column("Prompt", overflow="fold", ratio=2)
    for name in view.columns:
        table.add_column(Text(printable(name)), justify="right", overflow="fold")
    for provider, prompt, values in view.rows:
        table.add_row(Text(printable(provider)), Text(printable(prompt)), *values)
    return table
