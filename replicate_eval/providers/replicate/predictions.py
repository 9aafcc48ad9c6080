"""Running one prediction on Replicate through the SDK until it reaches a terminal status.

We use the SDK's prediction endpoints rather than ``replicate.run()``, which (in 1.0.x) returns
early on ``processing``, turns text starting with ``https:`` into file objects and cannot parse
``aborted``. Instead: create with ``Prefer: wait``, then poll until the status is terminal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import v1 as pydantic_v1  # the SDK's models are pydantic v1 models
from replicate.client import Client
from replicate.exceptions import ReplicateError

from replicate_eval.config import ReplicateTarget
from replicate_eval.errors import ApiError, NetworkError, PredictionError, ProviderError
from replicate_eval.providers.replicate.transport import Exchange, recording


class _UnreadableResponse(Exception):
    """The SDK could not parse an answer; ``body`` is the JSON it choked on."""

    def __init__(self, body: Any) -> None:
        super().__init__()
        self.body = body


TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
T = TypeVar("T")


@dataclass(frozen=True)
class PredictionState:
    id: str
    status: str
    output: Any
    error: str | None
    metrics: dict[str, Any] = field(default_factory=dict)
    version: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> PredictionState:
        return cls(
            id=str(body.get("id")),
            status=str(body.get("status")),
            output=body.get("output"),
            error=body.get("error"),
            metrics=dict(body.get("metrics") or {}),
            version=body.get("version"),
        )

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def raise_unless_succeeded(self) -> None:
        """Turn a failed, canceled or aborted prediction into the cell's error."""
        if self.status == "succeeded":
            return
        if self.status == "failed":
            message = f"prediction failed: {(self.error or 'no error message').strip()}"
        elif self.status == "canceled":
            message = "prediction was canceled"
        elif self.status == "aborted":
            message = "prediction was aborted: its deadline passed before it started"
        else:
            message = f"prediction ended with status `{self.status}`"
        raise PredictionError(
            message, status=self.status, prediction_id=self.id, metrics=self.metrics
        )


@dataclass(frozen=True)
class PollSchedule:
    """Intervals between polls: short at first, growing for long predictions."""

    first: float = 0.5
    factor: float = 1.5
    longest: float = 5.0

    def intervals(self) -> Iterator[float]:
        interval = self.first
        while True:
            yield interval
            interval = min(interval * self.factor, self.longest)


class PredictionClient:
    """Runs predictions on one target (model, version or deployment) with one account's client.

    ``wait`` is the ``Prefer: wait`` hold in seconds (Replicate allows 1-60).
    """

    def __init__(
        self,
        client: Client,
        target: ReplicateTarget,
        *,
        token_source: str,
        on_created: Callable[[], None],
        wait: int = 60,
        poll: PollSchedule = PollSchedule(),
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._target = target
        self._token_source = token_source
        self._on_created = on_created
        self._wait = wait
        self._poll = poll
        # For `owner/name` of a community model: the version its latest release resolved to.
        self._resolved_version: str | None = None

    async def run_to_success(self, model_input: dict[str, Any]) -> tuple[PredictionState, float]:
        """Run a prediction; its final state and the milliseconds it took, if it succeeded.

        Raises PredictionError for a failed, canceled or aborted prediction.
        """
        started = time.perf_counter()
        state = await self.run(model_input)
        latency_ms = (time.perf_counter() - started) * 1000
        state.raise_unless_succeeded()
        return state, latency_ms

    async def run(self, model_input: dict[str, Any]) -> PredictionState:
        state = await self._create(model_input)
        self._on_created()
        intervals = self._poll.intervals()
        while not state.done:
            await asyncio.sleep(next(intervals))
            state = await self._reload(state.id)
        return state

    async def _reload(self, prediction_id: str) -> PredictionState:
        return await self._prediction(
            lambda: self._client.predictions.async_get(prediction_id),
            prediction_id=prediction_id,
        )

    async def _create(self, model_input: dict[str, Any]) -> PredictionState:
        target, wait = self._target, self._wait
        if target.deployment:
            return await self._prediction(
                lambda: self._client.deployments.predictions.async_create(
                    deployment=target.slug, input=model_input, wait=wait
                ),
                not_found=f"deployment `{target.slug}` was not found on Replicate",
            )
        version = target.version or self._resolved_version
        if version is None:
            try:
                return await self._prediction(
                    lambda: self._client.models.predictions.async_create(
                        model=target.slug, input=model_input, wait=wait
                    )
                )
            except ApiError as exc:
                if exc.status != 404:
                    raise
            # Only official models run by name; any other model runs its latest version.
            version = self._resolved_version = await self._latest_version()
        return await self._prediction(
            lambda: self._client.predictions.async_create(
                version=version, input=model_input, wait=wait
            )
        )

    async def _latest_version(self) -> str:
        slug = self._target.slug
        try:
            model = await self._sdk(
                lambda: self._client.models.async_get(slug),
                not_found=f"model `{slug}` was not found on Replicate",
            )
        except _UnreadableResponse:
            raise ProviderError(
                f"the replicate SDK could not read Replicate's description of `{slug}`; "
                "give the version explicitly: `replicate:owner/name:version`"
            ) from None
        if model.latest_version is None:
            raise ApiError(f"model `{slug}` has no published version to run", status=404)
        return str(model.latest_version.id)

    async def _prediction(
        self,
        call: Callable[[], Awaitable[Any]],
        *,
        not_found: str | None = None,
        prediction_id: str | None = None,
    ) -> PredictionState:
        try:
            prediction = await self._sdk(call, not_found=not_found, prediction_id=prediction_id)
        except _UnreadableResponse as exc:
            # SDK 1.0.x cannot parse status `aborted`; the raw body tells us what happened.
            if isinstance(exc.body, dict) and exc.body.get("status") == "aborted":
                return PredictionState.from_json(exc.body)
            raise ProviderError(
                "Replicate sent a prediction that the replicate SDK could not read: "
                f"{str(exc.body)[:300]}",
                prediction_id=prediction_id,
            ) from None
        return PredictionState(
            id=prediction.id,
            status=prediction.status,
            output=prediction.output,
            error=prediction.error,
            metrics=dict(prediction.metrics or {}),
            version=prediction.version,
        )

    async def _sdk(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        not_found: str | None = None,
        prediction_id: str | None = None,
    ) -> T:
        """Make one SDK call, translating whatever it raises into reval's errors."""
        with recording() as exchanges:
            try:
                return await call()
            except ReplicateError as exc:
                raise self._api_error(exc, exchanges, not_found, prediction_id) from None
            except pydantic_v1.ValidationError:
                raise _UnreadableResponse(exchanges[-1].body if exchanges else None) from None
            except httpx.TimeoutException as exc:
                raise NetworkError(
                    f"Replicate did not answer in time ({type(exc).__name__})",
                    prediction_id=prediction_id,
                ) from None
            except httpx.TransportError as exc:
                raise NetworkError(
                    f"could not reach Replicate ({type(exc).__name__}: {exc})",
                    prediction_id=prediction_id,
                ) from None

    def _api_error(
        self,
        exc: ReplicateError,
        exchanges: list[Exchange],
        not_found: str | None,
        prediction_id: str | None,
    ) -> ApiError:
        status = exc.status
        if status == 404 and not_found:
            message = f"{not_found} (404). Check the id, and that your token can see it."
        else:
            title = exc.title or "error"
            message = f"Replicate answered {status} {title}"
            if exc.detail:
                message += f": {exc.detail.strip()}"
            body = exchanges[-1].body if exchanges else None
            fields = body.get("invalid_fields") if isinstance(body, dict) else None
            if isinstance(fields, list) and fields:
                listed = "; ".join(
                    f"{f.get('field')}: {f.get('description')}"
                    for f in fields
                    if isinstance(f, dict)
                )
                message += f" (invalid: {listed})"
            if status == 401:
                message += f". The token from {self._token_source} was rejected"
        return ApiError(message, status=status, prediction_id=prediction_id)
