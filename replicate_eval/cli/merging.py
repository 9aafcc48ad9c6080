"""``reval merge``: the results of CI shards, combined into one report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from replicate_eval.cli.common import app, fail, stdout, write_step_summary
from replicate_eval.cli.options import NoStoreOption, StoreOption
from replicate_eval.cli.run import report_written
from replicate_eval.cli.run_history import RunHistory
from replicate_eval.cli.selecting import FailUnderOption
from replicate_eval.errors import RevalError
from replicate_eval.exit_codes import ExitCode, exit_code
from replicate_eval.redact import redacted
from replicate_eval.report.files import (
    ReportOptions,
    check_output_paths,
    write_outputs,
)
from replicate_eval.report.merge import merge_results
from replicate_eval.report.table import summary_line


@app.command()
def merge(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="RESULTS.json...", help="Results files of the shards (-o x.json)."),
    ],
    output: Annotated[
        list[Path],
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the merged results (.json, .html, .csv, .xml, .md). Repeat for several.",
        ),
    ],
    fail_under: FailUnderOption = None,
    store: StoreOption = None,
    no_store: NoStoreOption = False,
) -> None:
    """Combine the results of `reval run --shard I/N` jobs into one, as if run at once.

    Every shard of the split must be there, from the same config file. The merged run is
    recorded in the run store, like a run. Exits as `reval run`
    would for the merged run: 0, 100 (or by --fail-under), 130 if a shard was interrupted;
    2 when the files do not fit together."""
    from replicate_eval.api import read_results

    parts = []
    for path in files:
        try:
            parts.append((path, read_results(path)))
        except RevalError as exc:
            fail(str(exc))
    try:
        check_output_paths(output)
        merged = redacted(merge_results(parts))
    except RevalError as exc:
        fail(str(exc))
    history = RunHistory(store, no_store)
    history.record(merged, kind="merge")
    history.close()
    written = write_outputs(merged, output, ReportOptions())
    stdout.print(summary_line(merged))
    report_written(written)
    write_step_summary(merged)
    code = exit_code(merged, fail_under)
    raise typer.Exit(ExitCode.FAILURES if written.failures and code == ExitCode.OK else code)
