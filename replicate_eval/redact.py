"""Keeping API tokens out of everything reval prints or writes.

A token can reach a message by many roads: an HTTP library's error quoting the Authorization
header, a 401 body that echoes it, a model told to repeat its input. Rather than trust every
road, every token reval learns (from the environment, a provider's ``apiKey``, an SDK client it
builds) is registered here, and the places where text leaves reval (the terminal, result files,
the step summary, the cache) pass it through ``REDACT``.

A message cut short can hold the start of a token: any run of a token's first
``PREFIX_CHARS`` characters or more is hidden too.
"""

from __future__ import annotations

import json
import re
import threading
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pydantic is slow to import, and the terminal streams need this module
    from pydantic import BaseModel

Model = TypeVar("Model", bound="BaseModel")

MASK = "[REDACTED]"
# Shorter "tokens" are not secrets worth the damage of masking them everywhere they occur.
SHORTEST_SECRET = 8
PREFIX_CHARS = 12


class Redactor:
    """Masks the secrets it was given in any text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        if not secret or len(secret) < SHORTEST_SECRET or secret in self._secrets:
            return
        with self._lock:
            self._secrets.add(secret)
            # The JSON spelling too: masking also works on a serialised document.
            alternatives = sorted(
                {
                    _prefix_pattern(spelling)
                    for known in self._secrets
                    for spelling in (known, json.dumps(known)[1:-1])
                },
                key=len,
                reverse=True,
            )
            self._pattern = re.compile("|".join(alternatives))

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def data(self, value: Any) -> Any:
        """``value`` with every string inside it masked (mappings and lists are copied)."""
        if not self:
            return value
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self.data(k): self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(item) for item in value]
        return value


def _prefix_pattern(secret: str) -> str:
    """A pattern for ``secret`` and for each of its prefixes of PREFIX_CHARS or more."""
    head = min(PREFIX_CHARS, len(secret))
    tail = ""
    for char in reversed(secret[head:]):
        tail = f"(?:{re.escape(char)}{tail})?"
    return re.escape(secret[:head]) + tail


# One for the process: a token known once is hidden everywhere.
REDACT = Redactor()


def redacted(model: Model) -> Model:
    """A copy of a results model with every known token masked, wherever it sits.

    Lists of models inside it (a run's cells, its tests) are masked one item at a time: a
    10,000-cell run is never one string in memory, and an item without a token is kept as is.
    """
    if not REDACT:
        return model
    lists = {
        name: value
        for name in type(model).model_fields
        if isinstance(value := getattr(model, name), list)
        and value
        and all(hasattr(item, "model_dump_json") for item in value)
    }
    rest = model.model_copy(update={key: [] for key in lists}) if lists else model
    text = rest.model_dump_json(by_alias=True)
    masked = REDACT(text)
    if not lists:
        return model if masked == text else type(model).model_validate_json(masked)
    masked_lists = {name: [redacted(item) for item in items] for name, items in lists.items()}
    changed = {
        name: items
        for name, items in masked_lists.items()
        if any(new is not old for new, old in zip(items, lists[name], strict=True))
    }
    if masked == text and not changed:
        return model
    head = rest if masked == text else type(model).model_validate_json(masked)
    return head.model_copy(update={**lists, **changed})
