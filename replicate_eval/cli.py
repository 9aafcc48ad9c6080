"""The ``reval`` command line: parse options, run the pipeline, show results, pick the exit code.

This is the only module that writes to the terminal. Results go to stdout; progress, warnings
and errors go to stderr, so ``reval run ... > table.txt`` keeps the table clean.
"""

from __future__ import annotations

import asyncio
import os
import sys
from enum import IntEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from replicate_eval import __version__
from replicate_eval.config import load_config
from replicate_eval.errors import RevalError, UsageError
from replicate_eval.report.files import (
    ReportOptions,
    check_output_paths,
    html_report_path,
    write_outputs,
)
from replicate_eval.report.html import ImageMode
from replicate_eval.report.table import results_table, summary_line
from replicate_eval.results import CellResult
from replicate_eval.runner import RunOptions, run_eval


class ExitCode(IntEnum):
    OK = 0  # every test passed
    INTERNAL = 1  # a bug in reval
    USAGE = 2  # the config, an option, or the environment is wrong; nothing was run
    FAILURES = 100  # the run finished and at least one cell failed or errored


app = typer.Typer(
    name="reval",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

stdout = Console()
stderr = Console(stderr=True)


def _show_version(value: bool) -> None:
    if value:
        stdout.print(f"reval {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Show reval's version and exit.",
        ),
    ] = False,
) -> None:
    """Run prompt evals against models hosted on Replicate.

    Exit codes: 0 every test passed, 100 a test failed or errored,
    2 the config or an option is wrong (nothing was run), 1 a bug in reval.
    """


@app.command()
def run(
    config: Annotated[
        Path,
        typer.Argument(
            metavar="CONFIG",
            show_default=False,
            help="The eval file (YAML) with prompts, providers and tests.",
        ),
    ],
    output: Annotated[
        list[Path] | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            show_default=False,
            help=(
                "Also write the results to FILE: `.json` (every detail, for scripts) or "
                "`.html` (a report to look at, with images). Repeat for several files."
            ),
        ),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            metavar="DIR",
            show_default=False,
            help=(
                "Save the images that models make in DIR "
                "[default: reval-output/RUN-ID, created only when a model makes images]."
            ),
        ),
    ] = None,
    html_images: Annotated[
        ImageMode,
        typer.Option(
            "--html-images",
            help=(
                "In an `.html` report: `embed` the images (one self-contained file) or "
                "`link` them relative to the report (small; keep the images beside it)."
            ),
        ),
    ] = "embed",
    max_concurrency: Annotated[
        int,
        typer.Option(
            "--max-concurrency",
            "-j",
            min=1,
            max=256,
            help="How many cells run at the same time.",
        ),
    ] = 8,
    no_progress: Annotated[
        bool,
        typer.Option(
            "--no-progress", help="Do not show the progress bar (it only shows on a terminal)."
        ),
    ] = False,
    max_cell_length: Annotated[
        int,
        typer.Option(
            "--max-cell-length", min=20, help="Cut outputs in the table to this many characters."
        ),
    ] = 250,
) -> None:
    """Run the evals in CONFIG and print a results table.

    Every prompt is rendered with every test's vars and sent to every provider; each output is
    checked against the test's assertions. Exits 0 when every test passed, 100 when any failed
    or errored, 2 when the config or an option is wrong.
    """
    output = output or []
    try:
        check_output_paths(output)
        if output_dir is not None and output_dir.exists() and not output_dir.is_dir():
            raise UsageError(f"--output-dir {output_dir}: is a file, not a folder")
        eval_config = load_config(config, os.environ)
    except RevalError as exc:
        _fail(str(exc))
    for warning in eval_config.warnings:
        stderr.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)

    total = len(eval_config.tests) * len(eval_config.prompts) * len(eval_config.providers)
    options = RunOptions(max_concurrency=max_concurrency, output_dir=output_dir)
    with _progress(enabled=not no_progress and stderr.is_terminal) as progress:
        task = progress.add_task("Running", total=total)

        def advance(_: CellResult) -> None:
            progress.advance(task)

        result = asyncio.run(run_eval(eval_config, options, on_cell_done=advance))

    stdout.print(results_table(result, max_cell_length=max_cell_length))
    try:
        written = write_outputs(result, output, ReportOptions(html_images=html_images))
    except OSError as exc:
        _fail(f"could not write the results: {exc}", ExitCode.FAILURES)
    stdout.print(summary_line(result, html_report=html_report_path(result, output)))
    for path in written:
        stderr.print(f"Wrote {escape(str(path))}", highlight=False)
    totals = result.totals
    raise typer.Exit(ExitCode.OK if totals.passed == totals.cells else ExitCode.FAILURES)


def _progress(*, enabled: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not enabled,
    )


def _fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    stderr.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point: no traceback for anything but a bug in reval."""
    try:
        app()
    except Exception as exc:
        if os.environ.get("REVAL_DEBUG"):
            raise
        stderr.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
            "This is a bug in reval. Run again with REVAL_DEBUG=1 to see the traceback.",
            highlight=False,
        )
        sys.exit(ExitCode.INTERNAL)
