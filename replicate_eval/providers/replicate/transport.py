"""Seeing the HTTP exchanges the SDK makes, without leaving the SDK.

The replicate SDK drops parts of Replicate's answers that reval needs: ``invalid_fields`` and
``retry_after`` in error bodies, headers such as ``Retry-After``, and whole predictions whose
status it cannot parse (``aborted``). The SDK accepts an httpx transport; this one hands every
JSON response it carries to the exchange log of the task that made the request. It also adds
headers the SDK's methods cannot send (``Cancel-After``) to the requests of a task that asks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    status: int
    headers: httpx.Headers
    body: Any  # parsed JSON, or None


_log: ContextVar[list[Exchange] | None] = ContextVar("reval_exchange_log", default=None)
_extra_headers: ContextVar[dict[str, str] | None] = ContextVar("reval_headers", default=None)


@contextmanager
def recording() -> Iterator[list[Exchange]]:
    """Collect the exchanges made by this task (and only this task) inside the block."""
    exchanges: list[Exchange] = []
    token = _log.set(exchanges)
    try:
        yield exchanges
    finally:
        _log.reset(token)


@contextmanager
def sending_headers(headers: dict[str, str]) -> Iterator[None]:
    """Add ``headers`` to the requests this task makes inside the block."""
    token = _extra_headers.set(headers or None)
    try:
        yield
    finally:
        _extra_headers.reset(token)


class ObservingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        extra = _extra_headers.get()
        if extra:
            request.headers.update(extra)
        response = await self._inner.handle_async_request(request)
        exchanges = _log.get()
        if exchanges is not None:
            body = None
            if "json" in response.headers.get("content-type", ""):
                # Reading here buffers the body; httpx then serves it from memory to the SDK.
                content = await response.aread()
                try:
                    body = json.loads(content)
                except (ValueError, RecursionError):
                    body = None
            # Every answer's status is kept: an HTML error page from a proxy has one too.
            exchanges.append(
                Exchange(
                    request.method, str(request.url), response.status_code, response.headers, body
                )
            )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
