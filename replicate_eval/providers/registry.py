"""Building the provider objects for a run from their resolved configs."""

from __future__ import annotations

from collections.abc import Sequence

from replicate_eval.config import ProviderConfig
from replicate_eval.providers.base import Provider
from replicate_eval.providers.cog.provider import CogProvider
from replicate_eval.providers.cog.server import CogServers
from replicate_eval.providers.images import ImageStore
from replicate_eval.providers.replicate.image import ReplicateImageProvider
from replicate_eval.providers.replicate.session import ReplicateSession
from replicate_eval.providers.replicate.text import ReplicateTextProvider


def build_providers(
    configs: Sequence[ProviderConfig],
    session: ReplicateSession,
    images: ImageStore,
    cog: CogServers,
    *,
    timeout: float | None = None,
) -> dict[int, Provider]:
    """Providers keyed by their index in the config."""
    providers: dict[int, Provider] = {}
    for config in configs:
        if config.is_cog:
            providers[config.index] = CogProvider(config, cog, images, timeout=timeout)
            continue
        predictions = session.prediction_client(config)
        if config.kind == "image":
            providers[config.index] = ReplicateImageProvider(config, predictions, images)
        else:
            providers[config.index] = ReplicateTextProvider(config, predictions)
    return providers
