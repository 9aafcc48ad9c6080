"""What the fake serves: models, versions, deployments, and how a model answers an input.

A model's behaviour is a function from the prediction input to a ``Reply``: the output, or an
error, and how long the prediction spends ``starting`` and ``processing``. Time is real (and
short in tests): status, partial output and timestamps follow from it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    output: Any = None
    error: str | None = None  # the prediction fails with this message
    processing: float = 0.0  # seconds in `processing`
    starting: float = 0.0  # seconds in `starting` (a cold boot)
    # Seconds after creation when the prediction's deadline passes, as if it had been created
    # with `Cancel-After` (or on a deployment with a deadline): aborts it if not yet started.
    deadline: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    logs: str = ""


Behaviour = Callable[[dict[str, Any]], Reply]


def tokens(text: str) -> list[str]:
    """Split text like a language model streams it: words with their leading spaces."""
    return re.findall(r"\s*\S+", text) or [""]


def echo(model_input: dict[str, Any]) -> Reply:
    """The default behaviour: a language model that repeats its prompt."""
    return Reply(output=tokens(f"echo: {model_input.get('prompt', '')}"))


def version_id(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def llm_schema() -> dict[str, Any]:
    """The openapi_schema of a typical Replicate language model (Cog)."""
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
        "paths": {},
        "components": {
            "schemas": {
                "Input": {
                    "type": "object",
                    "title": "Input",
                    "required": ["prompt"],
                    "properties": {
                        "prompt": {"type": "string", "title": "Prompt", "x-order": 0},
                        "system_prompt": {
                            "type": "string",
                            "title": "System Prompt",
                            "x-order": 1,
                            "default": "You are a helpful assistant.",
                        },
                        "max_new_tokens": {
                            "type": "integer",
                            "title": "Max New Tokens",
                            "x-order": 2,
                            "default": 128,
                            "minimum": 1,
                        },
                        "temperature": {
                            "type": "number",
                            "title": "Temperature",
                            "x-order": 3,
                            "default": 0.7,
                            "minimum": 0,
                            "maximum": 5,
                        },
                        "top_p": {
                            "type": "number",
                            "title": "Top P",
                            "x-order": 4,
                            "default": 0.95,
                            "minimum": 0,
                            "maximum": 1,
                        },
                        "top_k": {
                            "type": "integer",
                            "title": "Top K",
                            "x-order": 5,
                            "default": 0,
                            "minimum": -1,
                        },
                        "repetition_penalty": {
                            "type": "number",
                            "title": "Repetition Penalty",
                            "x-order": 6,
                            "default": 1.15,
                            "minimum": 0,
                        },
                        "stop_sequences": {
                            "type": "string",
                            "title": "Stop Sequences",
                            "x-order": 7,
                        },
                        "seed": {"type": "integer", "title": "Seed", "x-order": 8},
                        "max_length": {
                            "type": "integer",
                            "title": "Max Length",
                            "x-order": 9,
                            "default": 500,
                            "minimum": 1,
                        },
                    },
                },
                "Output": {
                    "type": "array",
                    "items": {"type": "string"},
                    "title": "Output",
                    "x-cog-array-type": "iterator",
                    "x-cog-array-display": "concatenate",
                },
            }
        },
    }


@dataclass
class FakeModel:
    owner: str
    name: str
    behaviour: Behaviour = echo
    official: bool = False  # official models run by name; others only by version
    versions: list[str] = field(default_factory=list)  # oldest first
    openapi_schema: dict[str, Any] = field(default_factory=llm_schema)
    description: str = ""
    run_count: int = 0

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def latest_version(self) -> str | None:
        return self.versions[-1] if self.versions else None

    def version_json(self, version: str) -> dict[str, Any]:
        return {
            "id": version,
            "created_at": "2024-02-21T16:00:00.000000Z",
            "cog_version": "0.9.4",
            "openapi_schema": self.openapi_schema,
        }

    def to_json(self) -> dict[str, Any]:
        latest = self.latest_version
        return {
            "url": f"https://replicate.com/{self.slug}",
            "owner": self.owner,
            "name": self.name,
            "description": self.description,
            "visibility": "public",
            "github_url": None,
            "paper_url": None,
            "license_url": None,
            "run_count": self.run_count,
            "cover_image_url": None,
            "default_example": None,
            "is_official": self.official,
            "latest_version": self.version_json(latest) if latest else None,
        }
