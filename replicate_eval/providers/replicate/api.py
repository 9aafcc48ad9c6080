"""Replicate's prediction endpoints through the official SDK, with reval's errors.

We use the SDK's prediction endpoints rather than ``replicate.run()``, which (in 1.0.x) returns
early on ``processing``, turns text starting with ``https:`` into file objects and cannot parse
``aborted``. Every call here is one request (the SDK itself retries GETs on 429/503/504); what
to do about a failure is decided by the caller (predictions.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from pydantic import v1 as pydantic_v1  # the SDK's models are pydantic v1 models
from replicate.client import Client
from replicate.exceptions import ReplicateError
from replicate.version import Versions

from replicate_eval.errors import ApiError, NetworkError, PredictionError, ProviderError
from replicate_eval.providers.replicate.transport import Exchange, recording, sending_headers
from replicate_eval.providers.replicate.wire import cancel_after_header, parse_time
from replicate_eval.providers.types.targets import ReplicateTarget

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
    input: dict[str, Any] | None = None
    created_at: str | None = None
    model: str | None = None  # owner/name
    deployment: str | None = None  # owner/name of the deployment that created it, if one did

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> PredictionState:
        return cls(
            id=str(body.get("id")),
            status=str(body.get("status")),
            output=body.get("output"),
            error=body.get("error"),
            metrics=dict(body.get("metrics") or {}),
            version=body.get("version"),
            input=body.get("input"),
            created_at=body.get("created_at"),
            model=body.get("model"),
            deployment=body.get("deployment"),
        )

    @property
    def created(self) -> datetime | None:
        """``created_at`` as a time; None when missing or unreadable."""
        return parse_time(self.created_at)

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


class _UnreadableResponse(Exception):
    """The SDK could not parse an answer; ``body`` is the JSON it choked on."""

    def __init__(self, body: Any) -> None:
        super().__init__()
        self.body = body


class ReplicateApi:
    """One account's SDK client, speaking in PredictionStates and reval errors."""

    def __init__(self, client: Client, *, token_source: str) -> None:
        self._client = client
        self._token_source = token_source
        self._latest_versions: dict[str, asyncio.Future[str]] = {}

    async def create(
        self,
        target: ReplicateTarget,
        version: str | None,
        model_input: dict[str, Any],
        wait: int,
        *,
        cancel_after: float | None = None,
    ) -> PredictionState:
        """Create a prediction with ``Prefer: wait=<wait>``: by version, model or deployment.

        ``cancel_after`` (seconds): Replicate cancels the prediction itself that long after
        creating it, even if reval is gone by then (``Cancel-After``; SDK 1.0.x's create
        methods take no headers, so the transport adds it).
        """
        headers = {"Cancel-After": cancel_after_header(cancel_after)} if cancel_after else {}
        with sending_headers(headers):
            return await self._create(target, version, model_input, wait)

    async def _create(
        self, target: ReplicateTarget, version: str | None, model_input: dict[str, Any], wait: int
    ) -> PredictionState:
        client = self._client
        if target.deployment:
            return await self._prediction(
                lambda: client.deployments.predictions.async_create(
                    deployment=target.slug, input=model_input, wait=wait
                ),
                not_found=f"deployment `{target.slug}` was not found on Replicate",
            )
        if version is None:
            return await self._prediction(
                lambda: client.models.predictions.async_create(
                    model=target.slug, input=model_input, wait=wait
                )
            )
        return await self._prediction(
            lambda: client.predictions.async_create(version=version, input=model_input, wait=wait)
        )

    async def get(self, prediction_id: str) -> PredictionState:
        return await self._prediction(
            lambda: self._client.predictions.async_get(prediction_id), prediction_id=prediction_id
        )

    async def cancel(self, prediction_id: str) -> PredictionState:
        return await self._prediction(
            lambda: self._client.predictions.async_cancel(prediction_id),
            prediction_id=prediction_id,
        )

    async def predictions_since(self, moment: datetime) -> list[PredictionState]:
        """This account's predictions created at or after ``moment``, newest first."""
        found: list[PredictionState] = []
        after = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        cursor: str | None = f"/v1/predictions?created_after={after}"
        while cursor:
            path = cursor
            # Read the raw page: the SDK cannot parse a page holding an `aborted` prediction.
            with recording() as exchanges:
                try:
                    await self._client.predictions.async_list(path)
                except pydantic_v1.ValidationError:
                    pass
                except (ReplicateError, httpx.HTTPError) as exc:
                    raise ProviderError(f"could not list predictions: {exc}") from None
            page = exchanges[-1].body if exchanges else None
            if not isinstance(page, dict):
                break
            found += [
                PredictionState.from_json(item)
                for item in page.get("results") or []
                if isinstance(item, dict)
            ]
            cursor = page.get("next")
        return found

    # --- the catalogue -----------------------------------------------------------------------
    async def models_page(self, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of public models, and the cursor of the next page (None: the last)."""
        page = await self._catalogue(
            lambda: self._client.models.async_list(cursor if cursor else ...)
        )
        return [model.dict() for model in page.results], page.next

    async def search_page(
        self, query: str, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of Replicate's model search (``QUERY /v1/models``)."""
        if cursor is None:
            page = await self._catalogue(lambda: self._client.models.async_search(query))
            return [model.dict() for model in page.results], page.next
        # The SDK's search has no cursor: the next page is the same QUERY at the `next` URL.
        response = await self._catalogue(
            lambda: self._client._async_request(
                "QUERY", cursor, content=query, headers={"Content-Type": "text/plain"}
            )
        )
        body = response.json()
        return list(body.get("results") or []), body.get("next")

    async def collection(self, slug: str) -> list[dict[str, Any]]:
        found = await self._catalogue(
            lambda: self._client.collections.async_get(slug),
            not_found=f"collection `{slug}` was not found on Replicate",
        )
        return [model.dict() for model in found.models or []]

    async def model(self, slug: str) -> dict[str, Any]:
        found = await self._catalogue(
            lambda: self._client.models.async_get(slug),
            not_found=f"model `{slug}` was not found on Replicate",
        )
        data: dict[str, Any] = found.dict()
        return data

    async def version(self, slug: str, version_id: str) -> dict[str, Any]:
        owner, name = slug.split("/")
        versions = Versions(self._client, model=(owner, name))
        version = await self._catalogue(
            lambda: versions.async_get(version_id),
            # Not clip(): the id is always shown abbreviated, marked even when short.
            not_found=f"version `{version_id[:12]}…` of `{slug}` was not found on Replicate",
        )
        data: dict[str, Any] = version.dict()
        return data

    async def deployment_release(self, slug: str) -> tuple[str, str | None]:
        """The model (owner/name) and version a deployment currently runs."""
        found = await self._catalogue(
            lambda: self._client.deployments.async_get(slug),
            not_found=f"deployment `{slug}` was not found on Replicate",
        )
        release = found.current_release
        if release is None:
            return slug, None
        return str(release.model), (str(release.version) if release.version else None)

    async def _catalogue(
        self, call: Callable[[], Awaitable[T]], *, not_found: str | None = None
    ) -> T:
        try:
            return await self._sdk(call, not_found=not_found)
        except _UnreadableResponse as exc:
            # Not clip(): a body that is a JSON string is shown with its whitespace.
            raise ProviderError(
                f"the replicate SDK could not read Replicate's answer: {str(exc.body)[:200]}"
            ) from None

    async def latest_version(self, slug: str) -> str:
        """The model's current version, looked up once per client: a run resolves each model
        once (``versions.resolve_versions``), and its predictions then use that version."""
        found = self._latest_versions.get(slug)
        if found is None or (found.done() and found.exception() is not None):
            found = self._latest_versions[slug] = asyncio.ensure_future(self._latest(slug))
        return await asyncio.shield(found)

    async def _latest(self, slug: str) -> str:
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
            # Not clip(): a body that is a JSON string is shown with its whitespace.
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
            input=prediction.input,
            created_at=prediction.created_at,
            model=prediction.model,
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
                    before_sending=isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)),
                    prediction_id=prediction_id,
                ) from None
            except httpx.TransportError as exc:
                raise NetworkError(
                    f"could not reach Replicate ({type(exc).__name__}: {exc})",
                    before_sending=isinstance(exc, httpx.ConnectError),
                    prediction_id=prediction_id,
                ) from None
            except (AttributeError, TypeError, KeyError, ValueError, RecursionError):
                # The SDK choked on an answer that is not Replicate's JSON: an HTML page from a
                # proxy, a bare string, an empty body.
                raise self._unexpected_answer(exchanges, prediction_id) from None

    def _unexpected_answer(self, exchanges: list[Exchange], prediction_id: str | None) -> ApiError:
        status = exchanges[-1].status if exchanges else None
        kind = exchanges[-1].headers.get("content-type", "no content type") if exchanges else ""
        said = f"answered {status}" if status is not None else "answered"
        return ApiError(
            f"Replicate {said} with a body that is not the API's JSON ({kind or 'unknown'})",
            # A 5xx page is worth trying again; a success the SDK cannot read is not.
            status=status if status is not None and status >= 400 else None,
            prediction_id=prediction_id,
        )

    def _api_error(
        self,
        exc: ReplicateError,
        exchanges: list[Exchange],
        not_found: str | None,
        prediction_id: str | None,
    ) -> ApiError:
        status = exc.status
        body = exchanges[-1].body if exchanges else None
        body = body if isinstance(body, dict) else {}
        if status == 404 and not_found:
            message = f"{not_found} (404). Check the id, and that your token can see it."
        else:
            title = exc.title or "error"
            message = f"Replicate answered {status} {title}"
            if exc.detail:
                message += f": {exc.detail.strip()}"
            fields = body.get("invalid_fields")
            if isinstance(fields, list) and fields:
                listed = "; ".join(
                    f"{f.get('field')}: {f.get('description')}"
                    for f in fields
                    if isinstance(f, dict)
                )
                message += f" (invalid: {listed})"
            if status == 401:
                message += f". The token from {self._token_source} was rejected"
        headers = exchanges[-1].headers if exchanges else httpx.Headers()
        return ApiError(
            message,
            status=status,
            prediction_id=prediction_id,
            detail=exc.detail,
            retry_after=_retry_after(body.get("retry_after"), headers.get("retry-after")),
        )


def _retry_after(from_body: Any, from_header: str | None) -> float | None:
    """Seconds to wait, from a 429's ``retry_after`` (preferred) or its Retry-After header
    (seconds, or an HTTP date)."""
    for value in (from_body, from_header):
        if value is None or isinstance(value, bool):
            continue
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            try:
                moment = parsedate_to_datetime(str(value))
            except (TypeError, ValueError):
                continue
            seconds = (moment - datetime.now(timezone.utc)).total_seconds()
        if seconds >= 0:
            return seconds
    return None
