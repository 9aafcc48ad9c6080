"""Which model version each Replicate provider runs, found once at the start of a run.

A provider id without a version (``replicate:owner/name``) runs whatever version the model has
now, and models change. Resolving it once per run lets the results say what was evaluated (and
``reval diff`` warn when two runs differ), and keys the response cache by that version, so a
cached answer never outlives a model update. A deployment is resolved to its current release.
A look-up that fails leaves the version unknown (None): the run's own calls report the problem,
and that provider neither reads nor writes the cache (its "latest" entries may be an older
version's). The preflight's read of a model (``VersionsSeen``) serves instead of a look-up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence

from replicate_eval.cache import ResponseCache
from replicate_eval.config.types import ProviderConfig
from replicate_eval.errors import ProviderError
from replicate_eval.providers.replicate.session import ReplicateSession
from replicate_eval.providers.types.targets import ReplicateTarget

# As long as the preflight waits for a schema: a hung look-up must not hold the run back.
LOOKUP_TIMEOUT_S = 5.0
# (account namespace, owner/name) → the model's current version, as the preflight read it.
VersionsSeen = dict[tuple[str, str], str]


async def resolve_versions(
    providers: Sequence[ProviderConfig],
    session: ReplicateSession,
    seen: Mapping[tuple[str, str], str] | None = None,  # a VersionsSeen, read only
) -> dict[int, str | None]:
    """Each Replicate provider's version, by provider index; other types are left out.
    ``seen``: versions the preflight read moments ago, not looked up again."""
    lookups: dict[tuple[str, str, bool], asyncio.Task[str | None]] = {}
    wanted: dict[int, tuple[str, str, bool]] = {}
    versions: dict[int, str | None] = {}
    for provider in providers:
        target = provider.target
        if not isinstance(target, ReplicateTarget) or not provider.capabilities.on_replicate:
            continue
        if target.version:
            versions[provider.index] = target.version
            continue
        known = (seen or {}).get((ResponseCache.namespace(provider), target.slug))
        if known and not target.deployment:
            versions[provider.index] = known
            continue
        key = (provider.token.get_secret_value(), target.slug, target.deployment)
        if key not in lookups:
            lookups[key] = asyncio.ensure_future(_look_up(session, provider, target))
        wanted[provider.index] = key
    for index, key in wanted.items():
        versions[index] = await lookups[key]
    return versions


async def _look_up(
    session: ReplicateSession, provider: ProviderConfig, target: ReplicateTarget
) -> str | None:
    api = session.api_for(provider)
    with contextlib.suppress(ProviderError, asyncio.TimeoutError):
        if target.deployment:
            _, version = await asyncio.wait_for(
                api.deployment_release(target.slug), LOOKUP_TIMEOUT_S
            )
            return version
        return await asyncio.wait_for(api.latest_version(target.slug), LOOKUP_TIMEOUT_S)
    return None
