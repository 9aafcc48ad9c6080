"""Running one prediction to the end: paced, retried, polled, timed out or canceled.

The rules, in order of a prediction's life:

* creation waits for the account's ``CreationPacer``; a 429 pauses the account for
  ``retry_after`` and is retried until the cell has spent ``max_retry_wait`` throttled;
* a 5xx or a network error is retried with exponential backoff and jitter, a few times;
* the create call holds with ``Prefer: wait``; a prediction still running after it is polled,
  each poll going through the run's ``PollBudget``, at intervals that grow with its age;
* past ``timeout`` (or when the run is interrupted) the prediction is canceled through the API,
  so nothing reval started keeps running, and paying, on Replicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from replicate_eval.config import ReplicateTarget
from replicate_eval.errors import ApiError, NetworkError, ProviderError
from replicate_eval.providers.replicate.api import PredictionState, ReplicateApi
from replicate_eval.providers.replicate.limits import CreationPacer, PollBudget

# Replicate holds a `Prefer: wait` request for at most 60 s.
LONGEST_WAIT = 60


@dataclass(frozen=True)
class RetryPolicy:
    max_retry_wait: float = 600.0  # seconds one cell may spend throttled (429) before it errors
    attempts: int = 4  # retries after a 5xx or a network error
    first_backoff: float = 0.5
    longest_backoff: float = 8.0
    retry_failed: int = 0  # new predictions after one fails (a model error)

    def backoff(self, attempt: int) -> float:
        """Exponential, capped, with jitter so that many cells do not retry in step."""
        ceiling: float = min(self.longest_backoff, self.first_backoff * 2.0 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)


def poll_delay(age: float, expected: float | None = None) -> float:
    """Seconds until the next poll of a prediction ``age`` seconds old.

    Without history, a seventh of its age: it is seen finished at most ~15% after it did, and
    a long one is polled rarely. When the model's recent predictions took ``expected`` seconds,
    the polls before that are skipped and the ones just after it come quickly, so the poll
    budget is spent where predictions finish. Never under 0.1 s (0.05 s right at the expected
    end) or over 5 s.
    """
    usual = min(5.0, max(0.1, age / 7))
    if expected is None:
        return usual
    if age < expected:
        return min(5.0, max(0.05, expected - age + 0.02))
    return min(usual, max(0.1, (age - expected) / 3))


class PredictionClient:
    """Runs predictions on one target (model, version or deployment) for one account."""

    def __init__(
        self,
        api: ReplicateApi,
        target: ReplicateTarget,
        *,
        pacer: CreationPacer,
        polls: PollBudget,
        policy: RetryPolicy,
        timeout: float | None,
        on_created: Callable[[], None],
        on_orphan: Callable[[ReplicateApi, dict[str, Any]], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._target = target
        self._pacer = pacer
        self._polls = polls
        self._policy = policy
        self._timeout = timeout
        self._on_created = on_created
        self._on_orphan = on_orphan
        self._clock = clock
        # For `owner/name` of a community model: the version its latest release resolved to.
        self._resolved_version: str | None = None
        # How long this target's recent predictions took on Replicate (metrics.total_time).
        self._durations: deque[float] = deque(maxlen=25)

    async def run_to_success(self, model_input: dict[str, Any]) -> tuple[PredictionState, float]:
        """Run a prediction; its final state and the milliseconds it took, if it succeeded.

        A failed prediction is run again ``retry_failed`` times. Raises PredictionError for a
        failed, canceled or aborted prediction.
        """
        started = time.perf_counter()
        for _ in range(self._policy.retry_failed + 1):
            state = await self.run(model_input)
            if state.status != "failed":
                break
        latency_ms = (time.perf_counter() - started) * 1000
        state.raise_unless_succeeded()
        return state, latency_ms

    async def run(self, model_input: dict[str, Any]) -> PredictionState:
        started = self._clock()
        deadline = started + self._timeout if self._timeout else None
        state = await self._create(model_input, deadline)
        self._on_created()
        try:
            while not state.done:
                now = self._clock()
                if deadline is not None and now >= deadline:
                    await self._cancel(state.id)
                    raise ProviderError(
                        f"timed out after {self._timeout:g} s; reval canceled the prediction",
                        prediction_id=state.id,
                        metrics=state.metrics,
                    )
                delay = poll_delay(now - started, self._expected_duration())
                await asyncio.sleep(delay if deadline is None else min(delay, deadline - now))
                if deadline is not None and self._clock() >= deadline:
                    continue
                await self._polls.acquire()
                state = await self._reload(state.id)
        except asyncio.CancelledError:
            # The run is being interrupted: leave nothing running (and billing) on Replicate.
            if not state.done:
                await asyncio.shield(self._cancel(state.id))
            raise
        total_time = state.metrics.get("total_time")
        if state.status == "succeeded" and isinstance(total_time, (int, float)):
            self._durations.append(float(total_time))
        return state

    def _expected_duration(self) -> float | None:
        return statistics.median(self._durations) if len(self._durations) >= 3 else None

    # --- creating ----------------------------------------------------------------------------
    async def _create(self, model_input: dict[str, Any], deadline: float | None) -> PredictionState:
        throttled_since: float | None = None
        failures = 0
        while True:
            await self._pacer.acquire()
            now = self._clock()
            if deadline is not None and now >= deadline:
                raise ProviderError(
                    f"timed out after {self._timeout:g} s before Replicate accepted the prediction"
                )
            wait = LONGEST_WAIT if deadline is None else int(min(LONGEST_WAIT, deadline - now))
            try:
                state = await self._create_once(model_input, max(wait, 1))
            except asyncio.CancelledError:
                # The request may have reached Replicate: the session finds and cancels it.
                self._on_orphan(self._api, model_input)
                raise
            except ApiError as exc:
                if exc.status == 429:
                    throttled_since = throttled_since or now
                    retry_after = exc.retry_after if exc.retry_after is not None else 1.0
                    if now + retry_after - throttled_since > self._policy.max_retry_wait:
                        raise ApiError(
                            f"{exc} (still throttled after {now - throttled_since:.0f} s; "
                            f"--max-retry-wait is {self._policy.max_retry_wait:g} s)",
                            status=429,
                        ) from None
                    self._pacer.throttled_for(retry_after, exc.detail)
                    continue
                if not exc.transient or failures >= self._policy.attempts:
                    raise
                failures += 1
                await asyncio.sleep(self._policy.backoff(failures))
                continue
            except NetworkError:
                if failures >= self._policy.attempts:
                    raise
                failures += 1
                await asyncio.sleep(self._policy.backoff(failures))
                continue
            self._pacer.succeeded()
            return state

    async def _create_once(self, model_input: dict[str, Any], wait: int) -> PredictionState:
        target = self._target
        version = target.version or self._resolved_version
        if version is None and not target.deployment:
            try:
                return await self._api.create(target, None, model_input, wait)
            except ApiError as exc:
                if exc.status != 404:
                    raise
            # Only official models run by name; any other model runs its latest version.
            version = self._resolved_version = await self._api.latest_version(target.slug)
        return await self._api.create(target, version, model_input, wait)

    # --- following ---------------------------------------------------------------------------
    async def _reload(self, prediction_id: str) -> PredictionState:
        attempt = 0
        while True:
            try:
                return await self._api.get(prediction_id)
            except (ApiError, NetworkError) as exc:
                retry = isinstance(exc, NetworkError) or (
                    isinstance(exc, ApiError) and exc.transient
                )
                if not retry or attempt >= self._policy.attempts:
                    raise
                attempt += 1
                await asyncio.sleep(self._policy.backoff(attempt))

    async def _cancel(self, prediction_id: str) -> None:
        """Best effort: a prediction that cannot be canceled now ends by itself later."""
        with contextlib.suppress(ProviderError):
            await self._api.cancel(prediction_id)
