"""Calling the graders of model-graded assertions during a run.

A grader is an ordinary Replicate provider: the run's session (rate limiter, retries, polls)
and response cache serve it like the models under test, but its predictions are counted apart.
The same question asked twice in a run (an expected text embedded for every cell, say) is
asked once: later askers share the first answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from replicate_eval.assertions import KINDS, AssertionProblem, AssertionSpec
from replicate_eval.cache import CacheKey, ResponseCache
from replicate_eval.config import ProviderConfig
from replicate_eval.errors import ApiError, CellError, ProviderError
from replicate_eval.providers.replicate.session import ReplicateSession
from replicate_eval.providers.replicate.text import ReplicateTextProvider
from replicate_eval.results import GraderCallResult, GraderResult


@dataclass(frozen=True)
class GraderAnswer:
    output: str
    prediction_id: str | None
    latency_ms: float
    cached: bool  # no prediction was made for this asker: the cache or an earlier ask had it


class Graders:
    """Every grader of a run, by the index ``Grading.grader`` names."""

    def __init__(
        self,
        configs: Sequence[ProviderConfig],
        session: ReplicateSession,
        cache: ResponseCache | None,
    ) -> None:
        self._configs = {config.index: config for config in configs}
        self._providers = {
            config.index: ReplicateTextProvider(
                config, session.prediction_client(config, grader=True), any_output=True
            )
            for config in configs
        }
        self._cache = cache
        self._asked: dict[CacheKey, asyncio.Future[GraderAnswer]] = {}
        self._blocked: dict[int, ApiError] = {}
        self.cached = 0  # answers given without a new prediction
        self.time_ms = 0.0  # the graders' predictions, added up

    def for_assertion(self, spec: AssertionSpec) -> AssertionGrader:
        assert spec.grading is not None, f"`{spec.kind}` is not model-graded"
        config = self._configs[spec.grading.grader]
        keep_answers = KINDS[spec.kind].grader != "embedding"  # vectors are long and unread
        return AssertionGrader(self, config, keep_answers=keep_answers)

    async def answer(
        self, config: ProviderConfig, prompt: str, extra_input: Mapping[str, Any] | None
    ) -> GraderAnswer:
        provider = self._providers[config.index]
        try:
            model_input = provider.build_input(prompt)
        except CellError as exc:
            raise AssertionProblem(f"{_name(config)}: {exc}") from None
        model_input.update(extra_input or {})
        key = ResponseCache.key(config, model_input)
        earlier = self._asked.get(key)
        if earlier is not None:
            found = await earlier
            self.cached += 1
            return GraderAnswer(found.output, found.prediction_id, found.latency_ms, cached=True)
        asking = asyncio.ensure_future(self._ask(config, key, model_input))
        self._asked[key] = asking
        try:
            return await asking
        except BaseException:
            # A failed or interrupted ask is not an answer: the next asker tries again.
            self._asked.pop(key, None)
            raise

    async def _ask(
        self, config: ProviderConfig, key: CacheKey, model_input: dict[str, Any]
    ) -> GraderAnswer:
        if self._cache is not None:
            hit = await asyncio.to_thread(self._cache.get, key)
            if hit is not None:
                self.cached += 1
                return GraderAnswer(hit.output, hit.prediction_id, hit.latency_ms, cached=True)
        earlier = self._blocked.get(config.index)
        if earlier is not None:
            raise AssertionProblem(f"{_name(config)} could not answer: {earlier} (not sent again)")
        try:
            response = await self._providers[config.index].call(model_input)
        except ProviderError as exc:
            if isinstance(exc, ApiError) and exc.provider_wide:
                self._blocked[config.index] = exc
            raise AssertionProblem(f"{_name(config)} could not answer: {exc}") from None
        self.time_ms += response.latency_ms
        if self._cache is not None:
            await asyncio.to_thread(self._cache.put, key, response)
        return GraderAnswer(
            response.output, response.prediction_id, response.latency_ms, cached=False
        )


@dataclass
class AssertionGrader:
    """The grader of one assertion (``GraderCalls``): records its calls for the results."""

    graders: Graders
    config: ProviderConfig
    keep_answers: bool = True
    calls: list[GraderAnswer] = field(default_factory=list)

    async def ask(self, prompt: str, extra_input: Mapping[str, Any] | None = None) -> str:
        answer = await self.graders.answer(self.config, prompt, extra_input)
        self.calls.append(answer)
        return answer.output

    def result(self) -> GraderResult:
        return GraderResult(
            provider=self.config.id,
            origin=self.config.where,
            calls=[
                GraderCallResult(
                    prediction_id=call.prediction_id,
                    cached=call.cached,
                    latency_ms=round(call.latency_ms, 1),
                )
                for call in self.calls
            ],
            answers=[call.output for call in self.calls] if self.keep_answers else [],
        )


def _name(config: ProviderConfig) -> str:
    return f"the grader `{config.id}` ({config.where})"
