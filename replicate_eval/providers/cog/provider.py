"""``cog:`` providers: a Cog model server, local or already running, through Cog's HTTP API.

``PUT /predictions/{id}`` with ``{"id", "input"}`` runs a prediction and answers when it is
done; reval picks the id, so that a timeout or a Ctrl-C can ``POST /predictions/{id}/cancel``.
A Cog model runs one prediction at a time unless its cog.yaml declares ``concurrency.max`` (or
the provider sets ``concurrency``): cells wait their turn instead of getting "busy" errors.
Outputs that are files (data URLs or file URLs) are saved and checked like an image model's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from typing import Any

import httpx

from replicate_eval.config.types import ProviderConfig
from replicate_eval.errors import NetworkError, PredictionError, ProviderError
from replicate_eval.providers.base import ProviderResponse
from replicate_eval.providers.cog.server import CogServers
from replicate_eval.providers.download_policy import DownloadPolicy
from replicate_eval.providers.images import DownloadError, ImageStore
from replicate_eval.providers.outputs import excerpt, file_urls, joined_text, looks_like_images
from replicate_eval.providers.text_input import text_model_input
from replicate_eval.providers.types.targets import CogTarget


class CogProvider:
    def __init__(
        self,
        config: ProviderConfig,
        servers: CogServers,
        images: ImageStore,
        *,
        timeout: float | None,
    ) -> None:
        assert isinstance(config.target, CogTarget)
        self.config = config
        self.id = config.id
        self.label = config.label
        self._target = config.target
        self._servers = servers
        self._images = images
        self._timeout = config.timeout if config.timeout is not None else timeout
        self._slots: asyncio.Semaphore | None = None
        self._ready = asyncio.Lock()
        self._url: str | None = None

    def build_input(self, prompt: str) -> dict[str, Any]:
        """As for Replicate text models: options, a chat's system message, then the prompt."""
        return text_model_input(self.config, prompt)

    async def call(self, model_input: dict[str, Any]) -> ProviderResponse:
        url, slots = await self._server()
        async with slots:
            started = time.perf_counter()
            body = await self._predict(url, model_input)
            latency_ms = (time.perf_counter() - started) * 1000
        prediction_id = str(body.get("id") or "")
        metrics = dict(body.get("metrics") or {})
        status = body.get("status")
        if status != "succeeded":
            error = _text(body.get("error")) or f"status `{status}`"
            # coglet nests its own "Prediction failed: " prefixes.
            while error.lower().startswith("prediction failed: "):
                error = error[len("prediction failed: ") :]
            logs = _text(body.get("logs"))
            if logs:
                # Not clip(): the end of the logs says why it failed, so the start is cut.
                error += f" (the model's logs end with: {logs[-_LOG_TAIL:]})"
            raise PredictionError(
                f"prediction failed: {error}",
                status=str(status),
                prediction_id=prediction_id,
                metrics=metrics,
            )
        return await self._response(body.get("output"), latency_ms, prediction_id, metrics)

    async def _server(self) -> tuple[str, asyncio.Semaphore]:
        async with self._ready:
            if self._url is None or self._slots is None:
                if self._target.folder is not None:
                    server = await self._servers.for_folder(self._target.folder)
                    url, declared = server.url, server.model.concurrency
                else:
                    url, declared = str(self._target.url), 1
                    await self._check_health(url)
                self._slots = self._servers.slots(url, self.config.concurrency or declared)
                self._url = url
            return self._url, self._slots

    async def _check_health(self, url: str) -> None:
        try:
            health = (await self._servers.client.get(f"{url}/health-check", timeout=10)).json()
        except (httpx.HTTPError, ValueError) as exc:
            raise NetworkError(f"no Cog server answers at {url} ({type(exc).__name__})") from None
        # BUSY is ready too: another provider (or program) is using it.
        if health.get("status") not in ("READY", "BUSY"):
            raise ProviderError(
                f"the Cog server at {url} is not ready (status: {health.get('status')})"
            )

    async def _predict(self, url: str, model_input: dict[str, Any]) -> dict[str, Any]:
        """One prediction; a server whose slot is still being freed is asked again shortly."""
        for _ in range(_BUSY_RETRIES):
            body = await self._predict_once(url, model_input)
            if not _at_capacity(body):
                self._servers.stats.predictions += 1
                return body
            await asyncio.sleep(0.05)
        return body

    async def _predict_once(self, url: str, model_input: dict[str, Any]) -> dict[str, Any]:
        prediction_id = f"reval-{secrets.token_hex(8)}"
        request = self._servers.client.put(
            f"{url}/predictions/{prediction_id}",
            json={"id": prediction_id, "input": model_input},
        )
        try:
            response = await asyncio.wait_for(request, timeout=self._timeout)
        except asyncio.TimeoutError:
            await self._cancel(url, prediction_id)
            # Cog stops a running predict() only when it can: keep this server's slot until
            # it is idle again, so the next cell does not find it busy.
            idle = await self._wait_until_idle(url)
            outcome = (
                "reval canceled the prediction"
                if idle
                else ("reval asked the server to cancel the prediction, which is still running")
            )
            raise ProviderError(
                f"timed out after {self._timeout:g} s; {outcome}", prediction_id=prediction_id
            ) from None
        except asyncio.CancelledError:
            await asyncio.shield(self._cancel(url, prediction_id))
            raise
        except httpx.HTTPError as exc:
            raise NetworkError(
                f"the Cog server at {url} did not answer ({type(exc).__name__}: {exc})"
            ) from None
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            raise ProviderError(
                f"the Cog server answered {response.status_code} without JSON: "
                # Not clip(): the body is shown as sent, whitespace and all.
                f"{response.text[:_BODY_SHOWN]}"
            ) from None
        if response.status_code >= 400 and "status" not in body:
            raise ProviderError(
                f"the Cog server answered {response.status_code}: {excerpt(body, _ANSWER_SHOWN)}"
            )
        return body

    async def _wait_until_idle(self, url: str, seconds: float = 60.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError, AttributeError):
                health = (await self._servers.client.get(f"{url}/health-check", timeout=5)).json()
                if health.get("status") == "READY":
                    return True
            await asyncio.sleep(0.1)
        return False

    async def _cancel(self, url: str, prediction_id: str) -> None:
        with contextlib.suppress(httpx.HTTPError):
            await self._servers.client.post(f"{url}/predictions/{prediction_id}/cancel", timeout=5)

    async def _response(
        self, output: Any, latency_ms: float, prediction_id: str, metrics: dict[str, Any]
    ) -> ProviderResponse:
        # Files come back as data URLs (or URLs of image files); a text that is a URL is text.
        urls = file_urls(output)
        if urls and not (looks_like_images(output) or all(u.startswith("data:") for u in urls)):
            urls = None
        if urls:
            try:
                # The server is on this machine (or one the user named): its files are too.
                images = await self._images.save_all(urls, policy=_ITS_OWN_FILES)
            except DownloadError as exc:
                raise ProviderError(
                    str(exc), prediction_id=prediction_id, metrics=metrics
                ) from None
            return ProviderResponse(
                output="\n".join(str(image.path) for image in images),
                latency_ms=latency_ms,
                prediction_id=prediction_id,
                metrics=metrics,
                images=tuple(images),
            )
        if output is None:
            raise ProviderError("the model returned no output", prediction_id=prediction_id)
        text = joined_text(output)
        return ProviderResponse(
            output=json.dumps(output) if text is None else text,
            latency_ms=latency_ms,
            prediction_id=prediction_id,
            metrics=metrics,
        )


_ITS_OWN_FILES = DownloadPolicy()
# Characters shown in messages: of the logs' end, of a body that is not JSON, of a JSON answer
# (an error status), and of a message field that is not text.
_LOG_TAIL = 500
_BODY_SHOWN = 200
_ANSWER_SHOWN = 300
_FIELD_SHOWN = 500
# Cog frees a slot just after it answers, so a next request can still find it busy.
_BUSY_RETRIES = 200


def _text(value: Any) -> str:
    """A message field of a Cog response: text, or JSON when it is something else."""
    if value is None or value == "":
        return ""
    return (value if isinstance(value, str) else excerpt(value, _FIELD_SHOWN)).strip()


def _at_capacity(body: dict[str, Any]) -> bool:
    return body.get("status") == "failed" and "at capacity" in str(body.get("error", "")).lower()
