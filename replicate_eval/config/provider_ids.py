"""Provider ids: which model a provider runs, and where.

replicate:owner/name[:version]        a Replicate model (text)
replicate:image:owner/name[:version]  a Replicate model that makes images
replicate:deployment:owner/name       a Replicate deployment
replicate:moderation:owner/name[:version]  a guard model for `moderation` (promptfoo's form;
                                      the same as replicate:owner/name[:version])
cog:http://127.0.0.1:5000             a Cog model server that is already running
cog:path/to/model                     a Cog model folder (cog.yaml), started by reval
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from replicate_eval.suggest import did_you_mean

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_VERSION = re.compile(r"^[0-9a-f]{64}$")

PROVIDER_ID_FORMS = (
    "`replicate:owner/name[:version]`, `replicate:image:owner/name[:version]`, "
    "`replicate:deployment:owner/name`, `cog:URL` and `cog:path/to/model`"
)

# What a provider's outputs are: text to read, or images to download and look at.
OutputKind = Literal["text", "image"]


@dataclass(frozen=True)
class ReplicateTarget:
    """What a ``replicate:`` id points at: a model, one of its versions, or a deployment."""

    owner: str
    name: str
    version: str | None = None
    deployment: bool = False
    kind: OutputKind = "text"

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}"


def parse_provider_id(provider_id: str) -> ReplicateTarget:
    """Parse ``replicate:[image:|deployment:]owner/name[:version]``.

    Raises ValueError saying what is wrong.
    """
    prefix, sep, rest = provider_id.partition(":")
    if not sep or prefix != "replicate":
        hint = did_you_mean(prefix, ["replicate"]) if sep else ""
        raise ValueError(f"unknown provider `{provider_id}`{hint}; reval runs {PROVIDER_ID_FORMS}")
    kind: OutputKind = "image" if rest.startswith("image:") else "text"
    rest = rest.removeprefix("image:")
    # promptfoo names a moderation assertion's Llama Guard model this way: a text model.
    rest = rest.removeprefix("moderation:") if kind == "text" else rest
    deployment = rest.startswith("deployment:")
    if deployment:
        if kind == "image":
            raise ValueError(
                f"`{provider_id}`: deployments run as `replicate:deployment:owner/name`; "
                "image deployments are not supported yet"
            )
        rest = rest.removeprefix("deployment:")
    slug, _, version = rest.partition(":")
    if not _SLUG.match(slug):
        raise ValueError(f"`{provider_id}`: expected `owner/name` after `replicate:`, got `{slug}`")
    if deployment and version:
        raise ValueError(f"`{provider_id}`: a deployment id has no version")
    if version and not _VERSION.match(version):
        raise ValueError(
            f"`{provider_id}`: a version id is 64 lowercase hex characters, got `{version}`"
        )
    owner, name = slug.split("/")
    return ReplicateTarget(owner, name, version or None, deployment, kind)


@dataclass(frozen=True)
class CogTarget:
    """A Cog model: a running server (``url``) or a folder reval starts (``folder``)."""

    url: str | None = None
    folder: Path | None = None
    # Cog models answer text or files; reval looks at each output. No versions, no deployments.
    kind: OutputKind = "text"
    version: None = None
    deployment: Literal[False] = False

    @property
    def slug(self) -> str:
        return self.url or str(self.folder)


COG_RUNTIME_MISSING = (
    "`cog:` providers that start a model need the Cog runtime: "
    "pip install 'replicate-eval[cog]' (`make install` includes it)"
)


def parse_target(provider_id: str, base_dir: Path) -> ReplicateTarget | CogTarget:
    """Parse any provider id; a model folder is relative to the config's folder."""
    if not provider_id.startswith("cog:"):
        return parse_provider_id(provider_id)
    where = provider_id.removeprefix("cog:").strip()
    if re.match(r"^https?://", where):
        return CogTarget(url=where.rstrip("/"))
    if not where:
        raise ValueError("`cog:` needs a server URL or a model folder, e.g. `cog:models/mine`")
    folder = (base_dir / where).resolve()
    if not (folder / "cog.yaml").is_file():
        raise ValueError(f"`{provider_id}`: no cog.yaml in {folder}")
    if importlib.util.find_spec("cog") is None or importlib.util.find_spec("coglet") is None:
        raise ValueError(COG_RUNTIME_MISSING)
    return CogTarget(folder=folder)
