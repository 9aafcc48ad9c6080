"""Words and titles that the terminal table and the HTML report share."""

from __future__ import annotations

import re

from replicate_eval.results import CellStatus

_VERSION_ID = re.compile(r"\b[0-9a-f]{64}\b")

# A cell's badge and its Rich style.
BADGES: dict[CellStatus, tuple[str, str]] = {
    "passed": ("PASS", "bold green"),
    "failed": ("FAIL", "bold red"),
    "error": ("ERROR", "bold yellow"),
}


def column_title(label: str) -> str:
    """64-hex version ids take five header lines; their first 8 characters identify them."""
    return _VERSION_ID.sub(lambda match: match.group(0)[:8] + "…", label)


def test_title(description: str | None, variables: dict[str, object], index: int) -> str:
    """A test's description, or its vars when it has none."""
    if description:
        return description
    if not variables:
        return f"test {index + 1}"
    return ", ".join(f"{key}={value}" for key, value in variables.items())
