"""The ``reval`` application: its root, consoles, messages, exit codes and entry point.

The cli package is the only place that writes to the terminal. Results go to stdout; progress,
warnings and errors go to stderr, so ``reval run ... > table.txt`` keeps the table clean.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from replicate_eval import __version__
from replicate_eval.cli.lazy import LazyGroup
from replicate_eval.cli.terminal import TerminalStream, current_stream, fixed_stream
from replicate_eval.errors import RevalError
from replicate_eval.events import Event, Notice, PreflightFinished, PreflightStarted
from replicate_eval.exit_codes import ExitCode
from replicate_eval.terminal_text import printable

if TYPE_CHECKING:  # the engine is imported by the commands that use it, when they run
    from rich.status import Status

    from replicate_eval.cache import ResponseCache
    from replicate_eval.config.types import EvalConfig
    from replicate_eval.results import RunResult

# The commands are listed from a table (cli/lazy.py); each is imported when it is run.
app = typer.Typer(
    name="reval",
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


stdout = Console(file=TerminalStream(current_stream("stdout")))  # type: ignore[arg-type]
# Messages are single paragraphs: never wrap them at 80 columns (CI logs, pipes, grep).
stderr = Console(file=TerminalStream(current_stream("stderr")), soft_wrap=True)  # type: ignore[arg-type]


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
    say_error(message)
    raise typer.Exit(code)


def say_error(message: str) -> None:
    stderr.print(f"[bold red]error:[/] {shown(message)}", highlight=False)


def warn(message: str) -> None:
    stderr.print(f"[yellow]warning:[/] {shown(message)}", highlight=False)


def plain_output() -> bool:
    """Tables as plain ASCII: outside a terminal (CI logs, pipes) or with NO_COLOR."""
    return not stdout.is_terminal or bool(os.environ.get("NO_COLOR"))


def shown(message: str) -> str:
    """A message as the terminal may show it: it quotes models and servers, so no escape
    sequences, and no Rich markup of its own."""
    return escape(printable(message))


def load_or_fail(
    path: Path,
    *,
    env_file: Path | None = None,
    grader: str | None = None,
    require_token: bool = True,
    filter_pattern: str | None = None,
    filter_first_n: int | None = None,
    variables: dict[str, str] | None = None,
    shard: str | None = None,
) -> EvalConfig:
    """The config (``replicate_eval.load``), its warnings printed; a problem fails with exit 2.

    Every token found on the way is registered with ``REDACT`` before anything is printed.
    Without ``require_token`` (a check that calls no model) a missing token is no problem."""
    from replicate_eval.api import load

    try:
        config = load(
            path,
            env_file=env_file,
            grader=grader,
            require_token=require_token,
            filter_pattern=filter_pattern,
            filter_first_n=filter_first_n,
            vars=variables,
            shard=shard,
        )
    except RevalError as exc:
        fail(str(exc))
    if not config.tests:
        # A small suite split many ways can leave a shard empty: that job has nothing
        # to do, and its (empty) results still merge.
        warn(f"shard {config.shard} has no tests")
    for note in config.notes:
        stderr.print(f"[cyan]note:[/] {shown(note)}", highlight=False)
    for warning in config.warnings:
        warn(warning)
    return config


def use_base_url(env: dict[str, str]) -> None:
    """Check REPLICATE_BASE_URL; a malformed one fails with exit 2."""
    from replicate_eval.api import use_base_url as check

    try:
        check(env)
    except RevalError as exc:
        fail(str(exc))


def remember_secret(value: str | None) -> None:
    from replicate_eval.api import remember_secret as remember

    remember(value)


def open_cache(cache_dir: Path | None) -> ResponseCache:
    """The cache in --cache-dir (or the default folder), for the `cache` commands."""
    from replicate_eval.api import open_cache_at
    from replicate_eval.cache import default_cache_dir

    try:
        return open_cache_at(cache_dir or default_cache_dir(os.environ), on_event=show_event)
    except (OSError, sqlite3.Error) as exc:
        fail(f"cannot open the response cache: {exc}. Use --cache-dir DIR, or --no-cache.")


def cache_choice(cache_dir: Path | None, no_cache: bool) -> bool | Path | None:
    """--cache-dir / --no-cache as ``EvalOptions.cache`` (None: neither, the config decides)."""
    return False if no_cache else cache_dir


def show_event(event: Event, *, spinner: bool = True) -> None:
    """What the library reports, as the terminal shows it (the run's progress bar apart)."""
    global _status
    if isinstance(event, Notice):
        if event.level == "info":
            stderr.print(f"note: {shown(event.message)}", highlight=False)
        else:
            warn(event.message)
    elif isinstance(event, PreflightStarted) and spinner and stderr.is_terminal:
        _status = stderr.status("Checking the models' inputs", spinner="dots")
        _status.start()
    elif isinstance(event, PreflightFinished):
        if _status is not None:
            _status.stop()
            _status = None
        for finding in event.findings:
            (say_error if finding.severity == "error" else warn)(str(finding))


_status: Status | None = None  # the preflight's spinner, while it turns


def write_step_summary(result: RunResult, appendix: str = "") -> None:
    """Append to GitHub Actions' step summary, when there is one; a failure only warns."""
    from replicate_eval.report.files import append_step_summary

    try:
        append_step_summary(result, os.environ, appendix)
    except OSError as exc:
        warn(f"could not write the step summary: {exc}")


def main() -> None:
    """The command line (``replicate_eval.entry`` calls it): no traceback for anything but a bug
    in reval, exit 130 for Ctrl-C at any moment, and no token in anything printed."""
    for name in ("stdout", "stderr"):
        setattr(sys, name, TerminalStream(fixed_stream(getattr(sys, name))))
    try:
        app()  # Typer turns Ctrl-C inside a command into exit code 130
    except Exception as exc:
        if os.environ.get("REVAL_DEBUG"):
            raise
        stderr.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
            "This is a bug in reval. Run again with REVAL_DEBUG=1 to see the traceback.",
            highlight=False,
        )
        sys.exit(ExitCode.INTERNAL)
