"""Provider entries: which model an id names, and what goes into that model's input.

Resolution happens once, at load time: flat options and ``config:`` are merged, environment
fallbacks (``REPLICATE_TEMPERATURE``...) are parsed, and the token is found. Providers never
read the environment themselves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr, TypeAdapter, ValidationError

from replicate_eval.config.problems import Problem, is_secret_key, problems_from_validation
from replicate_eval.config.schema import ProviderEntry
from replicate_eval.config.types import ProviderConfig
from replicate_eval.config.yaml_source import Loc
from replicate_eval.errors import ConfigError
from replicate_eval.providers.types.base import InvalidProviderId
from replicate_eval.providers.types.options import (
    REVAL_OPTIONS,
    PromptAffixes,
    ProviderOptions,
    ReplicateTextOptions,
)
from replicate_eval.providers.types.registry import type_for
from replicate_eval.redact import REDACT
from replicate_eval.transforms import prepare_transform

# promptfoo's environment fallbacks: used when a text provider does not set the option.
ENV_FALLBACKS: dict[str, str] = {
    "temperature": "REPLICATE_TEMPERATURE",
    "max_length": "REPLICATE_MAX_LENGTH",
    "max_new_tokens": "REPLICATE_MAX_NEW_TOKENS",
    "top_p": "REPLICATE_TOP_P",
    "top_k": "REPLICATE_TOP_K",
    "repetition_penalty": "REPLICATE_REPETITION_PENALTY",
    "system_prompt": "REPLICATE_SYSTEM_PROMPT",
    "stop_sequences": "REPLICATE_STOP_SEQUENCES",
    "seed": "REPLICATE_SEED",
}
TOKEN_ENV_VARS = ("REPLICATE_API_TOKEN", "REPLICATE_API_KEY")


class ProviderProblems(ConfigError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


def resolve_provider(
    entry: ProviderEntry,
    index: int,
    env: Mapping[str, str],
    base_dir: Path,
    *,
    here: Loc | None = None,
    origin: str = "",
    require_token: bool = True,
    default_delay_ms: float = 0.0,
) -> ProviderConfig:
    """Validate options, apply environment fallbacks, find the token. Raises ProviderProblems.

    ``here`` is where the entry is in the file (default ``providers[index]``), for messages.
    Without ``require_token`` a missing token is no problem: the provider carries ``""``.
    """
    here = here if here is not None else ("providers", index)
    # promptfoo's provider `env`: this provider's token and REPLICATE_* options, over the
    # process's. Read here, never sent as an input, never written to the results.
    own_env = {key: env_text(value) for key, value in entry.env.items()}
    for key, value in own_env.items():
        if key in TOKEN_ENV_VARS:
            REDACT.add(value.strip())
    env = {**env, **own_env}
    try:
        provider_type = type_for(entry.id)
        target = provider_type.parse(entry.id, base_dir)
    except InvalidProviderId as exc:
        raise ProviderProblems([Problem((*here, "id"), str(exc))]) from None
    capabilities = provider_type.capabilities

    merged, problems = _merge_options(entry, here)
    transform = None
    if entry.transform is not None:
        try:
            transform = prepare_transform(entry.transform, base_dir)
        except ConfigError as exc:
            problems.append(Problem((*here, "transform"), str(exc)))
    try:
        options = provider_type.options.model_validate(merged)
    except ValidationError as exc:
        raise ProviderProblems(
            [*problems, *(_relocate(p, entry, here) for p in problems_from_validation(exc))]
        ) from None
    if problems:
        raise ProviderProblems(problems)

    # An option written as null is sent as null, as promptfoo does (its environment fallback
    # still fills it); one not written is not sent.
    values = {
        key: value
        for key, value in options.model_dump(exclude=set(REVAL_OPTIONS)).items()
        if value is not None or key in options.model_fields_set
    }
    # REPLICATE_* fallbacks are promptfoo's for Replicate text models, not for local Cog models.
    problems = _apply_env_fallbacks(values, env, here) if capabilities.env_fallbacks else []
    token, token_source, wrong_token = _find_token(options, env, here, own_env)
    if wrong_token is not None:
        problems.append(wrong_token)
        token = ""
    if token is None and not capabilities.needs_token:
        token, token_source = "", "none (a local model needs no token)"
    if token is None and not require_token:
        token, token_source = "", "none (not needed to validate the config)"
    if token is None:
        problems.append(
            Problem(
                here,
                (
                    f"no Replicate API token for `{entry.id}`: set REPLICATE_API_TOKEN "
                    "(create one at https://replicate.com/account/api-tokens) "
                    "or add `apiKey` to this provider"
                ),
            )
        )
    if problems:
        raise ProviderProblems(problems)
    assert token is not None
    affixes = options.prompt or PromptAffixes()
    # An image model has no system prompt of reval's making: a `system_prompt` key passes through.
    system_prompt = values.pop("system_prompt", None) if capabilities.chat else None
    return ProviderConfig(
        index=index,
        id=entry.id,
        label=entry.label or entry.id,
        target=target,
        type_name=provider_type.name,
        capabilities=capabilities,
        input_options=values,
        system_prompt=system_prompt,
        prefix=affixes.prefix,
        suffix=affixes.suffix,
        token=SecretStr(token),
        token_source=token_source,
        timeout=options.timeout,
        prompt_input=options.prompt_input,
        concurrency=options.concurrency,
        origin=origin,
        prompt_filter=tuple(entry.prompts),
        delay_s=(entry.delay if entry.delay is not None else default_delay_ms) / 1000,
        transform=transform,
    )


def env_text(value: str | int | float | bool) -> str:
    """An `env` value as a variable holds it (YAML may have read `500` as a number)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _merge_options(entry: ProviderEntry, here: Loc) -> tuple[dict[str, Any], list[Problem]]:
    """Flat options and ``config:`` into one mapping; flat prefix/suffix into ``prompt``."""
    problems: list[Problem] = []
    merged = dict(entry.config)
    flat = dict(entry.flat)
    affixes = {key: flat.pop(key) for key in ("prefix", "suffix") if key in flat}
    for key, value in flat.items():
        if key in merged:
            problems.append(
                Problem((*here, key), "set both beside `id` and under `config:`; keep one")
            )
        merged[key] = value
    if affixes:
        prompt = merged.get("prompt")
        prompt = dict(prompt) if isinstance(prompt, dict) else {}
        for key, value in affixes.items():
            if key in prompt:
                problems.append(
                    Problem(
                        (*here, key), f"set both as `{key}` and as `config.prompt.{key}`; keep one"
                    )
                )
            prompt[key] = value
        merged["prompt"] = prompt
    for key in merged:
        # A token sent as a model input would be stored with the prediction.
        if is_secret_key(key) and key != "apiKey":
            loc = (*here, key) if key in entry.flat else (*here, "config", key)
            problems.append(
                Problem(
                    loc,
                    "unknown key; did you mean `apiKey`? "
                    "(reval never sends a token as a model input)",
                )
            )
    return merged, problems


def _relocate(problem: Problem, entry: ProviderEntry, here: Loc) -> Problem:
    """Point at the key where the user wrote it: flat beside ``id`` or under ``config:``."""
    loc = problem.loc
    if loc[:1] == ("prompt",) and len(loc) > 1 and loc[1] in entry.flat:
        return Problem((*here, loc[1], *loc[2:]), problem.message)
    if loc and loc[0] in entry.flat:
        return Problem((*here, *loc), problem.message)
    return Problem((*here, "config", *loc), problem.message)


def _apply_env_fallbacks(
    values: dict[str, Any], env: Mapping[str, str], here: Loc
) -> list[Problem]:
    """Fill unset options from REPLICATE_* variables, in place; return the bad variables."""
    problems = []
    for option, variable in ENV_FALLBACKS.items():
        raw = env.get(variable, "")
        if values.get(option) is not None or not raw.strip():
            continue
        annotation: Any = ReplicateTextOptions.model_fields[option].annotation
        try:
            value = TypeAdapter(annotation).validate_python(
                raw.strip() if option != "system_prompt" else raw
            )
            usable = not (isinstance(value, float) and not math.isfinite(value))
        except (ValidationError, ValueError):
            usable = False
        if not usable:
            kind = {int: "a whole number", float: "a number"}.get(_base_type(annotation), "valid")
            message = (
                f"environment variable {variable}={raw!r} is not {kind}; "
                f"it sets `{option}` because this provider does not. Fix or unset it"
            )
            problems.append(Problem(here, message))
            continue
        values[option] = value
    return problems


def _base_type(annotation: Any) -> Any:
    args = [arg for arg in getattr(annotation, "__args__", ()) if arg is not type(None)]
    return args[0] if len(args) == 1 else annotation


def _find_token(
    options: ProviderOptions, env: Mapping[str, str], here: Loc, own_env: Mapping[str, str]
) -> tuple[str | None, str, Problem | None]:
    """(token, where it came from, what is wrong with it). Blank means unset; a token with
    anything but printable ASCII in it would be stripped or sent in a broken header.

    promptfoo's order: `apiKey`, then the provider's own `env`, then the environment."""
    if options.apiKey is not None and options.apiKey.strip():
        if not token_shaped(options.apiKey):
            return None, "", Problem((*here, "apiKey"), BAD_TOKEN)
        return options.apiKey, "`apiKey` in the config", None
    for variable in TOKEN_ENV_VARS:
        value = own_env.get(variable, "")
        if value.strip():
            if not token_shaped(value):
                return None, "", Problem((*here, "env", variable), BAD_TOKEN)
            return value, f"`env.{variable}` of this provider", None
    for variable in TOKEN_ENV_VARS:
        value = env.get(variable, "")
        if value.strip():
            if not token_shaped(value):
                return None, "", Problem((), f"{_ENVIRONMENT}{variable}: {BAD_TOKEN}")
            return value, variable, None
    return None, "", None


_ENVIRONMENT = "environment variable "


def is_environment_problem(problem: Problem) -> bool:
    """A problem with a token variable: at no key, and the same for every provider."""
    return not problem.loc and problem.message.startswith(_ENVIRONMENT)


BAD_TOKEN = (
    "the token holds whitespace (a space, tab or line break), a control character or a "
    "non-ASCII character, which a Replicate token never has; copy it again from "
    "https://replicate.com/account/api-tokens"
)


def token_shaped(token: str) -> bool:
    return token.isascii() and token.isprintable() and not any(c.isspace() for c in token)
