"""``reval run``: load, run, show the table, write the files, pick the exit code."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from replicate_eval.cli.common import (
    CacheDirOption,
    ConfigArgument,
    ExitCode,
    GraderOption,
    NoPreflightOption,
    StrictOption,
    app,
    check_models,
    fail,
    load_or_fail,
    run_cache,
    say_error,
    stderr,
    stdout,
    warn,
    write_step_summary,
)
from replicate_eval.cli.selecting import (
    EnvFileOption,
    FailUnderOption,
    FilterFirstOption,
    FilterPatternOption,
    ShardOption,
    VarOption,
    selection,
)
from replicate_eval.config import EvalConfig
from replicate_eval.entry import install_stop_handlers
from replicate_eval.errors import RevalError, UsageError
from replicate_eval.providers.cog.server import kill_all_now
from replicate_eval.providers.replicate.predictions import RetryPolicy
from replicate_eval.redact import redacted
from replicate_eval.report.files import (
    ReportOptions,
    Written,
    check_output_paths,
    html_report_path,
    write_outputs,
)
from replicate_eval.report.html import ImageMode
from replicate_eval.report.table import results_table, summary_line
from replicate_eval.results import CellResult, RunResult
from replicate_eval.runner import RunOptions, run_eval
from replicate_eval.usercode.pool import DEFAULT_TIME_LIMIT


@app.command()
def run(
    config: ConfigArgument,
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
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            min=1,
            show_default=False,
            help=(
                "Cancel a prediction that has not finished after SECONDS (its cell is an error). "
                "A provider's `timeout` option wins. [default: no limit]"
            ),
        ),
    ] = None,
    max_retry_wait: Annotated[
        float,
        typer.Option(
            "--max-retry-wait",
            metavar="SECONDS",
            min=0,
            help=(
                "How long one cell may wait out Replicate's rate limit (HTTP 429) "
                "before it becomes an error."
            ),
        ),
    ] = 600.0,
    retries: Annotated[
        int,
        typer.Option(
            "--retries",
            min=0,
            max=20,
            help="Retries after a server error (5xx) or a network error, with growing waits.",
        ),
    ] = 4,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="Also run a prediction again when the model fails (up to --retries times).",
        ),
    ] = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Neither read nor write the response cache: every call is made."
        ),
    ] = False,
    cache_dir: CacheDirOption = None,
    strict: StrictOption = False,
    no_preflight: NoPreflightOption = False,
    fail_under: FailUnderOption = None,
    repeat: Annotated[
        int,
        typer.Option(
            "--repeat",
            min=1,
            max=1000,
            help="Run every cell N times (distinct predictions); the table shows pass rates.",
        ),
    ] = 1,
    env_file: EnvFileOption = None,
    filter_pattern: FilterPatternOption = None,
    filter_first_n: FilterFirstOption = None,
    var: VarOption = None,
    shard: ShardOption = None,
    grader: GraderOption = None,
    check_timeout: Annotated[
        float,
        typer.Option(
            "--check-timeout",
            metavar="SECONDS",
            min=0.1,
            help=(
                "How long one call of the config's Python code (a `python` assertion) may "
                "take; past it the code is stopped and the assertion fails."
            ),
        ),
    ] = DEFAULT_TIME_LIMIT,
) -> None:
    """Run the evals in CONFIG and print a results table.

    First each provider's inputs are checked against its model's schema (no prediction is made
    when one is wrong). Every prompt is rendered with every test's vars and sent to every
    provider; each output is checked against the test's assertions. Successful outputs are
    cached: running again makes only the predictions that are missing. Ctrl-C cancels the
    running predictions and writes the results so far. Exits 0 when every test passed, 100
    when any failed or errored, 130 when interrupted, 2 when the config or an option is wrong.
    """
    # Ctrl-C outside the run itself (loading, writing): no "Aborted!", exit 130.
    with _interrupt_exits_130():
        output = output or []
        try:
            check_output_paths(output)
            if output_dir is not None and output_dir.exists() and not output_dir.is_dir():
                raise UsageError(f"--output-dir {output_dir}: is a file, not a folder")
        except RevalError as exc:
            fail(str(exc))
        chosen = selection(filter_pattern, filter_first_n, var, shard)
        eval_config = load_or_fail(config, env_file=env_file, selection=chosen, grader=grader)

        total = (
            len(eval_config.tests) * len(eval_config.prompts) * len(eval_config.providers) * repeat
        )
        policy = RetryPolicy(
            max_retry_wait=max_retry_wait,
            retries=retries,
            failed_reruns=retries if retry_failed else 0,
        )
        cache = run_cache(cache_dir, no_cache)
        if not no_preflight:
            findings = check_models(
                eval_config, strict=strict, cache=cache, spinner=not no_progress
            )
            errors = sum(finding.severity == "error" for finding in findings)
            if errors:
                fail(
                    f"the preflight found {errors} problem(s) in the providers' inputs; "
                    "nothing was run (fix them, or use --no-preflight)"
                )
        options = RunOptions(
            max_concurrency=max_concurrency,
            output_dir=output_dir,
            timeout=timeout,
            retry=policy,
            cache=cache,
            repeat=repeat,
            shard=shard.replace(" ", "") if shard else None,
            check_timeout=check_timeout,
        )
        bar = not no_progress and stderr.is_terminal and not os.environ.get("NO_COLOR")
        try:
            with _progress(enabled=bar) as progress:
                task = progress.add_task("Running", total=total)

                def advance(_: CellResult) -> None:
                    progress.advance(task)

                result = asyncio.run(_interruptible(run_eval, eval_config, options, advance))
        finally:
            if cache is not None:
                cache.close()
        for problem in dict.fromkeys(cache.problems if cache else []):
            warn(problem)
        # Whatever a model or a server echoed, no token reaches the table or a file.
        result = redacted(result)

        plain = not stdout.is_terminal or bool(os.environ.get("NO_COLOR"))
        stdout.print(results_table(result, max_cell_length=max_cell_length, plain=plain))
        written = write_outputs(result, output, ReportOptions(html_images=html_images))
        stdout.print(summary_line(result, html_report=html_report_path(result, output)))
        report_written(written)
        write_step_summary(result)
        code = exit_code(result, fail_under)
        if written.failures and code == ExitCode.OK:
            code = ExitCode.FAILURES  # a gate that cannot leave its reports is not a pass
        raise typer.Exit(code)


def report_written(written: Written) -> None:
    for path in written.files:
        stderr.print(f"Wrote {escape(str(path))}", highlight=False)
    for failure in written.failures:
        say_error(failure)


def exit_code(result: RunResult, fail_under: float | None) -> ExitCode:
    """130 interrupted; 0 when every cell passed, or the pass rate reaches --fail-under."""
    if not result.complete:
        return ExitCode.INTERRUPTED
    totals = result.totals
    if totals.cells == 0 and result.shard is None:
        return ExitCode.FAILURES  # nothing evaluated is not a pass (an empty shard may be)
    if fail_under is not None:
        # Compare in whole cells: 2 of 3 passed is at 66.66...%, not below 66.67 by rounding.
        needed = fail_under / 100 * totals.planned
        return ExitCode.OK if totals.passed >= needed - 1e-9 else ExitCode.FAILURES
    return ExitCode.OK if totals.passed == totals.planned else ExitCode.FAILURES


@contextmanager
def _interrupt_exits_130() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        stderr.print("\n[yellow]Interrupted.[/]", highlight=False)
        raise typer.Exit(ExitCode.INTERRUPTED) from None


async def _interruptible(
    run: Callable[..., Awaitable[RunResult]],
    eval_config: EvalConfig,
    options: RunOptions,
    advance: Callable[[CellResult], None],
) -> RunResult:
    """Run with Ctrl-C handled: the first stops the run cleanly, a second exits at once."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_interrupt() -> None:
        if stop.is_set():
            os.write(2, b"\nInterrupted again: exiting now.\n")
            kill_all_now()  # no local model server outlives reval
            os._exit(ExitCode.INTERRUPTED)
        stop.set()
        stderr.print(
            "[yellow]Interrupted:[/] canceling running predictions and writing the results "
            "so far. Press Ctrl-C again to quit at once.",
            highlight=False,
        )

    # SIGTERM (a CI timeout, `kill`) and SIGHUP (a closed terminal) stop the run like Ctrl-C:
    # predictions canceled, local model servers stopped, results so far written.
    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    try:
        for number in signals:
            loop.add_signal_handler(number, on_interrupt)
    except (RuntimeError, ValueError):
        signals = ()  # not the main thread (reval embedded in another program)
    try:
        return await run(eval_config, options, on_cell_done=advance, stop=stop)
    finally:
        for number in signals:
            loop.remove_signal_handler(number)
        if signals:
            install_stop_handlers()  # asyncio put the defaults back: a stop is quiet again


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
