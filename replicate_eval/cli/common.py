"""The ``reval`` application: its commands, consoles, exit codes and entry point.

The cli package is the only place that writes to the terminal. Results go to stdout; progress,
warnings and errors go to stderr, so ``reval run ... > table.txt`` keeps the table clean.
"""

from __future__ import annotations

import os
import sys
from enum import IntEnum
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from replicate_eval import __version__


class ExitCode(IntEnum):
    OK = 0  # every test passed
    INTERNAL = 1  # a bug in reval
    USAGE = 2  # the config, an option, or the environment is wrong; nothing was run
    FAILURES = 100  # the run finished and at least one cell failed or errored
    INTERRUPTED = 130  # Ctrl-C: the results so far were written, marked incomplete


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

    Exit codes: 0 every test passed, 100 a test failed or errored, 130 interrupted (Ctrl-C),
    2 the config or an option is wrong (nothing was run), 1 a bug in reval.
    """


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
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
