"""Provider ids -> their types, and what each type says its providers can do (issue 14)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from replicate_eval.cache import ResponseCache
from replicate_eval.config.providers import resolve_provider
from replicate_eval.config.schema import ProviderEntry
from replicate_eval.providers.types.base import InvalidProviderId
from replicate_eval.providers.types.registry import PROVIDER_ID_FORMS, type_for
from replicate_eval.providers.types.targets import ReplicateTarget

VERSION = "a" * 64


@pytest.mark.parametrize(
    ("provider_id", "name", "target"),
    [
        ("replicate:meta/llama", "replicate", ReplicateTarget("meta", "llama")),
        (f"replicate:meta/llama:{VERSION}", "replicate", ReplicateTarget("meta", "llama", VERSION)),
        ("replicate:moderation:meta/guard", "replicate", ReplicateTarget("meta", "guard")),
        ("replicate:image:sd/xl", "replicate:image", ReplicateTarget("sd", "xl", kind="image")),
        (
            "replicate:deployment:me/bot",
            "replicate:deployment",
            ReplicateTarget("me", "bot", deployment=True),
        ),
        ("cog:http://127.0.0.1:5000/", "cog:server", None),
    ],
)
def test_each_id_form_has_its_type(
    provider_id: str, name: str, target: ReplicateTarget | None
) -> None:
    provider_type = type_for(provider_id)
    assert provider_type.name == name
    parsed = provider_type.parse(provider_id, Path.cwd())
    if target is not None:
        assert parsed == target
    else:
        assert parsed.slug == "http://127.0.0.1:5000"


def test_capabilities_follow_the_type() -> None:
    text, image, deployment = (
        type_for(i).capabilities
        for i in ("replicate:a/b", "replicate:image:a/b", "replicate:deployment:a/b")
    )
    server, folder = type_for("cog:http://x:1").capabilities, type_for("cog:models/m").capabilities
    assert (
        text.needs_token
        and text.cacheable
        and text.has_schema
        and text.judges
        and text.env_fallbacks
    )
    assert image.cacheable and not image.judges and not image.env_fallbacks and not image.chat
    assert deployment == text
    for local in (server, folder):
        assert not (local.needs_token or local.cacheable or local.has_schema or local.judges)
        assert local.chat


@pytest.mark.parametrize(
    ("provider_id", "message"),
    [
        ("openai:gpt-4", f"unknown provider `openai:gpt-4`; reval runs {PROVIDER_ID_FORMS}"),
        ("replicat:a/b", "did you mean `replicate`?"),
        ("cgo:models/m", "did you mean `cog`?"),
        ("replicate:image:deployment:a/b", "image deployments are not supported yet"),
        (f"replicate:deployment:a/b:{VERSION}", "a deployment id has no version"),
        ("replicate:a/b:v1", "a version id is 64 lowercase hex characters, got `v1`"),
        ("cog:", "`cog:` needs a server URL or a model folder"),
    ],
)
def test_ids_no_type_takes_say_why(provider_id: str, message: str) -> None:
    with pytest.raises(InvalidProviderId) as raised:
        type_for(provider_id).parse(provider_id, Path.cwd())
    assert message in str(raised.value)


def test_the_id_forms_are_listed_as_before() -> None:
    assert PROVIDER_ID_FORMS == (
        "`replicate:owner/name[:version]`, `replicate:image:owner/name[:version]`, "
        "`replicate:deployment:owner/name`, `cog:URL` and `cog:path/to/model`"
    )


def test_the_cache_key_material_is_unchanged_by_the_types() -> None:
    # Existing cache files hold entries under these exact keys: a change would miss them all.
    for provider_id, version in (
        ("replicate:meta/llama", "latest"),
        (f"replicate:meta/llama:{VERSION}", VERSION),
        ("replicate:deployment:meta/llama", "deployment"),
    ):
        config = resolve_provider(
            ProviderEntry.model_validate({"id": provider_id}),
            0,
            {"REPLICATE_API_TOKEN": "r8_x"},
            Path.cwd(),
        )
        material = json.dumps(
            {"input": {"prompt": "hi"}, "kind": "text", "model": "meta/llama", "version": version},
            separators=(",", ":"),
        )
        expected = hashlib.sha256(material.encode()).hexdigest()
        assert ResponseCache.key(config, {"prompt": "hi"}).key == expected
