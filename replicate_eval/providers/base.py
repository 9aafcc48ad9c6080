"""What every provider offers the runner: build a model input, then call the model with it.

Keeping the two apart lets the runner record exactly what was sent (and, later, key a cache on
it) whatever happens during the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from replicate_eval.media import SavedImage


@dataclass(frozen=True)
class ProviderResponse:
    output: str
    latency_ms: float
    prediction_id: str | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    images: tuple[SavedImage, ...] = ()  # for image models: the saved files, in output order


class Provider(Protocol):
    id: str
    label: str

    def build_input(self, prompt: str) -> dict[str, Any]:
        """The model input for a rendered prompt. Raises CellError if the prompt cannot be used."""
        ...

    async def call(self, model_input: dict[str, Any]) -> ProviderResponse:
        """Run the model. Raises ProviderError on failure."""
        ...
