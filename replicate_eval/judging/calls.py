"""Calling the graders of model-graded assertions during a run.

A grader is an ordinary Replicate provider: the run's session (rate limiter, retries, polls)
and response cache serve it like the models under test, but its predictions are counted apart.
A question asked again before its first answer is settled (an expected text embedded for
every cell, say) shares that answer. An answer is settled when its assertion has read it: a
readable one goes into the cache, which answers later askers; an unreadable one is forgotten,
so the next ask (or the next run) tries again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from replicate_eval.assertions import AssertionProblem, AssertionSpec, JudgeUnavailable
from replicate_eval.assertions.registry import KINDS
from replicate_eval.cache import CacheKey, ResponseCache
from replicate_eval.config.types import ProviderConfig
from replicate_eval.errors import ApiError, CellError, ProviderError
from replicate_eval.providers.base import ProviderResponse
from replicate_eval.providers.replicate.session import ReplicateSession
from replicate_eval.providers.replicate.text import ReplicateTextProvider
from replicate_eval.providers.text_input import text_model_input
from replicate_eval.results import GraderCallResult, GraderResult
from replicate_eval.stats import RunStats


@dataclass(frozen=True)
class GraderAnswer:
    output: str
    prediction_id: str | None
    latency_ms: float
    cached: bool  # no prediction was made for this asker: the cache or an earlier ask had it
    key: CacheKey
    fresh: ProviderResponse | None = None  # a new prediction's response, not yet cached


class Graders:
    """Every grader of a run, by the index ``Grading.grader`` names."""

    def __init__(
        self,
        configs: Sequence[ProviderConfig],
        session: ReplicateSession,
        cache: ResponseCache | None,
        stats: RunStats | None = None,
    ) -> None:
        self._providers = {
            config.index: ReplicateTextProvider(
                config, session.prediction_client(config, grader=True), any_output=True
            )
            for config in configs
        }
        self._cache = cache
        self._asked: dict[CacheKey, asyncio.Future[GraderAnswer]] = {}
        self._blocked: dict[int, ApiError] = {}
        # The run's counters: answers given without a new prediction, the predictions' time.
        self._stats = stats if stats is not None else RunStats()

    def for_assertion(self, spec: AssertionSpec) -> AssertionGrader:
        assert spec.grading is not None, f"`{spec.kind}` is not model-graded"
        role = KINDS[spec.kind].grader
        embedder = spec.grading.embedder
        return AssertionGrader(
            self,
            self._providers[spec.grading.grader].config,
            origin=spec.grading.origin,
            # A grader reads a prompt (a chat rubricPrompt too); the others read data.
            chat=role == "text",
            keep_answers=role != "embedding",  # vectors are long and unread
            embedder=None
            if embedder is None
            else AssertionGrader(
                self,
                self._providers[embedder].config,
                origin=spec.grading.origin,
                chat=False,
                keep_answers=False,
            ),
        )

    async def answer(
        self,
        config: ProviderConfig,
        prompt: str,
        extra_input: Mapping[str, Any] | None,
        *,
        chat: bool,
        origin: str,
    ) -> GraderAnswer:
        name = f"the grader `{config.id}` ({origin})"
        try:
            model_input = text_model_input(config, prompt, chat=chat)
        except CellError as exc:
            raise AssertionProblem(f"{name}: {exc}") from None
        model_input.update(extra_input or {})
        key = ResponseCache.key(config, model_input)
        earlier = self._asked.get(key)
        if earlier is not None:
            # Shielded: a waiter given up on does not cancel the ask others wait for.
            found = await asyncio.shield(earlier)
            self._stats.grader_cached += 1
            return replace(found, cached=True, fresh=None)
        asking = asyncio.ensure_future(self._ask(config, key, model_input, name))
        self._asked[key] = asking
        try:
            return await asking
        except BaseException:
            self._asked.pop(key, None)  # no answer to share: the next asker tries again
            raise

    async def settle(self, answer: GraderAnswer, *, readable: bool) -> None:
        """An asked question is settled: a readable new answer goes into the cache (where
        later askers find it); an unreadable one is not kept anywhere."""
        if readable and self._cache is not None and answer.fresh is not None:
            await asyncio.to_thread(self._cache.put, answer.key, answer.fresh)
        self._asked.pop(answer.key, None)

    async def _ask(
        self, config: ProviderConfig, key: CacheKey, model_input: dict[str, Any], name: str
    ) -> GraderAnswer:
        if self._cache is not None:
            hit = await asyncio.to_thread(self._cache.get, key)
            if hit is not None:
                self._stats.grader_cached += 1
                return GraderAnswer(hit.output, hit.prediction_id, hit.latency_ms, True, key)
        earlier = self._blocked.get(config.index)
        if earlier is not None:
            raise JudgeUnavailable(f"{name} could not answer: {earlier} (not sent again)")
        try:
            response = await self._providers[config.index].call(model_input)
        except ProviderError as exc:
            if isinstance(exc, ApiError) and exc.provider_wide:
                self._blocked[config.index] = exc
            raise JudgeUnavailable(f"{name} could not answer: {exc}") from None
        self._stats.grader_time_s += response.latency_ms / 1000
        return GraderAnswer(
            response.output,
            response.prediction_id,
            response.latency_ms,
            cached=False,
            key=key,
            fresh=response,
        )


@dataclass
class AssertionGrader:
    """The grader of one assertion (``GraderCalls``): records its calls for the results."""

    graders: Graders
    config: ProviderConfig
    origin: str
    chat: bool = True
    keep_answers: bool = True
    embedder: AssertionGrader | None = None  # for kinds that also embed texts
    # In the order asked (answers arrive in any order); None: the call failed.
    calls: list[GraderAnswer | None] = field(default_factory=list)

    async def ask(self, prompt: str, extra_input: Mapping[str, Any] | None = None) -> str:
        slot = len(self.calls)
        self.calls.append(None)
        answer = await self.graders.answer(
            self.config, prompt, extra_input, chat=self.chat, origin=self.origin
        )
        self.calls[slot] = answer
        return answer.output

    async def embed(self, text: str) -> str:
        if self.embedder is None:
            raise AssertionProblem("this assertion has no embedding model")
        return await self.embedder.ask(text)

    async def settle(self, *, readable: bool) -> None:
        for call in self.calls:
            if call is not None:
                await self.graders.settle(call, readable=readable)
        if self.embedder is not None:
            await self.embedder.settle(readable=readable)

    def result(self) -> GraderResult:
        answered = [call for call in self.calls if call is not None]
        embedded = [] if self.embedder is None else self.embedder.calls
        answered += [call for call in embedded if call is not None]  # counted, not quoted
        return GraderResult(
            provider=self.config.id,
            origin=self.origin,
            calls=[
                GraderCallResult(
                    prediction_id=call.prediction_id,
                    cached=call.cached,
                    latency_ms=round(call.latency_ms, 1),
                )
                for call in answered
            ],
            answers=[call.output for call in self.calls if call is not None]
            if self.keep_answers
            else [],
        )
