"""Helpers shared by the preflight tests."""

from __future__ import annotations

from typing import Any

from tests.fake_replicate import FakeReplicate


def created(fake: FakeReplicate) -> int:
    """How many predictions the fake was asked to create."""
    return len([r for r in fake.received("POST") if r.path.endswith("/predictions")])


def one(provider: str | dict[str, Any]) -> dict[str, Any]:
    """A config: the prompt `hi` for one provider entry (an id, or an id with options)."""
    return {"prompts": ["hi"], "providers": [provider]}
