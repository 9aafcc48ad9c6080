"""reval: prompt evals for models hosted on Replicate.

The package follows the data: ``config`` (YAML → typed config) → ``plan`` (cells with rendered
prompts) → ``providers`` (predictions) → ``assertions`` (checks) → ``results`` → ``report``.
``runner`` drives the middle stages; ``api`` assembles the pipeline for Python callers and the
CLI; ``cli`` is the only module that talks to the terminal.

Plugins add provider types and assertion types (the entry point groups ``reval.providers``
and ``reval.assertions``) with the types exported here too (``ProviderType``, ``AssertionKind``).

The public API is imported from here (lazily, so ``reval --version`` stays quick)::

    import replicate_eval as reval

    config = reval.load("evals.yaml")
    result = reval.evaluate(config, reval.EvalOptions(max_concurrency=16))
    assert result.totals.pass_rate >= 0.9
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name → the module that defines it.
_PUBLIC = {
    "load": "api",
    "validate": "api",
    "evaluate": "api",
    "evaluate_async": "api",
    "read_results": "api",
    "write_results": "api",
    "EvalOptions": "api",
    "Validation": "api",
    "PreflightFailed": "api",
    "CacheUnavailable": "api",
    "ExitCode": "exit_codes",
    "exit_code": "exit_codes",
    "RevalError": "errors",
    "ConfigError": "errors",
    "UsageError": "errors",
    "CellError": "errors",
    "TemplateError": "errors",
    "ProviderError": "errors",
    "PredictionError": "errors",
    "ApiError": "errors",
    "NetworkError": "errors",
    "Event": "events",
    "EventCallback": "events",
    "Notice": "events",
    "PreflightStarted": "events",
    "PreflightFinished": "events",
    "RunStarted": "events",
    "CellFinished": "events",
    "Interrupted": "events",
    "EvalConfig": "config.types",
    "Finding": "preflight",
    "RunResult": "results",
    "CellResult": "results",
    "Totals": "results",
    "Written": "report.files",
    # Run history: the store `reval run` records into, and diffs of two runs.
    "RunStore": "history.store",
    "StoreError": "history.store",
    "diff_results": "history.diff",
    "RunDiff": "history.changes",
    "CarryOver": "history.rerun",
    # For plugins: provider types and assertion types (entry points reval.providers and
    # reval.assertions).
    "ProviderType": "providers.types.base",
    "InvalidProviderId": "providers.types.base",
    "ProviderOptions": "providers.types.options",
    "Capabilities": "providers.types.targets",
    "PluginTarget": "providers.types.targets",
    "register_provider_type": "providers.types.registry",
    "ProviderConfig": "config.types",
    "ProviderResponse": "providers.base",
    "RunResources": "providers.resources",
    "AssertionKind": "assertions.base",
    "Outcome": "assertions.base",
    "AssertionProblem": "assertions.base",
    "AssertionSpec": "assertions.base",
    "CheckContext": "assertions.base",
    "register_assertion": "assertions.registry",
}

__all__ = [
    "ApiError",
    "AssertionKind",
    "AssertionProblem",
    "AssertionSpec",
    "CacheUnavailable",
    "Capabilities",
    "CarryOver",
    "CellError",
    "CellFinished",
    "CellResult",
    "CheckContext",
    "ConfigError",
    "EvalConfig",
    "EvalOptions",
    "Event",
    "EventCallback",
    "ExitCode",
    "Finding",
    "Interrupted",
    "InvalidProviderId",
    "NetworkError",
    "Notice",
    "Outcome",
    "PluginTarget",
    "PredictionError",
    "PreflightFailed",
    "PreflightFinished",
    "PreflightStarted",
    "ProviderConfig",
    "ProviderError",
    "ProviderOptions",
    "ProviderResponse",
    "ProviderType",
    "RevalError",
    "RunDiff",
    "RunResources",
    "RunResult",
    "RunStarted",
    "RunStore",
    "StoreError",
    "TemplateError",
    "Totals",
    "UsageError",
    "Validation",
    "Written",
    "__version__",
    "diff_results",
    "evaluate",
    "evaluate_async",
    "exit_code",
    "load",
    "read_results",
    "register_assertion",
    "register_provider_type",
    "validate",
    "write_results",
]

if TYPE_CHECKING:
    from replicate_eval.api import (
        CacheUnavailable,
        EvalOptions,
        PreflightFailed,
        Validation,
        evaluate,
        evaluate_async,
        load,
        read_results,
        validate,
        write_results,
    )
    from replicate_eval.assertions.base import (
        AssertionKind,
        AssertionProblem,
        AssertionSpec,
        CheckContext,
        Outcome,
    )
    from replicate_eval.assertions.registry import register_assertion
    from replicate_eval.config.types import EvalConfig, ProviderConfig
    from replicate_eval.errors import (
        ApiError,
        CellError,
        ConfigError,
        NetworkError,
        PredictionError,
        ProviderError,
        RevalError,
        TemplateError,
        UsageError,
    )
    from replicate_eval.events import (
        CellFinished,
        Event,
        EventCallback,
        Interrupted,
        Notice,
        PreflightFinished,
        PreflightStarted,
        RunStarted,
    )
    from replicate_eval.exit_codes import ExitCode, exit_code
    from replicate_eval.history.changes import RunDiff
    from replicate_eval.history.diff import diff_results
    from replicate_eval.history.rerun import CarryOver
    from replicate_eval.history.store import RunStore, StoreError
    from replicate_eval.preflight import Finding
    from replicate_eval.providers.base import ProviderResponse
    from replicate_eval.providers.resources import RunResources
    from replicate_eval.providers.types.base import InvalidProviderId, ProviderType
    from replicate_eval.providers.types.options import ProviderOptions
    from replicate_eval.providers.types.registry import register_provider_type
    from replicate_eval.providers.types.targets import Capabilities, PluginTarget
    from replicate_eval.report.files import Written
    from replicate_eval.results import CellResult, RunResult, Totals


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'replicate_eval' has no attribute {name!r}")
    value = getattr(import_module(f"replicate_eval.{module}"), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value
