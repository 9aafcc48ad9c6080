"""Running one prediction to the end: paced, retried, polled, timed out or canceled.

The rules, in order of a prediction's life:

* creation waits for the account's ``CreationPacer``; a 429 pauses the account for
  ``retry_after`` and is retried until the cell has spent ``max_retry_wait`` throttled;
* a 5xx or a network error is retried with exponential backoff and jitter, a few times; when
  the failed request may still have started a prediction (a reset, a read timeout, a 502/504),
  that prediction is looked for in the account's list first and followed if found, so the
  input is not paid for twice (claims.py); if it is not found, the duplicate is looked for
  again, and canceled, at the end of the run;
* the create call holds with ``Prefer: wait``; a prediction still running after it is polled,
  each poll going through the run's ``PollBudget``, at intervals that grow with its age;
* past ``timeout`` (or when the run is interrupted) the prediction is canceled through the API,
  so nothing reval started keeps running, and paying, on Replicate; the create request also
  carries the timeout as ``Cancel-After``, so Replicate cancels it even if reval is killed.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from replicate_eval.errors import ApiError, NetworkError, ProviderError
from replicate_eval.providers.replicate.api import PredictionState, ReplicateApi
from replicate_eval.providers.replicate.claims import Claims, CreateKey
from replicate_eval.providers.replicate.limits import CreationPacer, PollBudget
from replicate_eval.providers.types.targets import ReplicateTarget

# Seconds one cancel request may take before reval stops waiting for its answer.
CANCEL_WAIT = 10.0

# Replicate holds a `Prefer: wait` request for at most 60 s.
LONGEST_WAIT = 60


@dataclass(frozen=True)
class RetryPolicy:
    max_retry_wait: float = 600.0  # seconds one cell may spend throttled (429) before it errors
    retries: int = 4  # further attempts after a 5xx or a network error
    first_backoff: float = 0.5
    longest_backoff: float = 8.0
    failed_reruns: int = 0  # new predictions after one fails (a model error): --retry-failed

    def backoff(self, attempt: int) -> float:
        """Exponential, capped, with jitter so that many cells do not retry in step."""
        ceiling: float = min(self.longest_backoff, self.first_backoff * 2.0 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)


# Errors after which a create request may still have started a prediction on Replicate.
_AMBIGUOUS_STATUSES = frozenset({502, 504})


def _transient(exc: ProviderError) -> bool:
    """Worth another attempt: the server or the network failed, not the request."""
    return isinstance(exc, NetworkError) or (isinstance(exc, ApiError) and exc.transient)


class _Throttling:
    """How long one cell has been throttled, against --max-retry-wait."""

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float]) -> None:
        self._policy = policy
        self._clock = clock
        self._since: float | None = None

    def wait_for(self, exc: ApiError) -> float:
        """Seconds to wait before trying again; raises when the budget is spent."""
        now = self._clock()
        self._since = self._since if self._since is not None else now
        retry_after = exc.retry_after if exc.retry_after is not None else 1.0
        if now + retry_after - self._since > self._policy.max_retry_wait:
            raise ApiError(
                f"{exc} (still throttled after {now - self._since:.0f} s; "
                f"--max-retry-wait is {self._policy.max_retry_wait:g} s)",
                status=429,
                prediction_id=exc.prediction_id,
            ) from None
        return retry_after


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
        on_created: Callable[[str], None],
        claims: Claims,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._target = target
        self._pacer = pacer
        self._polls = polls
        self._policy = policy
        self._timeout = timeout
        self._on_created = on_created
        self._claims = claims
        self._clock = clock
        # For `owner/name` of a community model: the version its latest release resolved to.
        self._resolved_version: str | None = None
        # How long this target's recent predictions took on Replicate (metrics.total_time).
        self._durations: deque[float] = deque(maxlen=25)

    async def run_to_success(self, model_input: dict[str, Any]) -> tuple[PredictionState, float]:
        """Run a prediction; its final state and the milliseconds it took, if it succeeded.

        A failed prediction is run again ``failed_reruns`` times. Raises PredictionError for a
        failed, canceled or aborted prediction.
        """
        started = time.perf_counter()
        for _ in range(self._policy.failed_reruns + 1):
            state = await self.run(model_input)
            if state.status != "failed":
                break
        latency_ms = (time.perf_counter() - started) * 1000
        state.raise_unless_succeeded()
        return state, latency_ms

    async def run(self, model_input: dict[str, Any]) -> PredictionState:
        state, sent_at = await self._create(model_input)
        self._on_created(state.id)
        # The timeout counts from the request that created the prediction: time spent waiting
        # out rate limits before it is --max-retry-wait's business.
        deadline = sent_at + self._timeout if self._timeout else None
        try:
            while not state.done:
                now = self._clock()
                if deadline is not None and now >= deadline:
                    return await self._time_out(state)
                delay = poll_delay(now - sent_at, self._expected_duration())
                await asyncio.sleep(delay if deadline is None else min(delay, deadline - now))
                if deadline is not None and self._clock() >= deadline:
                    continue
                await self._polls.acquire()
                if deadline is None:
                    state = await self._reload(state.id)
                    continue
                try:
                    # A poll that hangs (a stalled connection) must not outlast the timeout.
                    reloading = self._reload(state.id)
                    state = await asyncio.wait_for(reloading, max(deadline - self._clock(), 0.05))
                except asyncio.TimeoutError:
                    continue  # the deadline has passed: the loop times the prediction out
        except BaseException:
            # Interrupted, or polling gave up: leave nothing running (and billing) on Replicate.
            if not state.done:
                await asyncio.shield(self._cancel(state.id))
            raise
        total_time = state.metrics.get("total_time")
        if state.status == "succeeded" and isinstance(total_time, (int, float)):
            self._durations.append(float(total_time))
        return state

    def _expected_duration(self) -> float | None:
        return statistics.median(self._durations) if len(self._durations) >= 3 else None

    async def _time_out(self, state: PredictionState) -> PredictionState:
        final = await self._cancel(state.id)
        if final is not None and final.status == "succeeded":
            return final  # it finished as we gave up: keep the result that was paid for
        outcome = (
            "reval canceled the prediction"
            if final is not None and final.done
            else "reval asked Replicate to cancel the prediction"
        )
        raise ProviderError(
            f"timed out after {self._timeout:g} s; {outcome}",
            prediction_id=state.id,
            metrics=state.metrics,
        )

    # --- creating ----------------------------------------------------------------------------
    async def _create(self, model_input: dict[str, Any]) -> tuple[PredictionState, float]:
        """Create the prediction, through 429s and transient errors; also when it was sent.

        After an error that may have left a prediction behind, that prediction is looked for
        and, if found, is the one returned (sent when the failed request was).
        """
        throttling = _Throttling(self._policy, self._clock)
        key = CreateKey.of(self._target, model_input)
        failures = 0
        while True:
            await self._pacer.acquire()
            wait = LONGEST_WAIT if self._timeout is None else int(min(LONGEST_WAIT, self._timeout))
            sent: datetime | None = None  # once past the claims gate
            try:
                async with self._claims.creating(self._api, key):
                    sent_at, sent = self._clock(), datetime.now(timezone.utc)
                    state = await self._create_once(model_input, max(wait, 1))
                    self._claims.know(state.id)
            except asyncio.CancelledError:
                if sent is not None:
                    # The request may have reached Replicate: the session finds and cancels it.
                    self._claims.lost(self._api, key, self._asked_version, sent)
                raise
            except ProviderError as exc:
                if isinstance(exc, ApiError) and exc.status == 429:
                    self._pacer.throttled_for(throttling.wait_for(exc), exc.detail)
                    continue
                if not _transient(exc):
                    raise
                if _maybe_created(exc) and sent is not None:
                    found = await self._claims.recover(self._api, key, self._asked_version, sent)
                    if found is not None:
                        return found, sent_at
                if failures >= self._policy.retries:
                    raise
                failures += 1
                await asyncio.sleep(self._policy.backoff(failures))
                continue
            self._pacer.succeeded()
            return state, sent_at

    @property
    def _asked_version(self) -> str | None:
        """The version a create request names; None when it runs a model by name."""
        if self._target.deployment:
            return None
        return self._target.version or self._resolved_version

    async def _create_once(self, model_input: dict[str, Any], wait: int) -> PredictionState:
        target = self._target
        version = target.version or self._resolved_version
        if version is None and not target.deployment:
            try:
                return await self._api.create(
                    target, None, model_input, wait, cancel_after=self._timeout
                )
            except ApiError as exc:
                if exc.status != 404:
                    raise
            # Only official models run by name; any other model runs its latest version.
            try:
                version = self._resolved_version = await self._api.latest_version(target.slug)
            except ProviderError as exc:
                if not _maybe_created(exc):
                    raise
                # A look-up that failed created nothing: no prediction to look for.
                raise NetworkError(str(exc), before_sending=True) from None
        return await self._api.create(
            target, version, model_input, wait, cancel_after=self._timeout
        )

    # --- following ---------------------------------------------------------------------------
    async def _reload(self, prediction_id: str) -> PredictionState:
        throttling = _Throttling(self._policy, self._clock)
        failures = 0
        while True:
            try:
                return await self._api.get(prediction_id)
            except ProviderError as exc:
                # The SDK already retried a throttled or unavailable GET a few times.
                if isinstance(exc, ApiError) and exc.status == 429:
                    await asyncio.sleep(throttling.wait_for(exc))
                    continue
                if not _transient(exc) or failures >= self._policy.retries:
                    raise
                failures += 1
                await asyncio.sleep(self._policy.backoff(failures))

    async def _cancel(self, prediction_id: str) -> PredictionState | None:
        """Cancel, trying again on transient errors; the final state, or None if it failed.

        Best effort: a prediction that cannot be canceled now ends by itself later.
        """
        for attempt in range(1, 4):
            try:
                # Bounded: a stalled connection must not hold the end of the run.
                return await asyncio.wait_for(self._api.cancel(prediction_id), CANCEL_WAIT)
            except asyncio.TimeoutError:
                return None
            except ProviderError as exc:
                if not _transient(exc) or attempt == 3:
                    return None
                await asyncio.sleep(self._policy.backoff(attempt))
        return None


def _maybe_created(exc: ProviderError) -> bool:
    """After this error, did the create request perhaps start a prediction anyway?"""
    if isinstance(exc, ApiError):
        return exc.status in _AMBIGUOUS_STATUSES
    # A refused connection never carried the request; a reset or a timeout might have.
    return isinstance(exc, NetworkError) and not exc.before_sending
