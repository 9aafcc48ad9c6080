"""Suggesting the closest valid word for a typo."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, options: Iterable[str], *, cutoff: float = 0.6) -> str:
    """A ``"; did you mean `x`?"`` suffix for the closest option, or ``""``."""
    by_lower = {option.lower(): option for option in options}
    matches = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=cutoff)
    return f"; did you mean `{by_lower[matches[0]]}`?" if matches else ""
