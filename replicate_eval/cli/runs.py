"""``reval runs``: the run store's history, listed, shown and pruned."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from replicate_eval.cli.common import app, fail, plain_output, stdout
from replicate_eval.cli.options import StoreOption, output_option
from replicate_eval.cli.run_history import store_to_read
from replicate_eval.errors import RevalError
from replicate_eval.exit_codes import ExitCode
from replicate_eval.terminal_text import printable

if TYPE_CHECKING:
    from replicate_eval.history.store import StoredRun

RefArgument = Annotated[
    str,
    typer.Argument(
        metavar="REF",
        help="A run id or a unique prefix of one, `latest`, `latest~N` (N runs before the "
        "newest), or a results file (a path ending in .json or with a folder in it).",
    ),
]

runs_app = typer.Typer(
    help="List the runs in the run store (newest first), show one, or remove some.",
    invoke_without_command=True,
)
app.add_typer(runs_app, name="runs")


@runs_app.callback()
def runs(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, help="Show at most N runs (0: all of them).")
    ] = 30,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            metavar="TEXT",
            show_default=False,
            help="Only the runs whose config path contains TEXT.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the list as JSON lines, for scripts.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """List the runs in the run store (newest first), show one, or remove some.

    Every `reval run` and `reval merge` records its results in the store (unless --no-store):
    id, time, config, description, pass rate, cells, duration and git commit."""
    if ctx.invoked_subcommand is not None:
        ctx.meta["reval.store"] = store  # `reval runs --store DIR show REF`
        return
    with store_to_read(store) as opened:
        assert opened is not None
        try:
            listed = opened.runs(None if config else (limit or None))
            held = opened.count()
        except RevalError as exc:
            fail(str(exc))
    if config:
        listed = [run for run in listed if config in run.config_path][: limit or None]
    if as_json:
        for run in listed:
            typer.echo(json.dumps(_as_dict(run)))
        return
    if not listed:
        stdout.print(f"No runs in the run store {printable(str(opened.path))}.", highlight=False)
        return
    plain = plain_output()
    stdout.print(_runs_table(listed, plain))
    if not config and held > len(listed):
        stdout.print(f"{held - len(listed)} older runs not shown (--limit 0 shows all).")


@runs_app.command()
def show(
    ctx: typer.Context,
    ref: RefArgument,
    output: Annotated[
        list[Path] | None,
        output_option(
            "Also write the run's results to FILE (.json .html .csv .xml .md), as "
            "`reval run -o` does. Repeat for several.",
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Show one run: where it came from, its totals and its results table."""
    from replicate_eval.api import write_results
    from replicate_eval.cli.run import report_written
    from replicate_eval.history.refs import is_results_file, load_ref
    from replicate_eval.report.files import check_output_paths
    from replicate_eval.report.summary import summary_tables
    from replicate_eval.report.table import summary_line

    try:
        check_output_paths(output or [])
    except RevalError as exc:
        fail(str(exc))
    # A results file needs no store.
    with store_to_read(_chosen(ctx, store), needed=not is_results_file(ref)) as opened:
        try:
            result = load_ref(ref, opened)
        except RevalError as exc:
            fail(str(exc))
    lines = [
        ("Run", result.run_id),
        ("Started", result.started_at),
        ("Config", result.config_path),
        ("Description", result.description or ""),
        (
            "Commit",
            _commit(
                result.git.commit if result.git else None, result.git.branch if result.git else None
            ),
        ),
        (
            "Complete",
            "yes"
            if result.complete
            else f"no: {result.totals.cells} of {result.totals.planned} cells ran",
        ),
    ]
    for provider in result.providers:
        lines.append(
            (
                "Provider",
                f"{provider.label}" + (f" @ {provider.version}" if provider.version else ""),
            )
        )
    for name, value in lines:
        if value:
            stdout.print(f"{name + ':':<13}{printable(value)}", highlight=False, soft_wrap=True)
    plain = plain_output()
    stdout.print(summary_tables(result, max_cell_length=250, plain=plain))
    stdout.print(summary_line(result))
    if output:
        # Only the files asked for: a results file's own `output_dir` (it may come from
        # anywhere) is no place to write a report beside.
        written = write_results(result.model_copy(update={"output_dir": None}), output)
        report_written(written)
        if written.failures:
            raise typer.Exit(ExitCode.FAILURES)


@runs_app.command()
def rm(
    ctx: typer.Context,
    refs: Annotated[
        list[str],
        typer.Argument(metavar="REF...", help="The runs to remove (ids, prefixes, latest~N)."),
    ],
    store: StoreOption = None,
) -> None:
    """Remove runs from the run store (their results files elsewhere are not touched)."""
    from replicate_eval.history.refs import is_results_file, stored_run

    with store_to_read(_chosen(ctx, store)) as opened:
        assert opened is not None
        try:
            # Every REF first: a typo in the third must not leave the first two removed.
            chosen = []
            for ref in refs:
                if is_results_file(ref):
                    fail(f"{ref}: a results file is not in the run store; delete the file itself")
                chosen.append(stored_run(ref, opened))
            for run in dict((run.id, run) for run in chosen).values():
                opened.remove(run.id)
                stdout.print(f"Removed {run.id} ({printable(run.config_path)})", highlight=False)
        except RevalError as exc:
            fail(str(exc))


def _chosen(ctx: typer.Context, store: Path | None) -> Path | None:
    """The command's --store, else the group's (`reval runs --store DIR show REF`)."""
    return store or ctx.meta.get("reval.store")


def _runs_table(listed: list[StoredRun], plain: bool) -> Table:
    # No outer edge: at 80 columns the run id (what a REF needs) must fit whole.
    table = Table(box=box.ASCII2 if plain else box.SIMPLE_HEAVY, safe_box=True, show_edge=False)
    table.add_column("Run", no_wrap=True)
    table.add_column("Started", no_wrap=True)
    table.add_column("Config", overflow="fold", ratio=2)
    table.add_column("Description", overflow="fold", ratio=2, min_width=11)
    for name in ("Pass", "Cells", "Time"):
        table.add_column(name, justify="right", no_wrap=True)
    commits = any(run.git_commit for run in listed)
    if commits:
        table.add_column("Commit", no_wrap=True)
    for run in listed:
        cells = f"{run.cells}" if run.complete else f"{run.cells}/{run.planned} (interrupted)"
        row = [
            run.id,
            _when(run.started_at),
            printable(_near(run.config_path)),
            printable(run.description or ""),
            f"{run.pass_rate:.0%}",
            cells,
            f"{run.wall_time_s:.1f}s",
        ]
        table.add_row(*row, *([_commit(run.git_commit, run.git_branch)] if commits else []))
    return table


def _near(path: str) -> str:
    """A config path relative to the current folder when it is below it: short to read."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _when(started_at: str) -> str:
    try:
        return datetime.fromisoformat(started_at).astimezone().strftime("%m-%d %H:%M")
    except ValueError:
        return started_at


def _commit(commit: str | None, branch: str | None) -> str:
    if not commit:
        return ""
    return commit[:7] + (f" ({branch})" if branch else "")


def _as_dict(run: StoredRun) -> dict[str, object]:
    from dataclasses import asdict

    return {**asdict(run), "pass_rate": round(run.pass_rate, 4)}
