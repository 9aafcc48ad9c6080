"""Provider id -> its type: the built-in types, then plugins' (entry point group
``reval.providers``, each named by its scheme), loaded only when a config uses that scheme."""

from __future__ import annotations

from importlib import metadata

from replicate_eval.entry_points import load_plugin
from replicate_eval.providers.types.base import InvalidProviderId, ProviderType
from replicate_eval.providers.types.cog import CogFolder, CogServer
from replicate_eval.providers.types.replicate import (
    ReplicateDeployment,
    ReplicateImage,
    ReplicateText,
)
from replicate_eval.suggest import did_you_mean

ENTRY_POINTS = "reval.providers"

# The most specific scheme first: `replicate:image:` before `replicate:`, a URL before a folder.
BUILT_IN: tuple[ProviderType, ...] = (
    ReplicateImage(),
    ReplicateDeployment(),
    ReplicateText(),
    CogServer(),
    CogFolder(),
)
_added: dict[str, ProviderType] = {}  # plugins loaded or registered in this process, by scheme

_LISTED = ("replicate", "replicate:image", "replicate:deployment", "cog:server", "cog:folder")
_FORMS = [f"`{t.form}`" for name in _LISTED for t in BUILT_IN if t.name == name]
PROVIDER_ID_FORMS = ", ".join(_FORMS[:-1]) + f" and {_FORMS[-1]}"


def register_provider_type(provider_type: ProviderType) -> None:
    """Add a type in this process (what the entry point does for an installed plugin)."""
    _added[provider_type.scheme] = provider_type


def all_types() -> tuple[ProviderType, ...]:
    return (*BUILT_IN, *_added.values())


def type_for(provider_id: str) -> ProviderType:
    """The type whose ids ``provider_id`` is written in. Raises InvalidProviderId."""
    for provider_type in all_types():
        if provider_type.claims(provider_id):
            return provider_type
    scheme, sep, _ = provider_id.partition(":")
    plugin = _plugin(scheme) if sep and scheme else None
    if plugin is not None and plugin.claims(provider_id):
        return plugin
    schemes = sorted({t.scheme.partition(":")[0] for t in all_types()} | set(installed_schemes()))
    hint = did_you_mean(scheme, schemes) if sep else ""
    plugins = sorted(set(installed_schemes()) - {t.scheme for t in BUILT_IN})
    also = f", and plugins' {', '.join(f'`{p}:`' for p in plugins)}" if plugins else ""
    raise InvalidProviderId(
        f"unknown provider `{provider_id}`{hint}; reval runs {PROVIDER_ID_FORMS}{also}"
    )


def type_named(name: str) -> ProviderType:
    """The type a resolved provider was made by (``ProviderConfig.type_name``)."""
    # A ProviderConfig is only made by a registered type: the name is there.
    return {provider_type.name: provider_type for provider_type in all_types()}[name]


def installed_schemes() -> list[str]:
    """The schemes installed plugins register (their entry points' names), not loaded."""
    return [entry.name for entry in metadata.entry_points(group=ENTRY_POINTS)]


def _plugin(scheme: str) -> ProviderType | None:
    if scheme not in installed_schemes():
        return None
    loaded, origin = load_plugin(ENTRY_POINTS, scheme, "provider", InvalidProviderId)
    try:
        provider_type = loaded() if isinstance(loaded, type) else loaded
    except (Exception, SystemExit) as exc:  # the plugin's class, instantiated
        raise InvalidProviderId(
            f"{origin} could not be made: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(provider_type, ProviderType):
        raise InvalidProviderId(f"{origin} is not a replicate_eval ProviderType")
    if getattr(provider_type, "scheme", None) != scheme:
        raise InvalidProviderId(
            f"{origin} declares the scheme `{getattr(provider_type, 'scheme', None)}`, "
            f"not `{scheme}`"
        )
    register_provider_type(provider_type)
    return provider_type
