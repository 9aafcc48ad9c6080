"""promptfoo's JavaScript (`javascript` assertions, transforms), which reval does not run: the
message shows the Python that does the same, where a one-line translation is obvious."""

from __future__ import annotations

import re

# Whole-token rewrites of the JavaScript idioms promptfoo's examples use, in order.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"(\w+(?:\.\w+\(\))*)\.includes\(((?:'[^']*'|\"[^\"]*\"|[^()'\"])*)\)", r"\2 in \1"),
        (r"(\w+(?:\.\w+\(\))*)\.length\b", r"len(\1)"),
        (r"\.toLowerCase\(\)", ".lower()"),
        (r"\.toUpperCase\(\)", ".upper()"),
        (r"\.trim\(\)", ".strip()"),
        (r"\.startsWith\(", ".startswith("),
        (r"\.endsWith\(", ".endswith("),
        (r"JSON\.parse\(", "json.loads("),
        (r"===", "=="),
        (r"!==", "!="),
        (r"&&", " and "),
        (r"\|\|", " or "),
    )
)
_STILL_JAVASCRIPT = re.compile(
    r"=>|\b(?:const|let|var|function|return|typeof|null|undefined|true|false)\b|[;{}`]|!(?!=)|\.\w+\("
)
_STRING = re.compile(r"'[^'\\]*'|\"[^\"\\]*\"")
_PYTHON_METHODS = re.compile(r"\.(?:lower|upper|strip|startswith|endswith|loads)\(")


def python_equivalent(code: str) -> str | None:
    """The Python of a one-line JavaScript expression, or None when it is not obvious."""
    text = code.strip()
    if "\n" in text or not text:
        return None
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    text = " ".join(text.split())
    unquoted = _STRING.sub("''", text)  # what strings hold is not code
    if _STILL_JAVASCRIPT.search(_PYTHON_METHODS.sub("(", unquoted)):
        return None
    return text


def javascript_refusal(what: str, code: object) -> str:
    """Why a JavaScript check or transform is refused, and what to write instead."""
    equivalent = python_equivalent(code) if isinstance(code, str) else None
    instead = (
        f"; in Python this is `{equivalent}`"
        if equivalent
        else "; write it in Python (`output` and `context` are defined, as in promptfoo)"
    )
    return f"reval runs no JavaScript, so {what} cannot run{instead}"
