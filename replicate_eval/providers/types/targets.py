"""What a provider id points at, and what a provider of its type can do: plain data, read by
every stage (the cache, the preflight, the runner) without knowing the type itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

# What a provider's outputs are: text to read, or images to download and look at.
OutputKind = Literal["text", "image"]


class Target(Protocol):
    """Any provider's model: its name for messages, its output kind, the version it is keyed by."""

    @property
    def slug(self) -> str: ...

    @property
    def kind(self) -> OutputKind: ...

    @property
    def version_key(self) -> str: ...


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

    @property
    def version_key(self) -> str:
        """The version cache entries and schemas are kept under (these words are in existing
        cache files: they must not change)."""
        return self.version or ("deployment" if self.deployment else "latest")


@dataclass(frozen=True)
class CogTarget:
    """A Cog model: a running server (``url``) or a folder reval starts (``folder``)."""

    url: str | None = None
    folder: Path | None = None
    # Cog models answer text or files; reval looks at each output. No versions, no deployments.
    kind: OutputKind = "text"

    @property
    def slug(self) -> str:
        return self.url or str(self.folder)

    @property
    def version_key(self) -> str:
        return "local"


@dataclass(frozen=True)
class PluginTarget:
    """A plugin's model, named by the rest of its id (``toy:reverse`` -> ``reverse``)."""

    slug: str
    kind: OutputKind = "text"
    version_key: str = "latest"


@dataclass(frozen=True)
class Capabilities:
    """What a provider of a type can do; stages ask these instead of testing the type. A type
    names only what it can: a plugin's provider, by default, can none of these."""

    needs_token: bool = False  # it calls Replicate with the account's token
    cacheable: bool = False  # the same input gives an answer worth keeping
    has_schema: bool = False  # the preflight can read its input schema from Replicate
    on_replicate: bool = False  # its predictions are Replicate's (rate limits, polls, the SDK)
    judges: bool = False  # it may judge model-graded assertions (a Replicate language model)
    env_fallbacks: bool = False  # promptfoo's REPLICATE_TEMPERATURE & co fill unset options
    chat: bool = (
        False  # reads chat prompts (JSON messages): the system message goes to `system_prompt`
    )
