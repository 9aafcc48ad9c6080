"""A request as the fake received it, and the answer it gives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fake_replicate.files import File

NOT_FOUND = {"detail": "The requested resource could not be found.", "status": 404}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, raw text, or None
    at: float

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    template: str | None = None  # OpenAPI path template, for the contract check
    file: File | None = None  # an output file, sent as raw bytes instead of a JSON body
