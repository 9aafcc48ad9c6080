"""Preflight: check what each provider will send against its model's schema, before paying.

promptfoo's docs warn that not every model supports every parameter. Replicate ignores inputs a
model does not have and refuses badly typed or out-of-range ones only once a prediction is
made; reval fetches each model's version schema once and finds those mistakes first:

* an input the model does not have: a warning with the closest real name (an error with
  ``--strict``), because the model would silently ignore it;
* a value of the wrong type, out of min/max or not among the allowed values, or a required
  input that is never sent: an error;
* ``replicate:`` on a model that makes files, or ``replicate:image:`` on a text model: an error
  naming the right prefix.

A model or version that does not exist (404), a token Replicate refuses (401/403) and an API
that cannot be reached are errors: every cell would fail, after retries, so nothing is run. A
schema that cannot be fetched otherwise (a server error, an unreadable answer) is a warning.
Schemas are kept in the response cache's file: pinned versions for good, a model's latest
version for an hour.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from replicate_eval.cache import ResponseCache
from replicate_eval.config.types import ProviderConfig
from replicate_eval.errors import ApiError, NetworkError, ProviderError
from replicate_eval.model_schema import ModelInterface, read_interface
from replicate_eval.providers.replicate.api import ReplicateApi
from replicate_eval.providers.replicate.session import ReplicateSession
from replicate_eval.providers.replicate.versions import VersionsSeen
from replicate_eval.providers.types.targets import ReplicateTarget
from replicate_eval.suggest import did_you_mean

Severity = Literal["error", "warning"]
LATEST_SCHEMA_TTL = 3600.0
SCHEMA_READ_TIMEOUT = 5.0


@dataclass(frozen=True)
class Finding:
    severity: Severity
    provider: ProviderConfig
    message: str
    unchecked: bool = False  # the provider's inputs could not be checked at all

    def __str__(self) -> str:
        return f"{self.provider.where} `{self.provider.label}`: {self.message}"


async def preflight(
    providers: Sequence[ProviderConfig],
    *,
    strict: bool = False,
    cache: ResponseCache | None = None,
    also_sends: Mapping[int, set[str]] | None = None,
    must_accept: Mapping[int, Mapping[str, str]] | None = None,
    versions_seen: VersionsSeen | None = None,
) -> list[Finding]:
    """Every finding for every provider, errors first.

    ``also_sends`` names inputs some prompts add, by provider index (a chat's system message
    is sent as ``system_prompt``). ``must_accept`` names inputs a model must have, with what
    they carry: a model that would ignore one is an error (a guard model without `assistant`
    would never see the output it is asked to judge). ``versions_seen`` receives the current
    version of each unversioned model whose description it read, so that the run does not
    look it up again.
    """
    # A schema is a quick read: one that stalls (a hung proxy) must not hold up the run.
    session = ReplicateSession(max_connections=8, read_timeout=SCHEMA_READ_TIMEOUT)
    schemas = _SchemaSource(cache, versions_seen)
    try:
        results = await asyncio.gather(
            *(
                _check(
                    session.api_for(p),
                    p,
                    strict=strict,
                    schemas=schemas,
                    extra=(also_sends or {}).get(p.index, set()),
                    needed=(must_accept or {}).get(p.index, {}),
                )
                for p in providers
            )
        )
    finally:
        await session.aclose()
    findings = [finding for found in results for finding in found]
    return sorted(findings, key=lambda f: (f.severity != "error", f.provider.index))


async def _check(
    api: ReplicateApi,
    provider: ProviderConfig,
    *,
    strict: bool,
    schemas: _SchemaSource,
    extra: set[str],
    needed: Mapping[str, str],
) -> list[Finding]:
    try:
        interface = await schemas.interface(api, provider)
    except (ApiError, NetworkError) as exc:
        if isinstance(exc, NetworkError) or exc.status in (401, 403, 404):
            return [Finding("error", provider, _unusable(exc), unchecked=True)]
        return [Finding("warning", provider, f"inputs not checked: {exc}", unchecked=True)]
    except ProviderError as exc:
        return [Finding("warning", provider, f"inputs not checked: {exc}", unchecked=True)]
    if interface is None:
        return [
            Finding(
                "warning",
                provider,
                "inputs not checked: no schema was found for this model version",
                unchecked=True,
            )
        ]
    return check_inputs(provider, interface, strict=strict, extra=extra, needed=needed)


def _unusable(exc: ApiError | NetworkError) -> str:
    if isinstance(exc, NetworkError):
        where = os.environ.get("REPLICATE_BASE_URL")
        named = f"{where} (REPLICATE_BASE_URL)" if where else "https://api.replicate.com"
        return f"cannot reach Replicate at {named}: {exc}"
    if exc.status == 404:
        return str(exc)
    return f"{exc}; no prediction can be made with it"


def check_inputs(
    provider: ProviderConfig,
    interface: ModelInterface,
    *,
    strict: bool = False,
    extra: set[str] | None = None,
    needed: Mapping[str, str] | None = None,
) -> list[Finding]:
    slug = provider.target.slug
    findings: list[Finding] = []
    if interface.output is not None and interface.output != provider.kind:
        image = interface.output == "image"
        if isinstance(provider.target, ReplicateTarget) and provider.target.deployment:
            fix = "image deployments are not supported yet" if image else "check the deployment"
        else:
            fix = f"use `{'replicate:image:' if image else 'replicate:'}{slug}`"
        findings.append(
            Finding(
                "error",
                provider,
                f"{slug} returns {interface.output_description}, so it is "
                f"{'an image' if image else 'a text'} model: {fix}",
            )
        )
    prompt_input = provider.prompt_input
    sent: dict[str, Any] = {**provider.input_options, prompt_input: ...}
    if provider.system_prompt is not None:
        sent["system_prompt"] = provider.system_prompt
    for key, carries in (needed or {}).items():
        if interface.field(key) is not None:
            sent.setdefault(key, ...)
        else:
            findings.append(
                Finding(
                    "error",
                    provider,
                    f"{slug} has no `{key}` input, which carries {carries}: the model would "
                    f"never see it (its inputs: {', '.join(f.name for f in interface.inputs)})",
                )
            )
    for key in extra or ():
        if key in (needed or {}):
            continue  # reported above when missing
        sent.setdefault(key, ...)
    names = [field.name for field in interface.inputs]
    for key, value in sent.items():
        field = interface.field(key)
        if field is None:
            if key == prompt_input:
                texts = [f.name for f in interface.inputs if f.type == "string"]
                if len(texts) == 1:  # hello-world's `text`: the fix is plain
                    advice = f"; set `prompt_input: {texts[0]}` to send the prompts there"
                else:
                    advice = "" if prompt_input != "prompt" else "; set `prompt_input` to the one"
                findings.append(
                    Finding(
                        "error",
                        provider,
                        f"{slug} has no `{prompt_input}` input, so it would never see the "
                        f"prompts (its inputs: {', '.join(names) or 'none'}){advice}",
                    )
                )
                continue
            listed = f"its inputs: {', '.join(names)}" if names else "it takes no inputs"
            hint = did_you_mean(key, names) or f" ({listed})"
            findings.append(
                Finding(
                    "error" if strict else "warning",
                    provider,
                    f"`{key}` is not an input of {slug}, so the model would ignore it{hint}",
                )
            )
            continue
        if value is ...:
            continue
        problem = field.problem_with(value)
        if problem:
            findings.append(Finding("error", provider, f"`{key}` {problem}"))
    for field in interface.inputs:
        if field.required and not field.has_default and field.name not in sent:
            findings.append(
                Finding(
                    "error",
                    provider,
                    f"{slug} requires `{field.name}`, which this provider does not send",
                )
            )
    return findings


class _SchemaSource:
    """Schemas from the cache file, else fetched once per model version however many
    providers use it."""

    def __init__(self, cache: ResponseCache | None, versions_seen: VersionsSeen | None) -> None:
        self._cache = cache
        self._fetching: dict[tuple[str, str], asyncio.Task[Any]] = {}
        self._versions_seen = versions_seen

    async def interface(self, api: ReplicateApi, provider: ProviderConfig) -> ModelInterface | None:
        target = replicate_target(provider)
        pinned = target.version is not None
        key = f"{target.slug}:{target.version_key}"
        namespace = ResponseCache.namespace(provider)
        if (namespace, key) not in self._fetching:
            self._fetching[namespace, key] = asyncio.ensure_future(
                self._schema(api, provider, namespace, key, pinned)
            )
        return read_interface(await self._fetching[namespace, key])

    async def _schema(
        self, api: ReplicateApi, provider: ProviderConfig, namespace: str, key: str, pinned: bool
    ) -> Any:
        cache = self._cache
        if cache is not None:
            stored = await asyncio.to_thread(
                cache.get_schema, namespace, key, None if pinned else LATEST_SCHEMA_TTL
            )
            if stored is not None:
                return stored
        schema = await _fetch_schema(api, provider, self._versions_seen)
        if cache is not None and schema is not None:
            await asyncio.to_thread(cache.put_schema, namespace, key, schema)
        return schema


def replicate_target(provider: ProviderConfig) -> ReplicateTarget:
    """The preflight reads schemas on Replicate: only types whose capabilities say
    ``has_schema`` (all of them ``replicate:``) get here."""
    target = provider.target
    assert isinstance(target, ReplicateTarget), f"{provider.id} has no schema on Replicate"
    return target


async def _fetch_schema(
    api: ReplicateApi, provider: ProviderConfig, versions_seen: VersionsSeen | None
) -> Any:
    target = replicate_target(provider)
    if target.deployment:
        model, version = await api.deployment_release(target.slug)
        if version is None:
            raise ProviderError(f"deployment `{target.slug}` has no current release")
        return (await api.version(model, version)).get("openapi_schema")
    if target.version:
        return (await api.version(target.slug, target.version)).get("openapi_schema")
    latest = (await api.model(target.slug)).get("latest_version") or {}
    if versions_seen is not None and latest.get("id"):
        versions_seen[ResponseCache.namespace(provider), target.slug] = str(latest["id"])
    return latest.get("openapi_schema")
