"""Helpers shared by the cache tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CREATE = "/v1/models/meta/llama/predictions"


def cases(
    n: int, model: str | dict[str, Any] = "replicate:meta/llama", prompt: str = "case <<n>>"
) -> dict[str, Any]:
    """A config of N tests (n = 0, 1, ...) for one provider: N distinct cells to cache."""
    return {
        "prompts": [prompt],
        "providers": [model],
        "tests": [{"vars": {"n": i}} for i in range(n)],
    }


def cache_file() -> Path:
    """Where reval keeps the cache by default (the tests' XDG_CACHE_HOME is their own)."""
    return Path(os.environ["XDG_CACHE_HOME"]) / "reval" / "responses.sqlite3"
