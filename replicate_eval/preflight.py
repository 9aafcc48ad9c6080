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

A schema that cannot be fetched is a warning, not a stop. Schemas are kept in the response
cache's file: pinned versions for good, a model's latest version for an hour.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from replicate_eval.cache import ResponseCache
from replicate_eval.config import ProviderConfig
from replicate_eval.errors import ProviderError
from replicate_eval.model_schema import ModelInterface, read_interface
from replicate_eval.providers.replicate.api import ReplicateApi
from replicate_eval.providers.replicate.session import ReplicateSession
from replicate_eval.suggest import did_you_mean

Severity = Literal["error", "warning"]
LATEST_SCHEMA_TTL = 3600.0


@dataclass(frozen=True)
class Finding:
    severity: Severity
    provider: ProviderConfig
    message: str

    def __str__(self) -> str:
        return f"providers[{self.provider.index}] `{self.provider.label}`: {self.message}"


async def preflight(
    providers: Sequence[ProviderConfig],
    *,
    strict: bool = False,
    cache: ResponseCache | None = None,
) -> list[Finding]:
    """Every finding for every provider, errors first."""
    session = ReplicateSession(max_connections=8)
    try:
        results = await asyncio.gather(
            *(_check(session.api_for(p), p, strict=strict, cache=cache) for p in providers)
        )
    finally:
        await session.aclose()
    findings = [finding for found in results for finding in found]
    return sorted(findings, key=lambda f: (f.severity != "error", f.provider.index))


async def _check(
    api: ReplicateApi, provider: ProviderConfig, *, strict: bool, cache: ResponseCache | None
) -> list[Finding]:
    try:
        interface = await _interface(api, provider, cache)
    except ProviderError as exc:
        return [Finding("warning", provider, f"inputs not checked: {exc}")]
    if interface is None:
        return [Finding("warning", provider, "inputs not checked: the model publishes no schema")]
    return check_inputs(provider, interface, strict=strict)


def check_inputs(
    provider: ProviderConfig, interface: ModelInterface, *, strict: bool = False
) -> list[Finding]:
    slug = provider.target.slug
    findings: list[Finding] = []
    if interface.output != provider.kind:
        right = "replicate:image:" if interface.output == "image" else "replicate:"
        findings.append(
            Finding(
                "error",
                provider,
                f"{slug} returns {interface.output_description}, so it is "
                f"{'an image' if interface.output == 'image' else 'a text'} model: "
                f"use `{right}{slug}`",
            )
        )
    sent: dict[str, Any] = {**provider.input_options, "prompt": "..."}
    if provider.system_prompt:
        sent["system_prompt"] = provider.system_prompt
    names = [field.name for field in interface.inputs]
    for key, value in sent.items():
        field = interface.field(key)
        if field is None:
            if key == "prompt":
                findings.append(
                    Finding(
                        "error",
                        provider,
                        f"{slug} has no `prompt` input, so it would never see the prompts "
                        f"(its inputs: {', '.join(names) or 'none'})",
                    )
                )
                continue
            hint = did_you_mean(key, names) or f" (its inputs: {', '.join(names)})"
            findings.append(
                Finding(
                    "error" if strict else "warning",
                    provider,
                    f"`{key}` is not an input of {slug}, so the model would ignore it{hint}",
                )
            )
            continue
        if key == "prompt":
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


async def _interface(
    api: ReplicateApi, provider: ProviderConfig, cache: ResponseCache | None
) -> ModelInterface | None:
    target = provider.target
    pinned = target.version is not None
    key = f"{target.slug}:{target.version or ('deployment' if target.deployment else 'latest')}"
    namespace = ResponseCache.namespace(provider)
    if cache is not None:
        stored = await asyncio.to_thread(
            cache.get_schema, namespace, key, None if pinned else LATEST_SCHEMA_TTL
        )
        if stored is not None:
            return read_interface(stored)
    schema = await _fetch_schema(api, provider)
    if cache is not None and schema is not None:
        await asyncio.to_thread(cache.put_schema, namespace, key, schema)
    return read_interface(schema)


async def _fetch_schema(api: ReplicateApi, provider: ProviderConfig) -> dict[str, Any] | None:
    target = provider.target
    if target.deployment:
        model, version = await api.deployment_release(target.slug)
        if version is None:
            return None
        return (await api.version(model, version)).get("openapi_schema")
    if target.version:
        return (await api.version(target.slug, target.version)).get("openapi_schema")
    latest = (await api.model(target.slug)).get("latest_version") or {}
    schema: dict[str, Any] | None = latest.get("openapi_schema")
    return schema
