"""``replicate:owner/name[:version]`` and ``replicate:deployment:owner/name`` text providers."""

from __future__ import annotations

import json
from typing import Any

from replicate_eval.clip import clip
from replicate_eval.config.types import ProviderConfig
from replicate_eval.errors import ProviderError
from replicate_eval.providers.base import ProviderResponse
from replicate_eval.providers.outputs import file_urls, joined_text, looks_like_images
from replicate_eval.providers.replicate.api import PredictionState
from replicate_eval.providers.replicate.predictions import PredictionClient
from replicate_eval.providers.text_input import text_model_input

# Characters of an output shown, cut without a mark, in the error of a text model whose output
# is not text: of its first image URL, and of the output as JSON.
_URL_SHOWN = 80
_OUTPUT_SHOWN = 200


class ReplicateTextProvider:
    """``any_output``: other outputs than text (an embedding model's vectors) come back as
    JSON instead of failing; graders read them."""

    def __init__(
        self, config: ProviderConfig, predictions: PredictionClient, *, any_output: bool = False
    ) -> None:
        self.config = config
        self.id = config.id
        self.label = config.label
        self._predictions = predictions
        self._any_output = any_output

    def build_input(self, prompt: str) -> dict[str, Any]:
        """Options, then ``system_prompt`` (a chat's system message wins), then the prompt."""
        return text_model_input(self.config, prompt)

    async def call(self, model_input: dict[str, Any]) -> ProviderResponse:
        state, latency_ms = await self._predictions.run_to_success(model_input)
        return ProviderResponse(
            output=self._as_text(state),
            latency_ms=latency_ms,
            prediction_id=state.id,
            metrics=state.metrics,
        )

    def _as_text(self, state: PredictionState) -> str:
        """Language models stream tokens: a list of strings is joined, a string is kept."""
        output = state.output
        if looks_like_images(output):
            target = self.config.target
            urls = file_urls(output) or []
            first = clip(urls[0], _URL_SHOWN, marker="")
            raise ProviderError(
                f"`{self.id}` returned {len(urls)} image file(s) ({first}), not text; "
                f"for image models use `replicate:image:{target.slug}`",
                prediction_id=state.id,
                metrics=state.metrics,
            )
        text = joined_text(output)
        if text is not None:
            return text
        if self._any_output and output is not None:
            return json.dumps(output)
        if output is None:
            message = "prediction succeeded but returned no output"
        else:
            shown = clip(json.dumps(output), _OUTPUT_SHOWN, marker="")
            message = f"the model returned {type(output).__name__} output, not text: {shown}"
        raise ProviderError(message, prediction_id=state.id, metrics=state.metrics)
