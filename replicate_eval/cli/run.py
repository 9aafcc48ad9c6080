"""``reval run``: load, run, show the table, write the files, pick the exit code."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.text import Text

from replicate_eval.cli.common import (
    app,
    cache_choice,
    fail,
    load_or_fail,
    plain_output,
    say_error,
    show_event,
    stderr,
    stdout,
    write_step_summary,
)
from replicate_eval.cli.options import (
    CacheDirOption,
    ConfigArgument,
    GraderOption,
    NoPreflightOption,
    NoStoreOption,
    StoreOption,
    StrictOption,
    output_option,
)
from replicate_eval.cli.run_history import (
    BaselineOption,
    FailOnOption,
    OnlyErrorsOption,
    OnlyFailingOption,
    ResumeOption,
    RunHistory,
    check_gate,
    compare,
)
from replicate_eval.cli.selecting import (
    EnvFileOption,
    FailUnderOption,
    FilterFirstOption,
    FilterPatternOption,
    ShardOption,
    VarOption,
    parse_vars,
)
from replicate_eval.errors import RevalError, UsageError
from replicate_eval.events import CellFinished, Event, Interrupted, RunStarted
from replicate_eval.exit_codes import ExitCode, exit_code
from replicate_eval.report.modes import (
    FAILING_CELLS_SHOWN,
    FULL_GRID_MAX_CELLS,
    ImageMode,
    TableMode,
)
from replicate_eval.usercode.limits import DEFAULT_TIME_LIMIT

if TYPE_CHECKING:  # imported when the command runs: `reval run --help` needs none of it
    from rich.progress import Progress

    from replicate_eval.report.files import Written


@app.command()
def run(
    config: ConfigArgument,
    output: Annotated[
        list[Path] | None,
        output_option(
            (
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
        int | None,
        typer.Option(
            "--max-concurrency",
            "-j",
            min=1,
            max=256,
            help="How many cells run at the same time. [default: the config's "
            "evaluateOptions.maxConcurrency, else 8]",
            show_default=False,
        ),
    ] = None,
    no_progress: Annotated[
        bool,
        typer.Option(
            "--no-progress", help="Do not show the progress bar (it only shows on a terminal)."
        ),
    ] = False,
    table: Annotated[
        TableMode,
        typer.Option(
            "--table",
            envvar="REVAL_TABLE",
            help=(
                "The results table: `full` a row per test and a column per prompt × provider; "
                "`summary` a row per prompt × provider with its counts, then the failing and "
                f"errored cells (the first {FAILING_CELLS_SHOWN}); `none` only the totals line; "
                f"`auto` the full grid up to {FULL_GRID_MAX_CELLS} cells "
                "(tests × prompts × providers), the summary for larger runs."
            ),
        ),
    ] = "auto",
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
        int | None,
        typer.Option(
            "--repeat",
            min=1,
            max=1000,
            help="Run every cell N times (distinct predictions); the table shows pass rates. "
            "[default: the config's evaluateOptions.repeat, else 1]",
            show_default=False,
        ),
    ] = None,
    min_pass: Annotated[
        int | None,
        typer.Option(
            "--min-pass",
            metavar="K",
            min=1,
            max=1000,
            help="With --repeat N: a test (each test x prompt x provider) passes when at least "
            "K of its N runs pass (promptfoo-action's `repeat-min-pass`). The exit code and "
            "--fail-under then count tests, not runs; the table and the reports show each "
            "test's verdict. [default: every run must pass]",
            show_default=False,
        ),
    ] = None,
    env_file: EnvFileOption = None,
    filter_pattern: FilterPatternOption = None,
    filter_first_n: FilterFirstOption = None,
    var: VarOption = None,
    shard: ShardOption = None,
    grader: GraderOption = None,
    baseline: BaselineOption = None,
    fail_on: FailOnOption = "failure",
    only_failing: OnlyFailingOption = None,
    only_errors: OnlyErrorsOption = None,
    resume: ResumeOption = None,
    store: StoreOption = None,
    no_store: NoStoreOption = False,
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
    running predictions and writes the results so far. Every run is recorded in the run store
    (`reval runs`, `reval diff`). Exits 0 when every test passed, 100 when any failed or
    errored (with `--fail-on regression`: only when one regressed from the --baseline), 130
    when interrupted, 2 when the config or an option is wrong.
    """
    from replicate_eval.api import EvalOptions, PreflightFailed, evaluate, write_results
    from replicate_eval.report.diff_markdown import markdown_diff
    from replicate_eval.report.diff_terminal import diff_view
    from replicate_eval.report.files import check_output_paths, html_report_path
    from replicate_eval.report.metrics_view import metrics_table
    from replicate_eval.report.summary import chosen_table, summary_tables
    from replicate_eval.report.table import results_table, summary_line

    # Ctrl-C outside the run itself (loading, writing): no "Aborted!", exit 130.
    with _interrupt_exits_130():
        output = output or []
        try:
            check_output_paths(output)
            if output_dir is not None and output_dir.exists() and not output_dir.is_dir():
                raise UsageError(f"--output-dir {output_dir}: is a file, not a folder")
        except RevalError as exc:
            fail(str(exc))
        check_gate(fail_on, baseline)
        history = RunHistory(store, no_store)
        carry = history.carry_over(only_failing, only_errors, resume)
        base = history.load_baseline(baseline) if baseline is not None else None
        eval_config = load_or_fail(
            config,
            env_file=env_file,
            grader=grader,
            filter_pattern=filter_pattern,
            filter_first_n=filter_first_n,
            variables=parse_vars(var),
            shard=shard,
        )
        if not output and eval_config.output_paths:
            # promptfoo's `outputPath`: the files to write when the command names none.
            output = list(eval_config.output_paths)
            try:
                check_output_paths(output)
            except RevalError as exc:
                fail(f"{config}: outputPath: {exc}")
        options = EvalOptions(
            max_concurrency=max_concurrency,
            timeout=timeout,
            max_retry_wait=max_retry_wait,
            retries=retries,
            retry_failed=retry_failed,
            cache=cache_choice(cache_dir, no_cache),
            preflight=not no_preflight,
            strict=strict,
            repeat=repeat,
            min_pass=min_pass,
            output_dir=output_dir,
            check_timeout=check_timeout,
            carry_over=carry,
        )
        bar = not no_progress and stderr.is_terminal and not os.environ.get("NO_COLOR")
        with _progress(enabled=bar) as progress:
            task = progress.add_task("Running", total=None, visible=False)

            def on_event(event: Event) -> None:
                if isinstance(event, RunStarted):
                    progress.update(task, total=event.cells, visible=True)
                elif isinstance(event, CellFinished):
                    progress.advance(task)
                elif isinstance(event, Interrupted):
                    stderr.print(
                        "[yellow]Interrupted:[/] canceling running predictions and writing the "
                        "results so far. Press Ctrl-C again to quit at once.",
                        highlight=False,
                    )
                else:
                    show_event(event, spinner=not no_progress)

            try:
                result = evaluate(
                    eval_config, options, on_event=on_event, on_second_interrupt=_exit_now
                )
            except PreflightFailed as exc:
                errors = sum(finding.severity == "error" for finding in exc.findings)
                fail(
                    f"the preflight found {errors} problem(s) in the providers' inputs; "
                    "nothing was run (fix them, or use --no-preflight)"
                )
            except RevalError as exc:
                fail(str(exc))

        plain = plain_output()
        shown = chosen_table(table, result)
        if shown == "full":
            stdout.print(results_table(result, max_cell_length=max_cell_length, plain=plain))
        elif shown == "summary":
            stdout.print(
                summary_tables(result, max_cell_length=max_cell_length, plain=plain, outputs=output)
            )
        named = metrics_table(result, plain=plain) if shown != "none" else None
        if named is not None:
            stdout.print(named)
        compared = compare(base, result)
        appendix = markdown_diff(compared) if compared is not None else ""
        written = write_results(result, output, html_images=html_images, markdown_appendix=appendix)
        # After the files: a busy store may make this wait, and the results are safe by then.
        history.record(result)
        history.close()
        stdout.print(summary_line(result, html_report=html_report_path(result, output)))
        if compared is not None:
            stdout.print(Text("Compared with the baseline:", style="bold"))
            stdout.print(diff_view(compared, plain=plain))
        report_written(written)
        write_step_summary(result, appendix)
        code = exit_code(result, fail_under)
        if fail_on == "regression" and compared is not None and code != ExitCode.INTERRUPTED:
            # Both gates: what regressed (or is new and failing), and --fail-under if given.
            gated = ExitCode.FAILURES if compared.blocking else ExitCode.OK
            code = max(gated, code) if fail_under is not None else gated
        if written.failures and code == ExitCode.OK:
            code = ExitCode.FAILURES  # a gate that cannot leave its reports is not a pass
        raise typer.Exit(code)


def report_written(written: Written) -> None:
    for path in written.files:
        stderr.print(f"Wrote {escape(str(path))}", highlight=False)
    for failure in written.failures:
        say_error(failure)


@contextmanager
def _interrupt_exits_130() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        stderr.print("\n[yellow]Interrupted.[/]", highlight=False)
        raise typer.Exit(ExitCode.INTERRUPTED) from None


def _exit_now() -> None:
    from replicate_eval.providers.cog.server import kill_all_now

    os.write(2, b"\nInterrupted again: exiting now.\n")
    kill_all_now()  # no local model server outlives reval
    os._exit(ExitCode.INTERRUPTED)


def _progress(*, enabled: bool) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

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
