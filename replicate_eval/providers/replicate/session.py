"""A run's Replicate accounts: one SDK client and one creation pacer per API token.

The session also keeps the create requests whose fate is unknown: in flight when the run was
interrupted, or failed in a way (a reset, a 502) after which Replicate may have started the
prediction anyway. Those predictions may exist without reval knowing their ids;
``cancel_orphans`` finds them in the account's prediction list and cancels them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr
from replicate.__about__ import __version__ as sdk_version
from replicate.client import Client

from replicate_eval import __version__
from replicate_eval.canonical import canonical_json
from replicate_eval.config import ProviderConfig, ReplicateTarget
from replicate_eval.errors import ProviderError
from replicate_eval.providers.replicate.api import ReplicateApi
from replicate_eval.providers.replicate.limits import CreationPacer, PollBudget
from replicate_eval.providers.replicate.predictions import (
    LONGEST_WAIT,
    PredictionClient,
    RetryPolicy,
)
from replicate_eval.providers.replicate.transport import ObservingTransport
from replicate_eval.redact import REDACT


def base_url_problem(value: str) -> str | None:
    """Why ``value`` cannot be the API's base URL (REPLICATE_BASE_URL), or None; "" is unset."""
    if not value.strip():
        return None
    try:
        url = httpx.URL(value.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        return f"is not a URL ({exc})"
    if url.scheme not in ("http", "https"):
        return "needs http:// or https:// before the host"
    if not url.host:
        return "has no host name"
    return None


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
    ) -> None:
        self._max_connections = max_connections
        self._policy = policy or RetryPolicy()
        self._timeout = timeout
        self._base_url = base_url
        self._accounts: dict[str, _Account] = {}
        self.polls = PollBudget(poll_rate)
        self.predictions_created = 0  # by the providers under test
        self.grader_predictions_created = 0  # by graders of model-graded assertions
        self._orphans: list[tuple[ReplicateApi, ReplicateTarget, dict[str, Any]]] = []
        self._known: set[str] = set()  # ids of the predictions this run created and followed

    def prediction_client(
        self, config: ProviderConfig, *, grader: bool = False
    ) -> PredictionClient:
        """A client for ``config``'s model; a grader's predictions are counted apart."""
        target = config.target
        assert isinstance(target, ReplicateTarget), "cog: providers do not use Replicate"
        account = self._account(config.token, config.token_source)
        return PredictionClient(
            account.api,
            target,
            pacer=account.pacer,
            polls=self.polls,
            policy=self._policy,
            timeout=config.timeout if config.timeout is not None else self._timeout,
            on_created=self._grader_created if grader else self._created,
            on_orphan=self._add_orphan,
        )

    def api_for(self, config: ProviderConfig) -> ReplicateApi:
        """The account's API, for calls outside a prediction (the preflight's schema look-ups)."""
        return self.api_for_token(config.token, config.token_source)

    def api_for_token(self, token: SecretStr, token_source: str) -> ReplicateApi:
        return self._account(token, token_source).api

    @property
    def throttled(self) -> int:
        """429s received while creating predictions, across accounts."""
        return sum(account.pacer.throttled for account in self._accounts.values())

    async def cancel_orphans(self, since: datetime) -> int:
        """Cancel predictions that cut-off or failed create requests may still have started.

        They are the account's running predictions, created since ``since`` (less a minute for
        clock skew), for the same model and exactly the same input, that reval does not know
        by id. Best effort; returns how many were canceled.
        """
        canceled = 0
        for api in {id(api): api for api, _, _ in self._orphans}.values():
            wanted = {
                (target.slug, canonical_json(model_input))
                for owner, target, model_input in self._orphans
                if owner is api
            }
            try:
                running = await api.running_since(since - timedelta(minutes=1))
            except ProviderError:
                continue
            for state in running:
                key = (state.model, canonical_json(state.input))
                if state.id in self._known or key not in wanted:
                    continue
                with contextlib.suppress(ProviderError):
                    await api.cancel(state.id)
                    canceled += 1
        self._orphans.clear()
        return canceled

    @property
    def has_orphans(self) -> bool:
        return bool(self._orphans)

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
                # A create call is held up to LONGEST_WAIT; the SDK's default read timeout
                # (30 s) would cut it short. Waiting for a pooled connection is bounded by the
                # run's own concurrency limit.
                timeout=httpx.Timeout(10.0, read=LONGEST_WAIT + 30.0, write=30.0, pool=None),
            )
            account = _Account(
                ReplicateApi(client, token_source=token_source), CreationPacer(), transport
            )
            self._accounts[key] = account
        return account

    def _created(self, prediction_id: str) -> None:
        self.predictions_created += 1
        self._known.add(prediction_id)

    def _grader_created(self, prediction_id: str) -> None:
        self.grader_predictions_created += 1
        self._known.add(prediction_id)

    def _add_orphan(
        self, api: ReplicateApi, target: ReplicateTarget, model_input: dict[str, Any]
    ) -> None:
        self._orphans.append((api, target, model_input))
