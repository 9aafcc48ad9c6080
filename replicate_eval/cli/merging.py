"""``reval merge``: the results of CI shards, combined into one report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from replicate_eval.cli.common import app, fail, stderr, stdout, write_step_summary
from replicate_eval.cli.run import exit_code
from replicate_eval.cli.selecting import FailUnderOption
from replicate_eval.errors import RevalError
from replicate_eval.report.files import (
    ReportOptions,
    check_output_paths,
    write_outputs,
)
from replicate_eval.report.merge import merge_results
from replicate_eval.report.table import summary_line
from replicate_eval.results import RunResult


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
) -> None:
    """Combine the results of `reval run --shard I/N` jobs into one, as if run at once.

    Every shard of the split must be there, from the same config file. Exits as `reval run`
    would for the merged run: 0, 100 (or by --fail-under), 130 if a shard was interrupted;
    2 when the files do not fit together."""
    parts = []
    for path in files:
        try:
            parts.append((path, RunResult.model_validate(json.loads(path.read_text("utf-8")))))
        except (OSError, ValueError, ValidationError) as exc:
            fail(f"{path}: not a reval results file ({type(exc).__name__}: {str(exc)[:200]})")
    try:
        check_output_paths(output)
        merged = merge_results(parts)
        written = write_outputs(merged, output, ReportOptions())
    except RevalError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"could not write the merged results: {exc}")
    stdout.print(summary_line(merged))
    for path in written:
        stderr.print(f"Wrote {escape(str(path))}", highlight=False)
    write_step_summary(merged)
    raise typer.Exit(exit_code(merged, fail_under))
