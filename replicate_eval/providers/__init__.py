"""The provider stage: turn a rendered prompt into a model input and get an output."""

from replicate_eval.providers.base import Provider, ProviderResponse
from replicate_eval.providers.registry import build_providers

__all__ = ["Provider", "ProviderResponse", "build_providers"]
