"""Running a plan: every cell concurrently, each one call and its assertions.

The runner never prints. It reports each finished cell through ``on_cell_done`` and returns a
``RunResult``; the CLI decides what the user sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from replicate_eval import __version__
from replicate_eval.assertions import CheckContext, Verdict, evaluate, grade
from replicate_eval.config import EvalConfig
from replicate_eval.errors import ApiError, CellError, ProviderError
from replicate_eval.plan import Cell, Plan, build_plan
from replicate_eval.providers import Provider, ProviderResponse, build_providers
from replicate_eval.providers.images import ImageStore
from replicate_eval.providers.replicate.session import ReplicateSession
from replicate_eval.results import (
    AssertionResult,
    CellResult,
    CellStatus,
    ImageResult,
    PromptInfo,
    ProviderInfo,
    RunResult,
    TestInfo,
    count,
)

CellCallback = Callable[[CellResult], None]


DEFAULT_OUTPUT_ROOT = Path("reval-output")


@dataclass(frozen=True)
class RunOptions:
    max_concurrency: int = 8
    # Where images are saved; None: reval-output/<run-id>/. Created only if a model makes one.
    output_dir: Path | None = None


async def run_eval(
    config: EvalConfig, options: RunOptions, on_cell_done: CellCallback | None = None
) -> RunResult:
    plan = build_plan(config)
    started_at = datetime.now(timezone.utc)
    run_id = f"{started_at:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    clock = time.perf_counter()
    # Room for every concurrent call plus its polls, so no call waits for a connection.
    session = ReplicateSession(max_connections=options.max_concurrency * 2)
    images = ImageStore(options.output_dir or DEFAULT_OUTPUT_ROOT / run_id)
    async with contextlib.AsyncExitStack() as cleanup:
        cleanup.push_async_callback(session.aclose)
        cleanup.push_async_callback(images.aclose)
        providers = build_providers(config.providers, session, images)
        cells = await _execute(plan, providers, options, on_cell_done)
    totals = count(
        cells, predictions=session.predictions_created, wall_time_s=time.perf_counter() - clock
    )
    return RunResult(
        run_id=run_id,
        reval_version=__version__,
        config_path=str(config.path),
        description=config.description,
        started_at=started_at.isoformat(),
        finished_at=datetime.now(timezone.utc).isoformat(),
        complete=True,
        output_dir=str(images.folder) if any(cell.images for cell in cells) else None,
        prompts=[
            PromptInfo(index=p.index, label=p.label, template=p.template) for p in config.prompts
        ],
        providers=[ProviderInfo(index=p.index, id=p.id, label=p.label) for p in config.providers],
        tests=[
            TestInfo(index=t.index, description=t.description, vars=dict(t.vars))
            for t in config.tests
        ],
        cells=cells,
        totals=totals,
    )


async def _execute(
    plan: Plan,
    providers: Mapping[int, Provider],
    options: RunOptions,
    on_cell_done: CellCallback | None,
) -> list[CellResult]:
    slots = asyncio.Semaphore(options.max_concurrency)
    # A provider that got an account- or model-wide error (401, 404...) is not called again.
    blocked: dict[int, ApiError] = {}

    async def run_one(cell: Cell) -> CellResult:
        async with slots:
            try:
                result = await _run_cell(cell, providers[cell.provider.index], blocked)
            except Exception as exc:
                # A bug in reval fails this cell, not the run and every other cell's result.
                if os.environ.get("REVAL_DEBUG"):
                    raise
                result = _result(
                    cell,
                    status="error",
                    error=f"internal error in reval: {type(exc).__name__}: {exc} "
                    "(a bug; REVAL_DEBUG=1 shows the traceback)",
                )
        if on_cell_done:
            on_cell_done(result)
        return result

    return list(await asyncio.gather(*(run_one(cell) for cell in plan.cells)))


async def _run_cell(cell: Cell, provider: Provider, blocked: dict[int, ApiError]) -> CellResult:
    if cell.error or cell.rendered_prompt is None:
        return _result(cell, status="error", error=cell.error or "prompt was not rendered")
    try:
        model_input = provider.build_input(cell.rendered_prompt)
    except CellError as exc:
        return _result(cell, status="error", error=str(exc))
    earlier = blocked.get(cell.provider.index)
    if earlier is not None:
        return _result(
            cell,
            status="error",
            model_input=model_input,
            error=f"{earlier} (not sent: an earlier call got this error)",
        )
    try:
        response = await provider.call(model_input)
    except ProviderError as exc:
        if isinstance(exc, ApiError) and exc.provider_wide:
            blocked[cell.provider.index] = exc
        return _result(
            cell,
            status="error",
            model_input=model_input,
            error=str(exc),
            prediction_id=exc.prediction_id,
            metrics=exc.metrics,
        )
    return _graded(cell, model_input, response)


def _graded(cell: Cell, model_input: dict[str, Any], response: ProviderResponse) -> CellResult:
    context = CheckContext(
        vars=cell.test.vars,
        prompt=cell.rendered_prompt or "",
        latency_ms=response.latency_ms,
        provider_id=cell.provider.id,
        images=response.images,
    )
    verdicts = [evaluate(spec, response.output, context) for spec in cell.assertions]
    outcome = grade(verdicts, cell.test.threshold)
    return _result(
        cell,
        status="passed" if outcome.passed else "failed",
        model_input=model_input,
        output=response.output,
        images=[ImageResult.model_validate(image.as_dict()) for image in response.images],
        score=outcome.score,
        reason=outcome.reason,
        assertions=[_assertion_result(v) for v in verdicts],
        latency_ms=round(response.latency_ms, 1),
        prediction_id=response.prediction_id,
        metrics=dict(response.metrics),
    )


def _assertion_result(verdict: Verdict) -> AssertionResult:
    return AssertionResult(
        type=verdict.type,
        value=verdict.value,
        weight=verdict.weight,
        passed=verdict.passed,
        score=verdict.score,
        reason=verdict.reason,
    )


def _result(
    cell: Cell, *, status: CellStatus, model_input: dict[str, Any] | None = None, **fields: Any
) -> CellResult:
    return CellResult(
        test_index=cell.test.index,
        prompt_index=cell.prompt.index,
        provider_index=cell.provider.index,
        test_description=cell.test.description,
        prompt_label=cell.prompt.label,
        provider_id=cell.provider.id,
        provider_label=cell.provider.label,
        vars=dict(cell.test.vars),
        rendered_prompt=cell.rendered_prompt,
        input=model_input,
        status=status,
        **fields,
    )
