"""The config stage's result: prompts, tests and the whole config, as the later stages see them.

In a module of its own so that the modules building them (loading, providers, graders, prompts)
and the ones reading them (every later stage) import these types without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from replicate_eval.assertions.base import AssertionSpec
from replicate_eval.named_metrics import DerivedMetric
from replicate_eval.providers.types.targets import Capabilities, OutputKind, Target
from replicate_eval.templating import TemplateSyntax
from replicate_eval.usercode.worker import PythonSource


@dataclass(frozen=True)
class ProviderConfig:
    """A provider, fully resolved (config.providers); its type (providers.types) built it and
    builds its provider object (``type_name``), and says what it can do (``capabilities``)."""

    index: int
    id: str
    label: str
    target: Target
    type_name: str
    capabilities: Capabilities
    input_options: Mapping[str, Any]  # model inputs other than prompt and system_prompt
    system_prompt: str | None
    prefix: str
    suffix: str
    token: SecretStr = field(repr=False)
    token_source: str  # where the token came from, for messages (never the token itself)
    timeout: float | None = None  # seconds; None: the run's --timeout
    prompt_input: str = "prompt"  # the model input that receives the rendered prompt
    concurrency: int | None = None  # for cog: servers
    # Where the provider was configured, for messages: `providers[0]`, or a grader's place.
    origin: str = ""
    # promptfoo's provider keys: the prompts it runs (labels; empty: all), and seconds to wait
    # after each call it makes.
    prompt_filter: tuple[str, ...] = ()
    delay_s: float = 0.0
    transform: PythonSource | None = None  # promptfoo's provider `transform`

    @property
    def where(self) -> str:
        return self.origin or f"providers[{self.index}]"

    @property
    def kind(self) -> OutputKind:
        """What its outputs are: text, or images."""
        return self.target.kind


@dataclass(frozen=True)
class Prompt:
    index: int
    label: str
    template: str
    source: Path | None = None  # the file it was read from, if any


@dataclass(frozen=True)
class TestCase:
    index: int
    description: str | None
    vars: Mapping[str, Any]
    assertions: tuple[AssertionSpec, ...]
    threshold: float | None
    metadata: Mapping[str, Any] = field(default_factory=dict)  # promptfoo's, kept as written
    transform: PythonSource | None = None  # promptfoo's `options.transform` (or `postprocess`)
    prefix: str = ""  # promptfoo's `options.prefix`/`suffix`: around the rendered prompt
    suffix: str = ""


@dataclass(frozen=True)
class RunDefaults:
    """promptfoo's `evaluateOptions`: how a run goes unless its caller says otherwise."""

    max_concurrency: int = 8
    repeat: int = 1
    cache: bool = True
    timeout: float | None = None  # seconds per provider call; None: no limit


@dataclass(frozen=True)
class EvalConfig:
    path: Path
    description: str | None
    template_syntax: TemplateSyntax
    prompts: tuple[Prompt, ...]
    providers: tuple[ProviderConfig, ...]
    tests: tuple[TestCase, ...]
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what reval chose for the file, said once (not a problem)
    run_defaults: RunDefaults = RunDefaults()
    # promptfoo's `outputPath`: results files written when the command names none.
    output_paths: tuple[Path, ...] = ()
    # The models that judge model-graded assertions, numbered after the providers.
    graders: tuple[ProviderConfig, ...] = ()
    shard: str | None = None  # "I/N" when the tests are one shard's (--shard)
    selected: bool = False  # only some of the config's tests: a filter or a shard chose them
    derived_metrics: tuple[DerivedMetric, ...] = ()  # promptfoo's `derivedMetrics`
    # promptfoo's top-level `metadata`, kept in the results file.
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False)
