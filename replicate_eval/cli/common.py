"""The ``reval`` application: its commands, consoles, exit codes and entry point.

The cli package is the only place that writes to the terminal. Results go to stdout; progress,
warnings and errors go to stderr, so ``reval run ... > table.txt`` keeps the table clean.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from enum import IntEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from replicate_eval import __version__
from replicate_eval.assertions import KINDS
from replicate_eval.cache import ResponseCache, default_cache_dir
from replicate_eval.chat import parse_chat
from replicate_eval.cli.terminal import TerminalStream, current_stream, fixed_stream
from replicate_eval.config import EvalConfig, load_config
from replicate_eval.config.envfile import environment
from replicate_eval.config.providers import TOKEN_ENV_VARS
from replicate_eval.config.selection import Selection, select_tests
from replicate_eval.errors import CellError, RevalError
from replicate_eval.plan import Plan, build_plan
from replicate_eval.preflight import Finding, preflight
from replicate_eval.providers.replicate.session import base_url_problem
from replicate_eval.redact import REDACT
from replicate_eval.report.files import append_step_summary
from replicate_eval.results import RunResult
from replicate_eval.terminal_text import printable


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


def shown(message: str) -> str:
    """A message as the terminal may show it: it quotes models and servers, so no escape
    sequences, and no Rich markup of its own."""
    return escape(printable(message))


# Options that several commands share.
ConfigArgument = Annotated[
    Path,
    typer.Argument(
        metavar="CONFIG",
        show_default=False,
        help="The eval file (YAML) with prompts, providers and tests.",
    ),
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        metavar="DIR",
        show_default=False,
        help="The response cache's folder. [default: $XDG_CACHE_HOME/reval, else ~/.cache/reval]",
    ),
]
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict", help="Inputs a model does not have are errors, not warnings (preflight)."
    ),
]
GraderOption = Annotated[
    str | None,
    typer.Option(
        "--grader",
        metavar="PROVIDER_ID",
        show_default=False,
        help=(
            "The model that grades llm-rubric, model-graded-closedqa and factuality "
            "assertions, e.g. `replicate:meta/meta-llama-3.1-405b-instruct`; a test's or an "
            "assertion's own `provider` still wins. [default: defaultTest.options.provider, "
            "else replicate:meta/meta-llama-3-70b-instruct]"
        ),
    ),
]
NoPreflightOption = Annotated[
    bool,
    typer.Option(
        "--no-preflight", help="Do not check the inputs against the models' schemas first."
    ),
]


def load_or_fail(
    path: Path,
    *,
    env_file: Path | None = None,
    selection: Selection | None = None,
    grader: str | None = None,
    require_token: bool = True,
) -> EvalConfig:
    """The config, with the env file's variables and only the selected tests.

    Every token found on the way is registered with ``REDACT`` before anything is printed.
    Without ``require_token`` (a check that calls no model) a missing token is no problem."""
    try:
        env = environment(path, env_file, os.environ)
    except RevalError as exc:
        fail(str(exc))
    for name in TOKEN_ENV_VARS:
        remember_secret(env.get(name))
    use_base_url(env)
    try:
        config = load_config(path, env, grader=grader, require_token=require_token)
    except RevalError as exc:
        fail(str(exc))
    for provider in (*config.providers, *config.graders):
        remember_secret(provider.token.get_secret_value())
    if selection is not None:
        try:
            config = select_tests(config, selection)
        except RevalError as exc:
            fail(str(exc))
        if not config.tests and selection.shard is None:
            fail(f"{path}: no test is selected by --filter-pattern/--filter-first-n")
        if not config.tests:
            # A small suite split many ways can leave a shard empty: that job has nothing
            # to do, and its (empty) results still merge.
            warn(f"shard {selection.shard} has no tests")
    for warning in config.warnings:
        warn(warning)
    return config


def remember_secret(value: str | None) -> None:
    """A token, however it is written (a stray newline or space inside it too)."""
    for secret in {value or "", *(value or "").split()}:
        REDACT.add(secret)


def use_base_url(env: dict[str, str]) -> None:
    """Check REPLICATE_BASE_URL (also from the env file, which the SDK does not read)."""
    value = env.get("REPLICATE_BASE_URL", "")
    problem = base_url_problem(value)
    if problem:
        fail(
            f"environment variable REPLICATE_BASE_URL={value!r} {problem}; unset it to use "
            "https://api.replicate.com"
        )
    if value:
        os.environ.setdefault("REPLICATE_BASE_URL", value)


def open_cache(cache_dir: Path | None) -> ResponseCache:
    try:
        return open_cache_at(cache_dir or default_cache_dir(os.environ))
    except (OSError, sqlite3.Error) as exc:
        fail(f"cannot open the response cache: {exc}. Use --cache-dir DIR, or --no-cache.")


def run_cache(cache_dir: Path | None, no_cache: bool) -> ResponseCache | None:
    """The cache a run uses. The default folder being unusable (XDG_CACHE_HOME a file, a
    read-only home) costs a warning: the cache saves money, it is not needed to run. A folder
    given with --cache-dir that cannot be used is an error."""
    if no_cache:
        return None
    if cache_dir is not None:
        return open_cache(cache_dir)
    folder = default_cache_dir(os.environ)
    try:
        return open_cache_at(folder)
    except (OSError, sqlite3.Error) as exc:
        warn(f"cannot open the response cache in {folder} ({exc}); running without it")
        return None


def open_cache_at(folder: Path) -> ResponseCache:
    cache = ResponseCache(folder)
    for damage in cache.repaired:
        warn(f"{damage.describe()}; using a fresh cache")
    return cache


def check_models(
    config: EvalConfig, *, strict: bool, cache: ResponseCache | None, spinner: bool = True
) -> list[Finding]:
    """Run the preflight and print what it found; the caller decides what errors mean."""
    # Cog models publish no Replicate schema; their servers check inputs themselves.
    replicate = [provider for provider in config.providers if not provider.is_cog]
    grader_sends, grader_needs = grader_inputs(config)
    checking = preflight(
        [*replicate, *config.graders],
        strict=strict,
        cache=cache,
        also_sends={**chat_inputs(build_plan(config)), **grader_sends},
        must_accept=grader_needs,
    )
    if spinner and stderr.is_terminal:
        with stderr.status("Checking the models' inputs", spinner="dots"):
            findings = asyncio.run(checking)
    else:
        findings = asyncio.run(checking)
    for finding in findings:
        (say_error if finding.severity == "error" else warn)(str(finding))
    return findings


def chat_inputs(plan: Plan) -> dict[int, set[str]]:
    """Inputs that chat prompts add, by provider: a system message is sent as system_prompt."""
    sends: dict[int, set[str]] = {}
    for cell in plan.cells:
        if cell.provider.kind != "text" or cell.rendered_prompt is None:
            continue
        try:
            chat = parse_chat(cell.rendered_prompt)
        except CellError:
            continue  # reported by `reval validate` and, at run time, by the cell
        if chat is not None and chat.system:
            sends.setdefault(cell.provider.index, set()).add("system_prompt")
    return sends


def grader_inputs(config: EvalConfig) -> tuple[dict[int, set[str]], dict[int, dict[str, str]]]:
    """Inputs graders are sent besides the prompt: a chat rubricPrompt's system message as
    `system_prompt`; and the ones they must have: a guard model's `assistant` (the output)."""
    sends: dict[int, set[str]] = {}
    needs: dict[int, dict[str, str]] = {}
    for test in config.tests:
        for spec in test.assertions:
            if spec.grading is None:
                continue
            if KINDS[spec.kind].grader == "moderation":
                needs.setdefault(spec.grading.grader, {})["assistant"] = "the output to judge"
            prompt = spec.grading.prompt
            if isinstance(prompt, tuple) and any(role == "system" for role, _ in prompt):
                sends.setdefault(spec.grading.grader, set()).add("system_prompt")
    return sends, needs


def write_step_summary(result: RunResult) -> None:
    """Append to GitHub Actions' step summary, when there is one; a failure only warns."""
    try:
        append_step_summary(result, os.environ)
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
