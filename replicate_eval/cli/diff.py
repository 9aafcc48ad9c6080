"""``reval diff BASE NEW``: what got better and what got worse between two runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from replicate_eval.cli.common import app, fail, plain_output, say_error, stdout
from replicate_eval.cli.options import NoStoreOption, StoreOption, output_option
from replicate_eval.errors import RevalError
from replicate_eval.exit_codes import ExitCode


@app.command()
def diff(
    base: Annotated[
        str,
        typer.Argument(
            metavar="BASE",
            help="The run to compare with: a run id or prefix, `latest~N`, or a results .json.",
        ),
    ] = "latest~1",
    new: Annotated[
        str,
        typer.Argument(metavar="NEW", help="The run to compare: as BASE."),
    ] = "latest",
    output: Annotated[
        list[Path] | None,
        output_option(
            "Also write the diff to FILE: `.md` (fits a pull-request comment), `.json` "
            "(for scripts) or `.html`. Repeat for several files.",
        ),
    ] = None,
    fail_on: Annotated[
        Literal["regression"] | None,
        typer.Option(
            "--fail-on",
            show_default=False,
            help="`regression`: exit 100 when a test regressed (passed in BASE, failed or "
            "errored in NEW; with --repeat data, only when Fisher's exact test supports it, or "
            "by --min-pass verdicts) or is new in NEW and fails.",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Rows shown per section on the terminal.")
    ] = 30,
    store: StoreOption = None,
    no_store: NoStoreOption = False,
) -> None:
    """Compare two runs: regressions, fixes, flaky and still-failing tests, new and removed
    ones, changed outputs and scores, and each prompt × provider's pass rate.

    Cells are matched by test (description and vars), prompt and provider, not by position, so
    added or reordered tests compare right. Exits 0, or 100 with `--fail-on regression` when
    something regressed; 2 when a REF names no run."""
    from replicate_eval.cli.run import report_written
    from replicate_eval.cli.run_history import store_to_read
    from replicate_eval.history.compared import ComparedRun
    from replicate_eval.history.diff import diff_runs
    from replicate_eval.history.refs import is_results_file, load_ref_as
    from replicate_eval.report.diff_files import check_diff_paths, write_diff
    from replicate_eval.report.diff_terminal import diff_view

    try:
        check_diff_paths(output or [])
    except RevalError as exc:
        fail(str(exc))
    for path in output or []:
        for ref in (base, new):
            if is_results_file(ref) and Path(ref).resolve() == path.resolve():
                fail(f"--output {path}: is the results file {ref} being compared; write elsewhere")
    # Two results files (CI artifacts) need no store, even a broken one.
    needed = not no_store and not (is_results_file(base) and is_results_file(new))
    with store_to_read(store, needed=needed) as opened:
        try:
            before = load_ref_as(base, opened, ComparedRun)
            after = load_ref_as(new, opened, ComparedRun)
        except RevalError as exc:
            fail(str(exc))
    compared = diff_runs(before, after)
    plain = plain_output()
    stdout.print(diff_view(compared, plain=plain, limit=limit))
    written = write_diff(compared, output or [])
    report_written(written)
    code = ExitCode.FAILURES if fail_on and compared.blocking else ExitCode.OK
    if fail_on and not after.complete:
        # An interrupted run vouches for nothing it did not run.
        say_error(
            f"the new run is incomplete ({after.totals.cells} of {after.totals.planned} "
            f"cells ran): --fail-on regression cannot pass it; `reval run --resume "
            f"{after.run_id}` finishes it"
        )
        code = ExitCode.FAILURES
    if written.failures and code == ExitCode.OK:
        code = ExitCode.FAILURES
    raise typer.Exit(code)
