"""The ``replicate:`` types: a language model, an image model, a deployment.

replicate:owner/name[:version]             a Replicate model (text)
replicate:image:owner/name[:version]       a Replicate model that makes images
replicate:deployment:owner/name            a Replicate deployment
replicate:moderation:owner/name[:version]  a guard model for `moderation` (promptfoo's form;
                                           the same as replicate:owner/name[:version])
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from replicate_eval.providers.types.base import InvalidProviderId, ProviderType
from replicate_eval.providers.types.options import ReplicateImageOptions, ReplicateTextOptions
from replicate_eval.providers.types.targets import Capabilities, OutputKind, ReplicateTarget

if TYPE_CHECKING:
    from replicate_eval.config.types import ProviderConfig
    from replicate_eval.providers.base import Provider
    from replicate_eval.providers.resources import RunResources

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_VERSION = re.compile(r"^[0-9a-f]{64}$")

_REPLICATE_MODEL = Capabilities(
    needs_token=True,
    cacheable=True,
    has_schema=True,
    on_replicate=True,
    judges=True,
    env_fallbacks=True,
    chat=True,
)


def parse_model(
    provider_id: str, rest: str, kind: OutputKind, *, deployment: bool = False
) -> ReplicateTarget:
    """``owner/name[:version]`` after a ``replicate:`` prefix (a deployment has no version)."""
    slug, _, version = rest.partition(":")
    if not _SLUG.match(slug):
        raise InvalidProviderId(
            f"`{provider_id}`: expected `owner/name` after `replicate:`, got `{slug}`"
        )
    if deployment and version:
        raise InvalidProviderId(f"`{provider_id}`: a deployment id has no version")
    if version and not _VERSION.match(version):
        raise InvalidProviderId(
            f"`{provider_id}`: a version id is 64 lowercase hex characters, got `{version}`"
        )
    owner, name = slug.split("/")
    return ReplicateTarget(owner, name, version or None, deployment, kind)


def model_target(model: str) -> ReplicateTarget:
    """``owner/name[:version]``, with or without ``replicate:`` (``reval models show``)."""
    model_id = "replicate:" + model.removeprefix("replicate:")
    provider_type = ReplicateImage() if model_id.startswith("replicate:image:") else ReplicateText()
    return provider_type.parse(model_id, Path.cwd())


class ReplicateText(ProviderType):
    scheme = "replicate"
    form = "replicate:owner/name[:version]"
    summary = "a Replicate language model (or any model whose output is read as text)"
    options = ReplicateTextOptions
    capabilities = _REPLICATE_MODEL

    def parse(self, provider_id: str, base_dir: Path) -> ReplicateTarget:
        # promptfoo names a moderation assertion's Llama Guard model this way: a text model.
        rest = provider_id.removeprefix("replicate:").removeprefix("moderation:")
        if rest.startswith("deployment:"):  # `replicate:moderation:deployment:owner/name`
            return parse_model(
                provider_id, rest.removeprefix("deployment:"), "text", deployment=True
            )
        return parse_model(provider_id, rest, "text")

    def build(self, config: ProviderConfig, run: RunResources) -> Provider:
        from replicate_eval.providers.replicate.text import ReplicateTextProvider

        return ReplicateTextProvider(config, run.session.prediction_client(config))


class ReplicateImage(ProviderType):
    scheme = "replicate:image"
    form = "replicate:image:owner/name[:version]"
    summary = "a Replicate model that makes images (downloaded, checked and shown)"
    options = ReplicateImageOptions
    # REPLICATE_TEMPERATURE & co are promptfoo's for language models; a system_prompt key of
    # an image model is just one of its inputs; images are never judged by a language model.
    capabilities = Capabilities(
        needs_token=True, cacheable=True, has_schema=True, on_replicate=True
    )

    def parse(self, provider_id: str, base_dir: Path) -> ReplicateTarget:
        rest = provider_id.removeprefix("replicate:image:")
        if rest.startswith("deployment:"):
            raise InvalidProviderId(
                f"`{provider_id}`: deployments run as `replicate:deployment:owner/name`; "
                "image deployments are not supported yet"
            )
        return parse_model(provider_id, rest, "image")

    def build(self, config: ProviderConfig, run: RunResources) -> Provider:
        from replicate_eval.providers.replicate.image import ReplicateImageProvider

        return ReplicateImageProvider(config, run.session.prediction_client(config), run.images)


class ReplicateDeployment(ReplicateText):
    scheme = "replicate:deployment"
    form = "replicate:deployment:owner/name"
    summary = "a Replicate deployment of a language model (its current release)"

    def parse(self, provider_id: str, base_dir: Path) -> ReplicateTarget:
        rest = provider_id.removeprefix("replicate:deployment:")
        return parse_model(provider_id, rest, "text", deployment=True)
