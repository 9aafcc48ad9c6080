"""The ``cog:`` types: a Cog model server that is already running, or a model folder reval
starts. Local models: no token, no cache (a folder's code changes between runs), no schema on
Replicate.

    cog:http://127.0.0.1:5000   a Cog model server that is already running
    cog:path/to/model           a Cog model folder (cog.yaml), started by reval
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import TYPE_CHECKING

from replicate_eval.providers.types.base import InvalidProviderId, ProviderType
from replicate_eval.providers.types.targets import Capabilities, CogTarget

if TYPE_CHECKING:
    from replicate_eval.config.types import ProviderConfig
    from replicate_eval.providers.base import Provider
    from replicate_eval.providers.resources import RunResources

COG_RUNTIME_MISSING = (
    "`cog:` providers that start a model need the Cog runtime: "
    "pip install 'replicate-eval[cog]' (`make install` includes it)"
)
_URL = re.compile(r"^https?://")
# A chat's system message still goes to `system_prompt`: Cog language models take it too.
_LOCAL = Capabilities(chat=True)


def _where(provider_id: str) -> str:
    return provider_id.removeprefix("cog:").strip()


class CogServer(ProviderType):
    scheme = "cog"
    name = "cog:server"
    form = "cog:URL"
    summary = "a Cog model server that is already running (http://host:port)"
    capabilities = _LOCAL

    def claims(self, provider_id: str) -> bool:
        return provider_id.startswith("cog:") and bool(_URL.match(_where(provider_id)))

    def parse(self, provider_id: str, base_dir: Path) -> CogTarget:
        return CogTarget(url=_where(provider_id).rstrip("/"))

    def build(self, config: ProviderConfig, run: RunResources) -> Provider:
        from replicate_eval.providers.cog.provider import CogProvider

        return CogProvider(config, run.cog, run.images, timeout=run.timeout)


class CogFolder(CogServer):
    name = "cog:folder"
    form = "cog:path/to/model"
    summary = "a Cog model folder (with a cog.yaml), started by reval for the run"

    def claims(self, provider_id: str) -> bool:
        return provider_id.startswith("cog:")

    def parse(self, provider_id: str, base_dir: Path) -> CogTarget:
        where = _where(provider_id)
        if not where:
            raise InvalidProviderId(
                "`cog:` needs a server URL or a model folder, e.g. `cog:models/mine`"
            )
        folder = (base_dir / where).resolve()
        if not (folder / "cog.yaml").is_file():
            raise InvalidProviderId(f"`{provider_id}`: no cog.yaml in {folder}")
        if importlib.util.find_spec("cog") is None or importlib.util.find_spec("coglet") is None:
            raise InvalidProviderId(COG_RUNTIME_MISSING)
        return CogTarget(folder=folder)
