"""The YAML file as written, validated by pydantic.

These models mirror the file; ``load.py`` turns them into the resolved dataclasses the rest of
reval uses. Every mapping rejects unknown keys with the closest valid key in the message.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from replicate_eval.chat import is_chat_messages
from replicate_eval.suggest import did_you_mean


class StrictModel(BaseModel):
    """Strict types (YAML types are explicit) and no unknown keys: each one is its own error
    (pydantic's `extra_forbidden`), so that every typo of a mapping is reported at once."""

    model_config = ConfigDict(strict=True, frozen=True, populate_by_name=True, extra="forbid")

    # Extra words for specific unknown keys, e.g. promptfoo options reval handles elsewhere.
    key_hints: ClassVar[dict[str, str]] = {}

    @classmethod
    def allowed_keys(cls) -> list[str]:
        return [field.alias or name for name, field in cls.model_fields.items()]

    @classmethod
    def prepare(cls, data: Any) -> Any:
        """Rewrite shorthand forms into the full mapping before keys are checked."""
        return data

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any) -> Any:
        return cls.prepare(data)

    @classmethod
    def unknown_key_hint(cls, key: str) -> str:
        allowed = cls.allowed_keys()
        return (
            cls.key_hints.get(key)
            or did_you_mean(key, allowed)
            or f" (valid keys: {', '.join(allowed)})"
        )


def unknown_key_message(model_name: str, loc: tuple[str | int, ...]) -> str:
    """The message for an unknown key at ``loc`` (its last part) of a ``model_name`` document."""
    model = _model_at(_models().get(model_name), loc[:-1])
    hint = (
        model.unknown_key_hint(str(loc[-1]))
        if isinstance(model, type) and issubclass(model, StrictModel)
        else ""
    )
    return f"unknown key{hint}"


def _model_at(model: type[BaseModel] | None, loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model that reads the mapping at ``loc`` inside ``model``, following field types."""
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = next((f for name, f in model.model_fields.items() if part in (name, f.alias)), None)
        model = _strict_model_in(field.annotation) if field is not None else None
    return model


def _strict_model_in(annotation: Any) -> type[StrictModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, StrictModel):
        return annotation
    for argument in get_args(annotation):
        found = _strict_model_in(argument)
        if found is not None:
            return found
    return None


class AssertionEntry(StrictModel):
    key_hints: ClassVar[dict[str, str]] = {
        "rubricPrompt": "; a grader prompt is set for a test: `options.rubricPrompt` in the test "
        "or in defaultTest",
        "contextTransform": "; reval's retrieval graders read the context from the test's "
        "`context` var (a provider's or the test's `transform` can shape the output first)",
    }

    type: str
    value: Any = None
    weight: float = Field(1.0, ge=0)
    threshold: float | None = None
    # The model that judges a model-graded assertion (its grader, embedding or guard model).
    provider: ProviderEntry | None = None
    transform: str | None = None  # promptfoo's: what this assertion sees of the output
    metric: str | None = None  # promptfoo's named metric this assertion's score counts toward
    # promptfoo's: data for the check's code (`context["config"]` in python and javascript).
    config: dict[str, Any] | None = None
    # promptfoo's `assert-set`: the assertions of the group (its `threshold` is the group's).
    assert_: list[AssertionEntry] | None = Field(None, alias="assert")


class GraderProviders(StrictModel):
    """``options.provider``: the models that judge model-graded assertions, by role.

    A provider written directly (a string or a mapping with ``id``) is the ``text`` grader.
    """

    text: ProviderEntry | None = None
    embedding: ProviderEntry | None = None
    moderation: ProviderEntry | None = None

    @classmethod
    def prepare(cls, data: Any) -> Any:
        if isinstance(data, str) or (isinstance(data, dict) and "id" in data):
            return {"text": data}
        return data


class FactualityScores(StrictModel):
    """promptfoo's ``options.factuality``: the score of each category; above 0 passes."""

    subset: float = Field(1.0, ge=0, le=1)
    superset: float = Field(1.0, ge=0, le=1)
    agree: float = Field(1.0, ge=0, le=1)
    disagree: float = Field(0.0, ge=0, le=1)
    differButFactual: float = Field(1.0, ge=0, le=1)


class ChatMessage(StrictModel):
    role: Literal["system", "user"]
    content: str


class TestOptions(StrictModel):
    key_hints: ClassVar[dict[str, str]] = {
        "rubric_prompt": "; did you mean `rubricPrompt`?",
        "runSerially": "; reval runs every test concurrently: use `-j 1` (or "
        "`evaluateOptions.maxConcurrency: 1`) to run one call at a time",
        "storeOutputAs": "; reval's tests do not feed each other: a multi-turn conversation is "
        "one chat prompt",
        "transformVars": "; reval does not transform vars: compute them in a vars file or with "
        "a template expression in the prompt",
    }

    provider: GraderProviders | None = None
    # promptfoo's text around this test's rendered prompt (defaultTest's when it has none).
    prefix: str | None = None
    suffix: str | None = None
    # promptfoo's output transform (Python here), and its older name.
    transform: str | None = None
    postprocess: str | None = None
    # A grader prompt template (text, or a list of chat messages) replacing the shipped one.
    rubricPrompt: str | list[ChatMessage] | None = None
    factuality: FactualityScores | None = None
    # promptfoo's: list vars stay one value instead of making a test per item.
    disableVarExpansion: bool | None = None
    # promptfoo's: no `_conversation` var, which reval never sets.
    disableConversationVar: bool | None = None


class TestEntry(StrictModel):
    key_hints: ClassVar[dict[str, str]] = {
        "provider": "; reval runs every test on every provider (the grid); to run a test on "
        "one provider only, put it in a config of its own",
        "providerOutput": "; reval judges what the providers answer: to try assertions on a "
        "fixed text, run them in a `python` check or against a `cog:` echo model",
        "assertScoringFunction": "; a test's score is the weighted mean of its assertions "
        "(`weight`, `threshold`); for your own rule, write one `python` assertion that "
        "combines the checks",
    }

    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)  # promptfoo's: kept in the results
    # promptfoo's: the providers (labels or ids, `prefix*`) and prompts this test runs on;
    # reval's grid runs every one, so a filter must keep them all (config/prompt_filter.py).
    providers: list[str] | None = None
    prompts: list[str] | None = None
    # A mapping, or promptfoo's `file://vars.yaml` (.json too) holding one.
    vars: dict[str, Any] | str = Field(default_factory=dict)
    assert_: list[AssertionEntry] = Field(default_factory=list, alias="assert")
    threshold: float | None = Field(None, ge=0, le=1)
    options: TestOptions | None = None


class PromptEntry(StrictModel):
    raw: str
    label: str | None = None


class ProviderEntry(StrictModel):
    """A provider as written: ``id``, ``label``, ``config``, promptfoo's own provider keys, and
    options written flat beside ``id``.

    promptfoo's documents put options either under ``config:`` or directly beside ``id``; both
    mean the same. ``flat`` keeps the second kind apart so errors can point where the user wrote.
    promptfoo's provider keys (``env``, ``prompts``, ``transform``, ``delay``, ``inputs``) are
    reval's to read, never model inputs.
    """

    RESERVED: ClassVar[tuple[str, ...]] = (
        "id",
        "label",
        "config",
        "env",
        "prompts",
        "transform",
        "delay",
        "inputs",
    )

    id: str
    label: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    # promptfoo: environment variables for this provider only (its token, REPLICATE_* options).
    env: dict[str, str | int | float | bool] = Field(default_factory=dict)
    # promptfoo: the labels (or ids) of the prompts this provider runs; empty: all of them.
    prompts: list[str] = Field(default_factory=list)
    transform: str | None = None  # promptfoo's output transform (Python here)
    delay: float | None = Field(None, ge=0)  # promptfoo: milliseconds after each call made
    inputs: dict[str, Any] | None = None  # promptfoo's multi-input red teaming; no meaning here
    flat: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def prepare(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"id": data}
        if not isinstance(data, dict):
            return data
        flat = {key: value for key, value in data.items() if key not in cls.RESERVED}
        for key in flat:
            _reject_near_miss(str(key), cls.RESERVED, where="beside `id`")
        reserved = {k: v for k, v in data.items() if k in cls.RESERVED}
        # `config:` or `env:` with nothing under it is YAML's null: promptfoo reads it as empty.
        for key in ("config", "env"):
            if key in reserved and reserved[key] is None:
                del reserved[key]
        if isinstance(reserved.get("prompts"), str):
            reserved["prompts"] = [reserved["prompts"]]
        return {**reserved, "flat": flat}

    @classmethod
    def allowed_keys(cls) -> list[str]:
        return [*cls.RESERVED, "flat"]


def _reject_near_miss(key: str, reserved: tuple[str, ...], *, where: str) -> None:
    """A flat key that looks like a misspelt reserved key is almost surely a typo, not an input."""
    hint = did_you_mean(key, reserved, cutoff=0.75)
    if hint:
        raise PydanticCustomError(
            "unknown_key",
            "unknown key {where}{hint} "
            "(to send it to the model as an input, put it under `config:`)",
            {"key": key, "hint": hint, "where": where},
        )


class DerivedMetricEntry(StrictModel):
    """promptfoo's `derivedMetrics` item: a name and an arithmetic expression of named metrics."""

    name: str = Field(min_length=1)
    value: str = Field(min_length=1)


class EvaluateOptions(StrictModel):
    """promptfoo's `evaluateOptions`: defaults for the run (the command line wins)."""

    key_hints: ClassVar[dict[str, str]] = {
        "maxEvalTimeMs": "; reval has no limit on a whole run: bound it in CI (e.g. `timeout 30m "
        "reval run ...`: reval stops cleanly on SIGTERM and writes the results so far)",
    }

    maxConcurrency: int | None = Field(None, ge=1, le=256)
    repeat: int | None = Field(None, ge=1, le=1000)
    delay: float | None = Field(None, ge=0)  # milliseconds after each call, for every provider
    cache: bool | None = None
    showProgressBar: bool | None = None  # reval shows one on a terminal (`--no-progress`)
    # Milliseconds per provider call (0: no limit), as `--timeout`; a provider's `timeout` wins.
    timeoutMs: float | None = Field(None, ge=0)


class ConfigFile(StrictModel):
    key_hints: ClassVar[dict[str, str]] = {
        "nunjucksFilters": "; reval's templates are Jinja, whose filters cover Nunjucks' (and "
        "`dump`, `nl2br`); filters written in JavaScript cannot run here: compute the value "
        "in a var instead",
        "commandLineOptions": "; reval reads the run's defaults from `evaluateOptions` "
        "(maxConcurrency, repeat, delay, cache, timeoutMs); the command line wins over them",
    }

    description: str | None = None
    # promptfoo's: environment variables for every provider (theirs win), over the process's.
    env: dict[str, str | int | float | bool] = Field(default_factory=dict)
    evaluate_options: EvaluateOptions | None = Field(None, alias="evaluateOptions")
    output_path: str | list[str] | None = Field(None, alias="outputPath")
    metadata: dict[str, Any] = Field(default_factory=dict)  # promptfoo's: kept in the results
    # promptfoo's, with no meaning here (a note says so): sharing to its cloud, tags, JS hooks,
    # writing its own database, tracing, red-teaming.
    write_latest_results: Any = Field(None, alias="writeLatestResults")
    tracing: Any = None
    redteam: Any = None
    sharing: Any = None
    tags: dict[str, Any] | None = None
    extensions: list[str] | None = None
    # promptfoo's: data sets each run through a set of tests (config/scenarios.py expands them).
    scenarios: Any = Field(  # a list, or a `file://` reference: config/scenarios.py checks
        None,
        description="promptfoo's scenarios: items `{description, config: [data], tests: [test]}` "
        "(or `file://` scenario files); every data item runs every test",
    )
    # promptfoo's: metrics computed per prompt x provider from the named ones.
    derived_metrics: list[DerivedMetricEntry] = Field(default_factory=list, alias="derivedMetrics")
    prompts: list[PromptEntry]
    providers: list[ProviderEntry]
    tests: list[TestEntry] = Field(default_factory=list)
    default_test: TestEntry | None = Field(None, alias="defaultTest")
    # Unset: promptfoo's `{{var}}` when the templates read their vars so (config/syntax.py).
    template_syntax: Literal["angle", "curly"] | None = None

    @classmethod
    def prepare(cls, data: Any) -> Any:
        """``prompts: "x"`` and ``providers: "y"`` mean one-item lists; a string means ``raw``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        prompts = data.get("prompts")
        if isinstance(prompts, str):
            prompts = [prompts]
        if isinstance(prompts, dict):
            # One prompt written as a mapping, or promptfoo's legacy `{file: label}` form.
            single = bool(prompts.keys() & {"raw", "id"})
            prompts = [prompts] if single else [{"raw": k, "label": v} for k, v in prompts.items()]
        if isinstance(prompts, list):
            data["prompts"] = [_prompt_item(p) for p in prompts]
        if isinstance(data.get("providers"), str):
            data["providers"] = [data["providers"]]
        if data.get("tests") is None:
            data.pop("tests", None)
        return data


def _prompt_item(item: Any) -> Any:
    """A string is the prompt's text; promptfoo's `{id: file://..., label}` names its file; a
    list of `{role, content}` messages is a chat, held as the JSON text reval's chats are."""
    if isinstance(item, str | list):
        item = {"raw": item}
    if isinstance(item, dict) and "id" in item and "raw" not in item:
        item = {("raw" if key == "id" else key): value for key, value in item.items()}
    if isinstance(item, dict) and is_chat_messages(item.get("raw")):
        item = {**item, "raw": json.dumps(item["raw"], ensure_ascii=False, indent=2)}
    return item


AssertionEntry.model_rebuild()


def _models() -> dict[str, type[BaseModel]]:
    """Every model by class name (the title of its ValidationError): the config's options
    models (providers.py) hold StrictModels too."""
    found: dict[str, type[BaseModel]] = {}
    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        for sub in pending.pop().__subclasses__():
            found[sub.__name__] = sub
            pending.append(sub)
    return found
