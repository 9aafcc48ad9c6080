"""The config stage: a YAML file in, a validated ``EvalConfig`` out."""

from replicate_eval.config.load import EvalConfig, Prompt, TestCase, load_config
from replicate_eval.config.providers import ProviderConfig, ReplicateTarget, parse_provider_id

__all__ = [
    "EvalConfig",
    "Prompt",
    "ProviderConfig",
    "ReplicateTarget",
    "TestCase",
    "load_config",
    "parse_provider_id",
]
