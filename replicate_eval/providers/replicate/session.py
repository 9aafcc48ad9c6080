"""The SDK clients of a run: one ``replicate.Client`` per API token, closed at the end."""

from __future__ import annotations

import httpx
from pydantic import SecretStr
from replicate.__about__ import __version__ as sdk_version
from replicate.client import Client

from replicate_eval import __version__
from replicate_eval.providers.replicate.transport import ObservingTransport


class ReplicateSession:
    """Shares one SDK client (and connection pool) among the providers of one account.

    ``base_url`` None lets the SDK use REPLICATE_BASE_URL or the public API.
    """

    def __init__(self, *, max_connections: int, base_url: str | None = None) -> None:
        self._max_connections = max_connections
        self._base_url = base_url
        self._clients: dict[str, Client] = {}
        self._transports: list[ObservingTransport] = []
        self.predictions_created = 0

    def client_for(self, token: SecretStr) -> Client:
        key = token.get_secret_value()
        client = self._clients.get(key)
        if client is None:
            transport = ObservingTransport(
                httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=self._max_connections))
            )
            self._transports.append(transport)
            client = Client(
                api_token=key,
                base_url=self._base_url,
                transport=transport,
                headers={"User-Agent": f"reval/{__version__} replicate-python/{sdk_version}"},
            )
            self._clients[key] = client
        return client

    def count_prediction(self) -> None:
        self.predictions_created += 1

    async def aclose(self) -> None:
        for transport in self._transports:
            await transport.aclose()
