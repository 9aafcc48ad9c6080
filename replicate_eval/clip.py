"""Shortening text for tables, reports and messages."""

from __future__ import annotations

ELLIPSIS = "…"


def clip(text: str, limit: int, *, marker: str = ELLIPSIS) -> str:
    """``text`` without surrounding whitespace, cut to ``limit`` characters ending in ``marker``.

    ``marker=""`` cuts without a mark (ids and excerpts shown as a prefix); a longer marker
    (``'..."'`` closing a JSON string) takes its own length from the limit.
    """
    text = text.strip()
    return text if len(text) <= limit else text[: max(limit - len(marker), 0)] + marker
