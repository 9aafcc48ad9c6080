"""Shortening text for tables, reports and messages."""

from __future__ import annotations


def clip(text: str, limit: int) -> str:
    """``text`` without surrounding whitespace, cut to ``limit`` characters with an ellipsis."""
    text = text.strip()
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
