"""Running a plan: every cell concurrently, each one call and its assertions.

The runner never prints. It reports each finished cell through ``on_cell_done`` and returns a
``RunResult``; the CLI decides what the user sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from replicate_eval import __version__
from replicate_eval.cache import CacheKey, ResponseCache
from replicate_eval.comparisons import Comparisons
from replicate_eval.config.types import EvalConfig
from replicate_eval.errors import ApiError, CellError, ProviderError
from replicate_eval.grading import CellGrader, cell_result
from replicate_eval.history.git import git_info
from replicate_eval.judging.calls import Graders
from replicate_eval.named_metrics import as_info, metric_totals
from replicate_eval.plan import Cell, Plan, build_plan
from replicate_eval.providers.base import Provider, ProviderResponse
from replicate_eval.providers.build import build_providers
from replicate_eval.providers.cog.server import CogServers
from replicate_eval.providers.images import ImageStore
from replicate_eval.providers.replicate.predictions import RetryPolicy
from replicate_eval.providers.replicate.session import ReplicateSession
from replicate_eval.providers.replicate.versions import resolve_versions
from replicate_eval.providers.resources import RunResources
from replicate_eval.results import (
    CellResult,
    PromptInfo,
    ProviderInfo,
    RunResult,
    TestInfo,
    count,
)
from replicate_eval.stats import RunStats
from replicate_eval.usercode.limits import DEFAULT_TIME_LIMIT
from replicate_eval.usercode.pool import UserCodePool

CellCallback = Callable[[CellResult], None]


DEFAULT_OUTPUT_ROOT = Path("reval-output")


@dataclass(frozen=True)
class RunOptions:
    max_concurrency: int = 8
    # Where images are saved; None: reval-output/<run-id>/. Created only if a model makes one.
    output_dir: Path | None = None
    timeout: float | None = None  # seconds per prediction; a provider's `timeout` wins
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    cache: ResponseCache | None = None  # None: neither read nor write cached responses
    repeat: int = 1  # runs of every cell, each its own prediction
    shard: str | None = None  # "I/N" when the tests were a shard's, for the results
    check_timeout: float = DEFAULT_TIME_LIMIT  # seconds per call of the config's Python code
    # Model versions the preflight read moments ago (namespace, owner/name → version).
    known_versions: Mapping[tuple[str, str], str] = field(default_factory=dict)


async def run_eval(
    config: EvalConfig,
    options: RunOptions,
    on_cell_done: CellCallback | None = None,
    stop: asyncio.Event | None = None,
    plan: Plan | None = None,
) -> RunResult:
    """Run every cell of ``config`` (its ``plan``, when the caller built it already). Setting
    ``stop`` interrupts the run: cells not yet started are skipped, running predictions are
    canceled, and the result says it is incomplete."""
    plan = plan or build_plan(config, repeat=options.repeat)
    # Which commit is evaluated: asked of git while the run goes on (it blocks).
    repository = asyncio.ensure_future(asyncio.to_thread(git_info, config.path.parent))
    started_at = datetime.now(timezone.utc)
    run_id = f"{started_at:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    clock = time.perf_counter()
    stats = RunStats()  # every counter of the run, kept by what does the work
    # Room for every concurrent call plus its polls, so no call waits for a connection.
    session = ReplicateSession(
        max_connections=options.max_concurrency * 2,
        policy=options.retry,
        timeout=options.timeout,
        stats=stats,
    )
    images = ImageStore(options.output_dir or DEFAULT_OUTPUT_ROOT / run_id)
    cog = CogServers(stats=stats)
    user_code = UserCodePool(time_limit=options.check_timeout)
    async with contextlib.AsyncExitStack() as cleanup:
        cleanup.push_async_callback(user_code.aclose)
        cleanup.push_async_callback(session.aclose)
        cleanup.push_async_callback(images.aclose)
        # Local model servers stop however the run ends: done, failed or interrupted.
        cleanup.push_async_callback(cog.aclose)
        resources = RunResources(session, images, cog, timeout=options.timeout)
        providers = build_providers(config.providers, resources)
        versions = await resolve_versions(config.providers, session, options.known_versions)
        unknown = [p for p in config.providers if p.index in versions and not versions[p.index]]
        if options.cache is not None and unknown:
            # Its "latest" entries may be an older version's: neither read nor written.
            names = ", ".join(f"`{p.label}`" for p in unknown)
            options.cache.problems.append(
                f"could not find out which model version {names} runs now: its answers are "
                "neither read from nor written to the response cache in this run"
            )
        graders = Graders(config.graders, session, options.cache, stats)
        runner = _CellRunner(providers, images, options.cache, graders, user_code, versions)
        comparisons = Comparisons(plan, graders)
        cells = await _execute(
            plan, runner, comparisons, options.max_concurrency, on_cell_done, stop
        )
        interrupted = len(cells) < len(plan.cells)
        if session.has_orphans:
            # Create requests cut short may have started predictions we have no id for.
            await session.cancel_orphans()
    totals = count(
        cells, planned=len(plan.cells), wall_time_s=time.perf_counter() - clock, stats=stats
    )
    return RunResult(
        run_id=run_id,
        reval_version=__version__,
        config_path=str(config.path),
        description=config.description,
        metadata=dict(config.metadata),
        started_at=started_at.isoformat(),
        finished_at=datetime.now(timezone.utc).isoformat(),
        complete=not interrupted,
        repeat=options.repeat,
        shard=options.shard,
        selected=config.selected,
        config_sha256=digest(config.path),
        git=await repository,
        output_dir=str(images.folder) if any(cell.images for cell in cells) else None,
        prompts=[
            PromptInfo(index=p.index, label=p.label, template=p.template) for p in config.prompts
        ],
        providers=[
            ProviderInfo(index=p.index, id=p.id, label=p.label, version=versions.get(p.index))
            for p in config.providers
        ],
        tests=[
            TestInfo(
                index=t.index,
                description=t.description,
                vars=dict(t.vars),
                metadata=dict(t.metadata),
            )
            for t in config.tests
        ],
        cells=cells,
        totals=totals,
        named_metrics=metric_totals(cells, config.derived_metrics),
        derived_metrics=as_info(config.derived_metrics),
    )


def digest(path: Path) -> str | None:
    """The SHA-256 of the config file's bytes (None when it cannot be read)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


async def _execute(
    plan: Plan,
    runner: _CellRunner,
    comparisons: Comparisons,
    max_concurrency: int,
    on_cell_done: CellCallback | None,
    stop: asyncio.Event | None,
) -> list[CellResult]:
    """Every cell, at most ``max_concurrency`` at once; the finished ones, in plan order. The
    cells of a test with comparative assertions are reported once the test's last is in."""
    slots = asyncio.Semaphore(max_concurrency)
    settled: dict[int, CellResult] = {}  # id of a held-back result -> its final form

    def report(results: Sequence[CellResult]) -> None:
        for result in results:
            if on_cell_done:
                on_cell_done(result)

    async def settle(group: list[tuple[Cell, CellResult]], *, complete: bool) -> None:
        final = await comparisons.settle(group, complete=complete)
        settled.update((id(held), done) for (_, held), done in zip(group, final, strict=True))
        report(final)

    async def run_one(cell: Cell) -> CellResult:
        async with slots:
            result = await runner.run(cell)
            if comparisons.waits(cell):
                group = comparisons.add(cell, result)
                if group is not None:  # the test's last cell: compare its outputs
                    await settle(group, complete=True)
                return result
        report([result])
        return result

    tasks = [asyncio.ensure_future(run_one(cell)) for cell in plan.cells]
    watcher = asyncio.ensure_future(_cancel_when_set(stop, tasks)) if stop else None
    try:
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        if watcher:
            watcher.cancel()
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
            raise outcome
    for group in comparisons.unfinished():  # an interrupted run: compare nothing, say why
        await settle(group, complete=False)
    done = [outcome for outcome in outcomes if isinstance(outcome, CellResult)]
    return [settled.get(id(result), result) for result in done]


async def _cancel_when_set(
    stop: asyncio.Event, tasks: Sequence[asyncio.Future[CellResult]]
) -> None:
    await stop.wait()
    for task in tasks:
        task.cancel()


class _CellRunner:
    """One cell: build the input, answer from the cache or call the model, then grade."""

    def __init__(
        self,
        providers: Mapping[int, Provider],
        images: ImageStore,
        cache: ResponseCache | None,
        graders: Graders,
        user_code: UserCodePool,
        versions: Mapping[int, str | None],
    ) -> None:
        self._providers = providers
        self._versions = versions
        self._images = images
        self._cache = cache
        self._grader = CellGrader(graders, user_code)
        # A provider that got an account- or model-wide error (401, 404...) is not called again.
        self._blocked: dict[int, ApiError] = {}

    async def run(self, cell: Cell) -> CellResult:
        try:
            return await self._run(cell)
        except Exception as exc:
            # A bug in reval fails this cell, not the run and every other cell's result.
            if os.environ.get("REVAL_DEBUG"):
                raise
            return cell_result(
                cell,
                status="error",
                error=f"internal error in reval: {type(exc).__name__}: {exc} "
                "(a bug; REVAL_DEBUG=1 shows the traceback)",
            )

    async def _run(self, cell: Cell) -> CellResult:
        if cell.error or cell.rendered_prompt is None:
            return cell_result(cell, status="error", error=cell.error or "prompt was not rendered")
        provider = self._providers[cell.provider.index]
        try:
            model_input = provider.build_input(cell.rendered_prompt)
        except CellError as exc:  # a chat this model cannot take, say: name the prompt
            source = f" ({cell.prompt.source})" if cell.prompt.source else ""
            where = f"prompt `{cell.prompt.label}`{source}"
            return cell_result(cell, status="error", error=f"{where}: {exc}")
        # A local Cog model changes as its author works on it: its type says it is not cached.
        # Repeats are distinct predictions: only the first run of a cell uses the cache.
        version = self._versions.get(cell.provider.index)
        # A Replicate model whose current version could not be looked up: the cache's
        # "latest" entry may be an older version's answer.
        resolved = version is not None or cell.provider.index not in self._versions
        cacheable = (
            self._cache is not None
            and cell.provider.capabilities.cacheable
            and cell.repeat == 0
            and resolved
        )
        key = ResponseCache.key(cell.provider, model_input, version) if cacheable else None
        cached = await self._from_cache(key)
        if cached is not None:
            return await self._grader.graded(cell, model_input, cached, cached=True)
        earlier = self._blocked.get(cell.provider.index)
        if earlier is not None:
            return cell_result(
                cell,
                status="error",
                model_input=model_input,
                error=f"{earlier} (not sent: an earlier call got this error)",
            )
        try:
            response = await provider.call(model_input)
        except ProviderError as exc:
            if isinstance(exc, ApiError) and exc.provider_wide:
                self._blocked[cell.provider.index] = exc
            return cell_result(
                cell,
                status="error",
                model_input=model_input,
                error=str(exc),
                prediction_id=exc.prediction_id,
                metrics=exc.metrics,
            )
        finally:
            # promptfoo's provider `delay`: a pause after each call made (not after a cached
            # answer), holding the cell's slot, so calls are spaced out.
            if cell.provider.delay_s:
                await asyncio.sleep(cell.provider.delay_s)
        if self._cache is not None and key is not None:
            await asyncio.to_thread(self._cache.put, key, response)
        return await self._grader.graded(cell, model_input, response, cached=False)

    async def _from_cache(self, key: CacheKey | None) -> ProviderResponse | None:
        if self._cache is None or key is None:
            return None
        response = await asyncio.to_thread(self._cache.get, key)
        if response is None or not response.images:
            return response
        # Images live in the run that made them: copy them into this run's folder.
        images = await self._images.adopt(response.images)
        return replace(response, images=tuple(images)) if images is not None else None
