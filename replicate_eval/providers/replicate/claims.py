"""Which predictions a run's create requests started, including those it never heard about.

A create request can fail after Replicate got it (a reset, a read timeout, a 502 or 504, an
interruption): its prediction may exist, running and billing, without reval knowing its id.
Before creating again, the cell looks for it in the account's prediction list and follows it
if it is there, so the input is paid for once (``recover``). What is still unaccounted for at
the end of the run is looked for once more, and canceled if it is still running (``sweep``).

A listed prediction belongs to such a request when it is for the same model (or deployment),
the same version when one was asked for, exactly the same input, was created after the request
was sent (less ``CLOCK_SKEW``), and no id the run knows is its. Two cells with the same input
(``--repeat``) must never follow the same prediction, so the search for one input waits until
no other create request of that input is in flight (their answers name their predictions) and
holds new ones back until it has made its claim: a readers-writer gate per input. The wait
lasts as long as those requests (a held create: up to a minute), and only cells sending that
very input wait.

Predictions of *another* process that sends the same input to the same model at the same
moment (two CI jobs on one account) cannot be told apart from this run's: the list has no
field for that.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from replicate_eval.canonical import canonical_json
from replicate_eval.errors import ProviderError
from replicate_eval.providers.replicate.api import PredictionState, ReplicateApi
from replicate_eval.providers.types.targets import ReplicateTarget
from replicate_eval.stats import RunStats

# How far apart reval's clock and Replicate's may be (NTP keeps them far closer): a prediction
# created more than this before its request was sent is not that request's.
CLOCK_SKEW = timedelta(seconds=10)

Outcome = Literal["unknown", "followed", "found", "canceled"]


@dataclass(frozen=True)
class CreateKey:
    """What a create request asked for, minus the version (resolved while creating)."""

    model: str  # owner/name of the model, or of the deployment
    deployment: bool
    input_digest: str  # sha256 of the input's canonical JSON

    @classmethod
    def of(cls, target: ReplicateTarget, model_input: dict[str, Any]) -> CreateKey:
        digest = hashlib.sha256(canonical_json(model_input).encode()).hexdigest()
        return cls(target.slug, target.deployment, digest)


@dataclass
class _Uncertain:
    """A create request whose fate is unknown, and what became of it."""

    api: ReplicateApi
    key: CreateKey
    version: str | None  # the version asked for; None: run by name, any version matches
    sent: datetime  # UTC, reval's clock
    outcome: Outcome = "unknown"

    def could_be(self, state: PredictionState) -> bool:
        listed_as = state.deployment if self.key.deployment else state.model
        if listed_as != self.key.model:
            return False
        if self.version is not None and state.version != self.version:
            return False
        created = state.created
        if created is None or created < self.sent - CLOCK_SKEW:
            return False
        digest = hashlib.sha256(canonical_json(state.input).encode()).hexdigest()
        return digest == self.key.input_digest


@dataclass
class _Gate:
    """Create requests of one input in flight, and searches for that input's predictions."""

    in_flight: int = 0
    searches: int = 0  # waiting or running; while any, no new create of this input starts
    searching: bool = False  # one search runs at a time
    waiting: int = 0  # tasks waiting in until()
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def until(self, condition: Callable[[], bool]) -> None:
        if condition():
            return  # the usual case, and the hot path: nothing to wait for
        self.waiting += 1
        try:
            while not condition():
                await self._changed.wait()
        finally:
            self.waiting -= 1

    def changed(self) -> None:
        # Counters change synchronously (safe under cancellation); waiters re-check them.
        if self.waiting:
            self._changed.set()
            self._changed = asyncio.Event()

    @property
    def idle(self) -> bool:
        return not (self.in_flight or self.searches or self.waiting)


class Claims:
    """The ids a run knows, and its create requests whose fate is unknown."""

    def __init__(self, stats: RunStats | None = None) -> None:
        # The run's counters: each uncertain request, and what became of it (``_record``).
        self._stats = stats if stats is not None else RunStats()
        self._known: set[str] = set()  # predictions the run created, followed or claimed
        self._uncertain: list[_Uncertain] = []
        # One per input in flight or searched for; dropped when idle (nobody can hold it then).
        self._gates: dict[tuple[int, CreateKey], _Gate] = {}

    def know(self, prediction_id: str) -> None:
        self._known.add(prediction_id)

    @asynccontextmanager
    async def creating(self, api: ReplicateApi, key: CreateKey) -> AsyncIterator[None]:
        """Around one create request: waits while a search for this input runs."""
        gate = self._gates.setdefault((id(api), key), _Gate())
        await gate.until(lambda: gate.searches == 0)
        gate.in_flight += 1
        try:
            yield
        finally:
            gate.in_flight -= 1
            self._changed((id(api), key), gate)

    def lost(self, api: ReplicateApi, key: CreateKey, version: str | None, sent: datetime) -> None:
        """A create request cut off (the run was interrupted): the end-of-run sweep looks."""
        self._record(_Uncertain(api, key, version, sent))

    async def recover(
        self, api: ReplicateApi, key: CreateKey, version: str | None, sent: datetime
    ) -> PredictionState | None:
        """The prediction a failed create request sent at ``sent`` started, now this run's;
        None if the list does not show one (yet): the sweep looks again at the end."""
        record = _Uncertain(api, key, version, sent)
        # Recorded first: if the run is interrupted while searching, the sweep still looks.
        self._record(record)
        gate = self._gates.setdefault((id(api), key), _Gate())
        gate.searches += 1
        try:
            await gate.until(lambda: gate.in_flight == 0 and not gate.searching)
            gate.searching = True
            try:
                listed = await api.predictions_since(sent - CLOCK_SKEW)
                found = self._claim(record, listed)
            except ProviderError:
                return None
            finally:
                gate.searching = False
            if found is not None:
                self._resolve(record, "followed")
            return found
        finally:
            gate.searches -= 1
            self._changed((id(api), key), gate)

    def _changed(self, where: tuple[int, CreateKey], gate: _Gate) -> None:
        gate.changed()
        if gate.idle:
            self._gates.pop(where, None)

    @property
    def unresolved(self) -> bool:
        return any(record.outcome == "unknown" for record in self._uncertain)

    async def sweep(self) -> None:
        """Find the predictions of the requests still unaccounted for; cancel running ones.

        Best effort: a list or a cancel that fails leaves them unaccounted for.
        """
        pending = [record for record in self._uncertain if record.outcome == "unknown"]
        for api in {id(record.api): record.api for record in pending}.values():
            mine = sorted((r for r in pending if r.api is api), key=lambda r: r.sent, reverse=True)
            try:
                listed = await api.predictions_since(mine[-1].sent - CLOCK_SKEW)
            except ProviderError:
                continue
            for record in mine:
                state = self._claim(record, listed)
                if state is None:
                    continue
                self._resolve(record, "found")
                if not state.done:
                    try:
                        await api.cancel(state.id)
                    except ProviderError:
                        continue
                    self._resolve(record, "canceled")

    def _record(self, record: _Uncertain) -> None:
        self._uncertain.append(record)
        self._stats.ambiguous_creates += 1
        self._stats.ambiguous_unaccounted += 1  # until it is resolved

    def _resolve(self, record: _Uncertain, outcome: Outcome) -> None:
        """What became of an uncertain request; the run's counters follow."""
        if record.outcome == "unknown":
            self._stats.ambiguous_unaccounted -= 1
        record.outcome = outcome
        if outcome == "followed":
            self._stats.ambiguous_followed += 1
        elif outcome == "canceled":  # found first, then canceled: counted once
            self._stats.ambiguous_canceled += 1

    def _claim(
        self, record: _Uncertain, listed: Iterable[PredictionState]
    ) -> PredictionState | None:
        """The newest listed prediction that could be the request's and is nobody's yet."""
        for state in listed:
            if state.id not in self._known and record.could_be(state):
                self._known.add(state.id)
                return state
        return None
