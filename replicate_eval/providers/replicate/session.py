"""A run's Replicate accounts: one SDK client and one creation pacer per API token.

The session also keeps the ids of the predictions the run knows and the create requests whose
fate is unknown (claims.py): in flight when the run was interrupted, or failed in a way (a
reset, a read timeout, a 502) after which Replicate may have started the prediction anyway.
Most are found and followed at once; ``cancel_orphans`` looks for the rest at the end of the
run in the account's prediction list and cancels those still running.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from pydantic import SecretStr
from replicate.__about__ import __version__ as sdk_version
from replicate.client import Client

from replicate_eval import __version__
from replicate_eval.config.types import ProviderConfig
from replicate_eval.providers.replicate.api import ReplicateApi
from replicate_eval.providers.replicate.claims import Claims
from replicate_eval.providers.replicate.limits import CreationPacer, PollBudget
from replicate_eval.providers.replicate.predictions import (
    LONGEST_WAIT,
    PredictionClient,
    RetryPolicy,
)
from replicate_eval.providers.replicate.transport import ObservingTransport
from replicate_eval.providers.types.targets import ReplicateTarget
from replicate_eval.redact import REDACT
from replicate_eval.stats import RunStats


@dataclass
class _Account:
    api: ReplicateApi
    pacer: CreationPacer
    transport: ObservingTransport


class ReplicateSession:
    """Shares one SDK client (and connection pool) among the providers of one account.

    ``base_url`` None lets the SDK use REPLICATE_BASE_URL or the public API.
    """

    def __init__(
        self,
        *,
        max_connections: int,
        policy: RetryPolicy | None = None,
        timeout: float | None = None,
        poll_rate: float = 40.0,
        base_url: str | None = None,
        read_timeout: float = LONGEST_WAIT + 30.0,
        stats: RunStats | None = None,
    ) -> None:
        self._max_connections = max_connections
        self._read_timeout = read_timeout
        self._policy = policy or RetryPolicy()
        self._timeout = timeout
        self._base_url = base_url
        self._accounts: dict[str, _Account] = {}
        # The run's counters: predictions (the graders' apart), 429s, polls, uncertain creates.
        self.stats = stats if stats is not None else RunStats()
        self.polls = PollBudget(poll_rate, stats=self.stats)
        self.claims = Claims(self.stats)

    def prediction_client(
        self, config: ProviderConfig, *, grader: bool = False
    ) -> PredictionClient:
        """A client for ``config``'s model; a grader's predictions are counted apart."""
        target = config.target
        assert isinstance(target, ReplicateTarget), "only replicate: types are built on a session"
        account = self._account(config.token, config.token_source)
        return PredictionClient(
            account.api,
            target,
            pacer=account.pacer,
            polls=self.polls,
            policy=self._policy,
            timeout=config.timeout if config.timeout is not None else self._timeout,
            on_created=self._grader_created if grader else self._created,
            claims=self.claims,
        )

    def api_for(self, config: ProviderConfig) -> ReplicateApi:
        """The account's API, for calls outside a prediction (the preflight's schema look-ups)."""
        return self.api_for_token(config.token, config.token_source)

    def api_for_token(self, token: SecretStr, token_source: str) -> ReplicateApi:
        return self._account(token, token_source).api

    async def cancel_orphans(self) -> None:
        """Look for the predictions that cut-off or failed create requests may have started
        and were not found at the time; cancel those still running. Best effort."""
        await self.claims.sweep()

    @property
    def has_orphans(self) -> bool:
        return self.claims.unresolved

    async def aclose(self) -> None:
        for account in self._accounts.values():
            await account.transport.aclose()

    def _account(self, token: SecretStr, token_source: str) -> _Account:
        key = token.get_secret_value()
        account = self._accounts.get(key)
        if account is None:
            REDACT.add(key)  # whatever reval prints from now on, this token is not in it
            transport = ObservingTransport(
                httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=self._max_connections))
            )
            client = Client(
                api_token=key,
                base_url=self._base_url,
                transport=transport,
                headers={"User-Agent": f"reval/{__version__} replicate-python/{sdk_version}"},
                # A create call sets its own read timeout (SDK 1.0.x: the wait + 0.5 s); this
                # one is for the other calls. Waiting for a pooled connection is bounded by the
                # run's own concurrency limit.
                timeout=httpx.Timeout(10.0, read=self._read_timeout, write=30.0, pool=None),
            )
            account = _Account(
                ReplicateApi(client, token_source=token_source),
                CreationPacer(stats=self.stats),
                transport,
            )
            self._accounts[key] = account
        return account

    def _created(self, prediction_id: str) -> None:
        self.stats.predictions += 1
        self.claims.know(prediction_id)

    def _grader_created(self, prediction_id: str) -> None:
        self.stats.grader_predictions += 1
        self.claims.know(prediction_id)
