"""reval as a library: load a config, check it, evaluate it, read and write results files.

The pipeline is config → plan → provider calls → assertions → results; this module assembles it
once, for the CLI and for Python callers alike. Nothing here prints: what happens on the way
reaches the caller as events (``replicate_eval.events``), and every problem is a ``RevalError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import yaml

from replicate_eval.base_url import base_url_problem
from replicate_eval.chat import parse_chat
from replicate_eval.config.envfile import environment
from replicate_eval.config.load import load_config
from replicate_eval.config.providers import TOKEN_ENV_VARS
from replicate_eval.config.selection import parse_selection, select_tests
from replicate_eval.config.types import EvalConfig
from replicate_eval.errors import CellError, ConfigError
from replicate_eval.events import (
    CellFinished,
    EventCallback,
    Interrupted,
    Notice,
    PreflightFinished,
    PreflightStarted,
    RunStarted,
)
from replicate_eval.min_pass import check_min_pass, with_min_pass
from replicate_eval.plan import Plan, build_plan
from replicate_eval.redact import REDACT, redacted
from replicate_eval.results_file import read_results_as
from replicate_eval.stop_signals import run_until_stopped, second_interrupt
from replicate_eval.usercode.limits import DEFAULT_TIME_LIMIT

if TYPE_CHECKING:  # the engine (the SDK, the cache, the reports) is imported when used, so
    # that loading and validating a config without the preflight stays quick (`reval validate`)
    from replicate_eval.cache import ResponseCache
    from replicate_eval.history.rerun import CarryOver
    from replicate_eval.preflight import Finding
    from replicate_eval.report.files import Written
    from replicate_eval.results import CellResult, RunResult
    from replicate_eval.runner import RunOptions


_T = TypeVar("_T")


class PreflightFailed(ConfigError):
    """The preflight found inputs a model would refuse; nothing was run."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        errors = [finding for finding in self.findings if finding.severity == "error"]
        listed = "; ".join(str(finding) for finding in errors)
        super().__init__(
            f"the preflight found {len(errors)} problem(s) in the providers' inputs; nothing "
            f"was run: {listed}"
        )


class CacheUnavailable(ConfigError):
    """The response cache asked for cannot be opened."""


@dataclass(frozen=True)
class EvalOptions:
    """How ``evaluate()`` runs a config: the options of ``reval run``, by the same names."""

    # None here: the config's `evaluateOptions` (promptfoo's), else 8 cells, no repeat, a cache.
    max_concurrency: int | None = None
    timeout: float | None = None  # seconds per prediction; a provider's `timeout` wins
    max_retry_wait: float = 600.0  # seconds one cell may wait out rate limits (429)
    retries: int = 4  # after a server or network error
    retry_failed: bool = False  # also run a prediction again when the model fails
    # True: the default folder ($XDG_CACHE_HOME/reval), False: no cache, a path: that folder.
    cache: bool | Path | None = None
    preflight: bool = True  # check the inputs against the models' schemas first
    strict: bool = False  # inputs a model does not have are errors, not warnings
    repeat: int | None = None  # runs of every cell, each its own prediction
    # A test x prompt x provider passes when at least this many of its runs pass (min_pass.py);
    # None: every run must. At most `repeat`.
    min_pass: int | None = None
    output_dir: Path | None = None  # where images go; None: reval-output/RUN-ID
    check_timeout: float = DEFAULT_TIME_LIMIT  # seconds per call of the config's Python code
    # Run only part of an earlier run again, carrying the rest over (history/rerun.py).
    carry_over: CarryOver | None = None


@dataclass(frozen=True)
class Validation:
    """What ``validate()`` found: a config is fine when ``ok`` (warnings allowed)."""

    cells: int
    problems: tuple[str, ...]  # cells that cannot run: a missing var, a malformed chat
    findings: tuple[Finding, ...]  # the preflight's, when it ran
    warnings: tuple[str, ...]  # the config's own

    @property
    def errors(self) -> int:
        return len(self.problems) + sum(f.severity == "error" for f in self.findings)

    @property
    def ok(self) -> bool:
        return self.errors == 0


def load(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    vars: Mapping[str, str] | None = None,
    env_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    filter_pattern: str | None = None,
    filter_first_n: int | None = None,
    shard: str | None = None,
    grader: str | None = None,
    require_token: bool = True,
    base_dir: str | os.PathLike[str] | None = None,
) -> EvalConfig:
    """A config file (a path) or a config as data (a dict, as the YAML would hold it), checked.

    ``vars`` wins over every test's vars (``--var``); ``filter_pattern``, ``filter_first_n`` and
    ``shard`` ("I/N") select tests as the CLI options do. ``env`` is the environment to read
    tokens and settings from (default: ``os.environ``); ``env_file`` adds to it (default: the
    ``.env`` beside the config). Files a dict names are found from ``base_dir`` (default: the
    current folder). Raises ``ConfigError`` listing every problem.
    """
    if isinstance(source, Mapping):
        path = Path(base_dir or Path.cwd()).resolve() / "<config>"
        text: str | None = _as_yaml(source)
    else:
        path, text = Path(source), None
    variables = dict(os.environ if env is None else env)
    values = environment(path, None if env_file is None else Path(env_file), variables)
    for name in TOKEN_ENV_VARS:
        remember_secret(values.get(name))
    use_base_url(values)
    config = load_config(path, values, grader=grader, require_token=require_token, text=text)
    for provider in (*config.providers, *config.graders):
        remember_secret(provider.token.get_secret_value())
    config = select_tests(config, parse_selection(filter_pattern, filter_first_n, vars, shard))
    if not config.tests and config.shard is None:
        raise ConfigError(f"{path}: no test is selected by --filter-pattern/--filter-first-n")
    return config


def validate(
    config: EvalConfig,
    *,
    preflight: bool = True,
    strict: bool = False,
    cache: bool | Path | None = None,
    on_event: EventCallback | None = None,
) -> Validation:
    """Everything ``evaluate()`` checks before its first prediction, without making one."""
    emit = on_event or _ignore
    plan = build_plan(config)
    # One line per broken (test, prompt): the providers share the same rendering.
    problems = tuple(dict.fromkeys(_cell_problems(plan)))
    findings: tuple[Finding, ...] = ()
    if preflight:
        with _opened_cache(config.run_defaults.cache if cache is None else cache, emit) as opened:
            findings = _check_models(config, strict, opened, emit, plan)
    return Validation(len(plan.cells), problems, findings, config.warnings)


def evaluate(
    config: EvalConfig,
    options: EvalOptions | None = None,
    *,
    on_event: EventCallback | None = None,
    on_second_interrupt: Callable[[], None] | None = None,
) -> RunResult:
    """Run every cell of ``config`` and return the results (tokens masked).

    On the main thread, Ctrl-C, SIGTERM and SIGHUP stop the run cleanly: running predictions
    are canceled and the result holds the cells that finished (``complete`` is False). A second
    one calls ``on_second_interrupt`` (default: stop local model servers and raise
    KeyboardInterrupt). Raises ``PreflightFailed`` when an input is wrong (nothing is run).
    """
    return run_until_stopped(
        lambda stop: evaluate_async(config, options, on_event=on_event, stop=stop),
        lambda: (on_event or _ignore)(Interrupted()),
        on_second_interrupt or second_interrupt,
    )


async def evaluate_async(
    config: EvalConfig,
    options: EvalOptions | None = None,
    *,
    on_event: EventCallback | None = None,
    stop: asyncio.Event | None = None,
) -> RunResult:
    """``evaluate()`` for a running event loop; setting ``stop`` interrupts the run."""
    from replicate_eval.history.rerun import carried_notice, split_plan, with_carried
    from replicate_eval.runner import digest, run_eval

    options = options or EvalOptions()
    settled = _settled(options, config)
    # Before any prediction; N is the config's when the options leave it open.
    where = None if options.repeat else "the config's evaluateOptions.repeat, else 1"
    check_min_pass(options.min_pass, settled.repeat, repeat_from=where)
    emit = on_event or _ignore
    plan = build_plan(config, repeat=settled.repeat)  # for the preflight and the run
    carry, split = options.carry_over, None
    if carry is not None:
        split = split_plan(plan, carry, config_sha256=digest(config.path))
        plan = split.to_run
        emit(Notice(carried_notice(split, carry), level="info"))
        for note in split.notes:
            emit(Notice(note))
    versions_seen: dict[tuple[str, str], str] = {}  # the preflight's reads, for the run
    with _opened_cache(settled.cache, emit) as cache:
        if options.preflight:
            findings = await _unless_stopped(
                _check_models_async(config, options.strict, cache, emit, plan, versions_seen),
                stop,
            )
            if any(finding.severity == "error" for finding in findings):
                raise PreflightFailed(findings)
        total = len(plan.cells)
        emit(RunStarted(total))
        done = 0

        def finished(cell: CellResult) -> None:
            nonlocal done
            done += 1
            emit(CellFinished(cell, done, total))

        result = await run_eval(
            config,
            _run_options(options, settled, config, cache, versions_seen),
            finished,
            stop,
            plan=plan,
        )
        for problem in dict.fromkeys(cache.problems if cache else []):
            emit(Notice(problem))
    if split is not None:
        result = with_carried(result, split)
    # Whatever a model or a server echoed, no token reaches the caller or a file.
    return redacted(with_min_pass(result, options.min_pass))


def read_results(path: str | os.PathLike[str]) -> RunResult:
    """A results file written by ``reval run -o results.json`` (or ``write_results``)."""
    from replicate_eval.results import RunResult

    return read_results_as(path, RunResult)


def write_results(
    result: RunResult,
    paths: Sequence[str | os.PathLike[str]],
    *,
    html_images: Literal["embed", "link"] = "embed",
    markdown_appendix: str = "",
) -> Written:
    """Write ``result`` to each path by its suffix (.json .html .csv .xml .md), and the HTML
    report beside the images when a model made some. One file that cannot be written does not
    stop the others: ``Written.failures`` says which. Raises UsageError for an unknown suffix."""
    from replicate_eval.report.files import ReportOptions, check_output_paths, write_outputs

    targets = [Path(path) for path in paths]
    check_output_paths(targets)
    options = ReportOptions(html_images=html_images, markdown_appendix=markdown_appendix)
    return write_outputs(redacted(result), targets, options)


def remember_secret(value: str | None) -> None:
    """A token, however it is written (a stray newline or space inside it too)."""
    for secret in {value or "", *(value or "").split()}:
        REDACT.add(secret)


def use_base_url(env: Mapping[str, str]) -> None:
    """Check REPLICATE_BASE_URL (also from the env file, which the SDK does not read)."""
    value = env.get("REPLICATE_BASE_URL", "")
    problem = base_url_problem(value)
    if problem:
        raise ConfigError(
            f"environment variable REPLICATE_BASE_URL={value!r} {problem}; unset it to use "
            "https://api.replicate.com"
        )
    if value:
        os.environ.setdefault("REPLICATE_BASE_URL", value)


def open_cache_at(folder: Path, on_event: EventCallback | None = None) -> ResponseCache:
    """The response cache in ``folder``; a damaged one is replaced, with a Notice."""
    from replicate_eval.cache import ResponseCache

    cache = ResponseCache(folder)
    for damage in cache.repaired:
        (on_event or _ignore)(Notice(f"{damage.describe()}; using a fresh cache"))
    return cache


class _opened_cache:
    """The cache ``EvalOptions.cache`` asks for, closed afterwards. The default folder being
    unusable (XDG_CACHE_HOME a file, a read-only home) costs a Notice: the cache saves money,
    it is not needed to run. A folder given by path that cannot be used is an error."""

    def __init__(self, choice: bool | Path, emit: EventCallback) -> None:
        from replicate_eval.cache import default_cache_dir

        self._cache: ResponseCache | None = None
        if choice is False:
            return
        folder = default_cache_dir(os.environ) if choice is True else Path(choice)
        try:
            self._cache = open_cache_at(folder, emit)
        except (OSError, sqlite3.Error) as exc:
            if choice is not True:
                raise CacheUnavailable(f"cannot open the response cache: {exc}") from None
            emit(Notice(f"cannot open the response cache in {folder} ({exc}); running without it"))

    def __enter__(self) -> ResponseCache | None:
        return self._cache

    def __exit__(self, *_: object) -> None:
        if self._cache is not None:
            self._cache.close()


@dataclass(frozen=True)
class _Settled:
    """What ``EvalOptions`` leave open (None), taken from the config's `evaluateOptions`."""

    max_concurrency: int
    repeat: int
    cache: bool | Path


def _settled(options: EvalOptions, config: EvalConfig) -> _Settled:
    defaults = config.run_defaults
    return _Settled(
        max_concurrency=options.max_concurrency or defaults.max_concurrency,
        repeat=options.repeat or defaults.repeat,
        cache=defaults.cache if options.cache is None else options.cache,
    )


def _run_options(
    options: EvalOptions,
    settled: _Settled,
    config: EvalConfig,
    cache: ResponseCache | None,
    known_versions: Mapping[tuple[str, str], str],
) -> RunOptions:
    from replicate_eval.providers.replicate.predictions import RetryPolicy
    from replicate_eval.runner import RunOptions

    return RunOptions(
        max_concurrency=settled.max_concurrency,
        output_dir=options.output_dir,
        timeout=options.timeout if options.timeout is not None else config.run_defaults.timeout,
        retry=RetryPolicy(
            max_retry_wait=options.max_retry_wait,
            retries=options.retries,
            failed_reruns=options.retries if options.retry_failed else 0,
        ),
        cache=cache,
        repeat=settled.repeat,
        shard=config.shard,
        check_timeout=options.check_timeout,
        known_versions=known_versions,
    )


async def _unless_stopped(work: Coroutine[Any, Any, _T], stop: asyncio.Event | None) -> _T:
    """``work``, canceled when ``stop`` is set first: a Ctrl-C during the preflight ends the
    call at once with KeyboardInterrupt (nothing has run, so there is no result to return)."""
    if stop is None:
        return await work
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        stopping.cancel()
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    raise KeyboardInterrupt


def _check_models(
    config: EvalConfig,
    strict: bool,
    cache: ResponseCache | None,
    emit: EventCallback,
    plan: Plan,
) -> tuple[Finding, ...]:
    return asyncio.run(_check_models_async(config, strict, cache, emit, plan))


async def _check_models_async(
    config: EvalConfig,
    strict: bool,
    cache: ResponseCache | None,
    emit: EventCallback,
    plan: Plan,
    versions_seen: dict[tuple[str, str], str] | None = None,
) -> tuple[Finding, ...]:
    from replicate_eval.preflight_config import check_config_models

    emit(PreflightStarted())
    findings = tuple(
        await check_config_models(
            config, strict=strict, cache=cache, plan=plan, versions_seen=versions_seen
        )
    )
    emit(PreflightFinished(findings))
    return findings


def _cell_problems(plan: Plan) -> list[str]:
    """What would make cells errors before any call: a missing var, a malformed chat."""
    problems = []
    for cell in plan.cells:
        if cell.error:
            problems.append(f"tests[{cell.test.index}]: {cell.error}")
        elif cell.rendered_prompt is not None and cell.provider.capabilities.chat:
            try:
                parse_chat(cell.rendered_prompt)
            except CellError as exc:
                problems.append(f"tests[{cell.test.index}], prompt `{cell.prompt.label}`: {exc}")
    return problems


def _as_yaml(data: Mapping[str, Any]) -> str:
    try:
        return yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as exc:
        raise ConfigError(f"the config holds a value YAML cannot write: {exc}") from None


def _plain(value: Any) -> Any:
    """Mappings and sequences of any kind as dicts and lists, which safe_dump writes."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _ignore(_: object) -> None:
    pass
