"""``replicate:owner/name[:version]`` and ``replicate:deployment:owner/name`` text providers."""

from __future__ import annotations

import json
import time
from typing import Any

from replicate_eval.config import ProviderConfig
from replicate_eval.errors import PredictionError, ProviderError
from replicate_eval.providers.base import ProviderResponse
from replicate_eval.providers.chat import parse_chat
from replicate_eval.providers.replicate.predictions import PredictionClient, PredictionState


class ReplicateTextProvider:
    def __init__(self, config: ProviderConfig, predictions: PredictionClient) -> None:
        self.config = config
        self.id = config.id
        self.label = config.label
        self._predictions = predictions

    def build_input(self, prompt: str) -> dict[str, Any]:
        """Options, then ``system_prompt`` (a chat's system message wins), then the prompt."""
        chat = parse_chat(prompt)
        user = chat.user if chat else prompt
        system = (chat.system if chat else None) or self.config.system_prompt
        model_input = dict(self.config.input_options)
        if system:
            model_input["system_prompt"] = system
        model_input["prompt"] = f"{self.config.prefix}{user}{self.config.suffix}"
        return model_input

    async def call(self, model_input: dict[str, Any]) -> ProviderResponse:
        started = time.perf_counter()
        state = await self._predictions.run(model_input)
        latency_ms = (time.perf_counter() - started) * 1000
        if state.status != "succeeded":
            raise PredictionError(
                _failure_message(state),
                status=state.status,
                prediction_id=state.id,
                metrics=state.metrics,
            )
        return ProviderResponse(
            output=_as_text(state),
            latency_ms=latency_ms,
            prediction_id=state.id,
            metrics=state.metrics,
        )


def _failure_message(state: PredictionState) -> str:
    if state.status == "failed":
        return f"prediction failed: {(state.error or 'no error message').strip()}"
    if state.status == "canceled":
        return "prediction was canceled"
    if state.status == "aborted":
        return "prediction was aborted: its deadline passed before it started"
    return f"prediction ended with status `{state.status}`"


def _as_text(state: PredictionState) -> str:
    """Language models stream tokens: a list of strings is joined, a string is kept."""
    output = state.output
    if isinstance(output, str):
        return output
    if isinstance(output, list) and all(isinstance(item, str) for item in output):
        return "".join(output)
    if output is None:
        message = "prediction succeeded but returned no output"
    else:
        shown = json.dumps(output)[:200]
        message = f"the model returned {type(output).__name__} output, not text: {shown}"
    raise ProviderError(message, prediction_id=state.id, metrics=state.metrics)
