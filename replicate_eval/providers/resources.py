"""What a run's providers share: one Replicate session, one image store, one set of Cog servers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from replicate_eval.providers.cog.server import CogServers
    from replicate_eval.providers.images import ImageStore
    from replicate_eval.providers.replicate.session import ReplicateSession


@dataclass(frozen=True)
class RunResources:
    session: ReplicateSession
    images: ImageStore
    cog: CogServers
    timeout: float | None = None  # the run's --timeout, for providers that enforce their own
