"""The config stage: a YAML file in, a validated ``EvalConfig`` out."""

from replicate_eval.config.load import EvalConfig, Prompt, TestCase, load_config
from replicate_eval.config.provider_ids import CogTarget, ReplicateTarget, parse_provider_id
from replicate_eval.config.providers import ProviderConfig

__all__ = [
    "CogTarget",
    "EvalConfig",
    "Prompt",
    "ProviderConfig",
    "ReplicateTarget",
    "TestCase",
    "load_config",
    "parse_provider_id",
]
