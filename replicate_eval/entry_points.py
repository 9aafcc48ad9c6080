"""Loading a plugin's object from its entry point, for provider and assertion types alike."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from replicate_eval.errors import ConfigError


def load_plugin(group: str, name: str, what: str, error: type[ConfigError]) -> tuple[Any, str]:
    """The object the entry point ``name`` of ``group`` names, and how messages name it (``the
    provider plugin `toy` (entry point `pkg:Toy` of pkg 0.1)``). Raises ``error`` when the
    plugin's own code fails to import: whatever it raises is reported, never a traceback."""
    entry = next(iter(metadata.entry_points(group=group, name=name)))
    origin = f"the {what} plugin `{name}` (entry point `{entry.value}`"
    origin += f" of {entry.dist.name} {entry.dist.version})" if entry.dist else ")"
    try:
        return entry.load(), origin
    except (Exception, SystemExit) as exc:  # a plugin's own code
        raise error(f"{origin} could not be loaded: {type(exc).__name__}: {exc}") from None
