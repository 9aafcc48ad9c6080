"""What the fake serves: models, versions, deployments, and how a model answers an input.

A model's behaviour is a function from the prediction input to a ``Reply``: the output, or an
error, and how long the prediction spends ``starting`` and ``processing``. Time is real (and
short in tests): status, partial output and timestamps follow from it.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fake_replicate.files import image_file
from tests.fake_replicate.model_schemas import real_model, real_schema


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


def flaky(*answers: str) -> Behaviour:
    """A language model that answers each prompt's calls in turn from ``answers`` (cycling):
    the runs of one --repeat cell differ the same way however many run at the same time."""
    calls: dict[str, int] = {}
    lock = threading.Lock()  # the fake answers requests on several threads

    def answer(model_input: dict[str, Any]) -> Reply:
        prompt = str(model_input.get("prompt", ""))
        with lock:
            turn = calls.get(prompt, 0)
            calls[prompt] = turn + 1
        return Reply(output=tokens(answers[turn % len(answers)]))

    return answer


def image_model(image_format: str = "PNG", processing: float = 0.0) -> Behaviour:
    """An image generator like SDXL: ``num_outputs`` pictures of ``width`` x ``height``."""

    def generate(model_input: dict[str, Any]) -> Reply:
        prompt = str(model_input.get("prompt", ""))
        width, height = int(model_input.get("width", 1024)), int(model_input.get("height", 1024))
        count = int(model_input.get("num_outputs", 1))
        return Reply(
            output=[
                image_file(f"{prompt} #{n}", width, height, image_format) for n in range(count)
            ],
            processing=processing,
        )

    return generate


def version_id(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def cog_schema(input_schema: dict[str, Any], **schemas: dict[str, Any]) -> dict[str, Any]:
    """A version's openapi_schema as Cog writes it: ``Input``, ``Output`` and any enums."""
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
        "paths": {},
        "components": {"schemas": {"Input": {"type": "object", **input_schema}, **schemas}},
    }


def llm_schema() -> dict[str, Any]:
    """The openapi_schema of a typical Replicate language model (Cog), for the fake's made-up
    and catalogue models; the models reval's docs name get their real ones (model_schemas.py)."""

    def number(kind: str, order: int, default: float, **limits: float) -> dict[str, Any]:
        return {"type": kind, "x-order": order, "default": default, **limits}

    return cog_schema(
        {
            "title": "Input",
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string", "title": "Prompt", "x-order": 0},
                "system_prompt": {
                    "type": "string",
                    "x-order": 1,
                    "default": "You are a helpful assistant.",
                },
                "max_new_tokens": number("integer", 2, 128, minimum=1),
                "temperature": number("number", 3, 0.7, minimum=0, maximum=5),
                "top_p": number("number", 4, 0.95, minimum=0, maximum=1),
                "top_k": number("integer", 5, 0, minimum=-1),
                "repetition_penalty": number("number", 6, 1.15, minimum=0),
                "stop_sequences": {"type": "string", "x-order": 7},
                "seed": {"type": "integer", "x-order": 8},
                "max_length": number("integer", 9, 500, minimum=1),
            },
        },
        Output={
            "type": "array",
            "items": {"type": "string"},
            "title": "Output",
            "x-cog-array-type": "iterator",
            "x-cog-array-display": "concatenate",
        },
    )


def sdxl_schema() -> dict[str, Any]:
    """stability-ai/sdxl's published openapi_schema: the fake's typical image model."""
    return real_schema("stability-ai/sdxl")


def flux_schnell_schema() -> dict[str, Any]:
    """black-forest-labs/flux-schnell's published openapi_schema: an aspect ratio, no size."""
    return real_schema("black-forest-labs/flux-schnell")


@dataclass
class FakeModel:
    owner: str
    name: str
    behaviour: Behaviour = echo
    official: bool = False  # official models run by name; others only by version
    versions: list[str] = field(default_factory=list)  # oldest first
    # Left empty: the model's real published schema when tests/fixtures/model_schemas has
    # it (model_schemas.py), else a typical language model's (llm_schema).
    openapi_schema: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    run_count: int = 0
    cover_image_url: str | None = None
    github_url: str | None = None

    def __post_init__(self) -> None:
        if not self.openapi_schema:
            known = real_model(self.slug)
            self.openapi_schema = known.openapi_schema() if known else llm_schema()

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
            "github_url": self.github_url,
            "paper_url": None,
            "license_url": None,
            "run_count": self.run_count,
            "cover_image_url": self.cover_image_url,
            "default_example": None,
            "is_official": self.official,
            "latest_version": self.version_json(latest) if latest else None,
        }
