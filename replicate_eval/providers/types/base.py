"""``ProviderType``: what every provider id scheme defines, built-in or a plugin's.

A type parses its ids into a target, names its options model, says what its providers can do
(``Capabilities``) and builds the provider object for a run. Built-in types import their
implementation inside ``build`` so that loading a config never imports the SDK or Cog.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from replicate_eval.errors import ConfigError
from replicate_eval.providers.types.options import ProviderOptions
from replicate_eval.providers.types.targets import Capabilities, Target

if TYPE_CHECKING:
    from replicate_eval.config.types import ProviderConfig
    from replicate_eval.providers.base import Provider
    from replicate_eval.providers.resources import RunResources


class InvalidProviderId(ConfigError):
    """A provider id that no type takes, or that its type refuses; the message says why."""


class ProviderType(ABC):
    """One scheme of provider ids. Subclass it (and register it under the entry point group
    ``reval.providers``, named by ``scheme``) to add a kind of provider to reval."""

    # The id's prefix before the model: `replicate:image`, `cog`, `toy` (a plugin's entry point
    # is named by it).
    scheme: ClassVar[str]
    # Unique among types, kept in a resolved ProviderConfig (two types may share a scheme);
    # the scheme unless the class says otherwise.
    name: ClassVar[str]
    # How its ids are written, for messages: `replicate:image:owner/name[:version]`.
    form: ClassVar[str]
    # One line for `reval schema` and help.
    summary: ClassVar[str]
    options: ClassVar[type[ProviderOptions]] = ProviderOptions
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__ and "scheme" in cls.__dict__:
            cls.name = cls.scheme  # a plugin's type is named by its scheme

    def claims(self, provider_id: str) -> bool:
        """Whether ``provider_id`` is one of this type's (the registry asks the most specific
        scheme first)."""
        return provider_id.startswith(self.scheme + ":")

    @abstractmethod
    def parse(self, provider_id: str, base_dir: Path) -> Target:
        """The model ``provider_id`` names; a path is relative to the config's folder
        (``base_dir``). Raises InvalidProviderId saying what is wrong."""

    @abstractmethod
    def build(self, config: ProviderConfig, run: RunResources) -> Provider:
        """The provider object for one run, from its resolved config and the run's shared
        resources (the Replicate session, the image store, the Cog servers)."""
