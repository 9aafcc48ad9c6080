"""``replicate:image:owner/name[:version]`` providers: a prompt in, saved images out."""

from __future__ import annotations

import os
from typing import Any

from replicate_eval.config.types import ProviderConfig
from replicate_eval.errors import ProviderError
from replicate_eval.providers.base import ProviderResponse
from replicate_eval.providers.download_policy import DownloadPolicy
from replicate_eval.providers.images import DownloadError, ImageStore
from replicate_eval.providers.outputs import (
    describe_output,
    excerpt,
    file_urls,
    joined_text,
    nested_urls,
)
from replicate_eval.providers.replicate.predictions import PredictionClient

_HINT_LIMIT = 80  # characters of a text output or a nested URL quoted in a hint


class ReplicateImageProvider:
    def __init__(
        self,
        config: ProviderConfig,
        predictions: PredictionClient,
        store: ImageStore,
        *,
        downloads: DownloadPolicy | None = None,
    ) -> None:
        self.config = config
        self.id = config.id
        self.label = config.label
        self._predictions = predictions
        self._store = store
        # Public https hosts only, and the API's own origin (where a proxy or the tests' fake
        # serves files), found as the SDK finds it (replicate/client.py).
        api = os.environ.get("REPLICATE_BASE_URL") or "https://api.replicate.com"
        self._downloads = downloads or DownloadPolicy.public(trusting=api)

    def build_input(self, prompt: str) -> dict[str, Any]:
        """The options the user set, then the prompt (with any prefix and suffix)."""
        model_input = dict(self.config.input_options)
        model_input[self.config.prompt_input] = f"{self.config.prefix}{prompt}{self.config.suffix}"
        return model_input

    async def call(self, model_input: dict[str, Any]) -> ProviderResponse:
        state, latency_ms = await self._predictions.run_to_success(model_input)
        urls = file_urls(state.output)
        if urls is None:
            raise ProviderError(
                _not_images(self.id, self.config.target.slug, state.output),
                prediction_id=state.id,
                metrics=state.metrics,
            )
        try:
            images = await self._store.save_all(urls, policy=self._downloads)
        except DownloadError as exc:
            raise ProviderError(str(exc), prediction_id=state.id, metrics=state.metrics) from None
        return ProviderResponse(
            # Text assertions and `python` checks see the saved files' paths, one per line.
            output="\n".join(str(image.path) for image in images),
            latency_ms=latency_ms,
            prediction_id=state.id,
            metrics=state.metrics,
            images=tuple(images),
        )


def _not_images(provider_id: str, slug: str, output: Any) -> str:
    """Why an output is not images, in words; the text prefix only when it is text."""
    if output is None or output == []:
        return f"`{provider_id}` returned no output"
    text = joined_text(output)
    if text is not None:
        shown = describe_output(text, limit=_HINT_LIMIT)
        return (
            f"`{provider_id}` returned {shown}, not image files; "
            f"for text models use `replicate:{slug}`"
        )
    message = f"`{provider_id}` returned {describe_output(output)}, not image files"
    inside = nested_urls(output)
    if inside:
        urls = "a file URL" if len(inside) == 1 else f"{len(inside)} file URLs"
        message += (
            f"; it holds {urls} ({excerpt(inside[0], _HINT_LIMIT)}) a level down, but reval "
            "reads an image model's output only as a URL or a list of URLs"
        )
    return message
