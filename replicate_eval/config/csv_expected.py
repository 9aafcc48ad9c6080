"""A CSV ``__expected`` cell: ``type: value`` is that assertion, plain text means ``equals``.

As in promptfoo's CSV files (``assertionFromString``): the prefix is an assertion type, with
``not-`` for the negation and an optional threshold, ``similar(0.8): text``; ``grade:`` is
``llm-rubric``. A prefix that looks like a misspelt type (``icontain: x``) is an error rather
than an ``equals`` that could never pass; other text (``Paris``, ``Answer: 42``) is ``equals``.
"""

from __future__ import annotations

import re
from typing import Any

from replicate_eval.assertions.registry import KINDS, kind_named
from replicate_eval.errors import ConfigError
from replicate_eval.suggest import did_you_mean

# Types that take a value, as written in a cell; promptfoo's `grade:` is `llm-rubric`.
_TYPES = [name for name, kind in KINDS.items() if kind.value != "none"]
_PREFIXES = {**{name: name for name in _TYPES}, "grade": "llm-rubric"}
_ALL = [*_PREFIXES, *(f"not-{name}" for name in _PREFIXES)]
# promptfoo's JavaScript forms: reval runs Python checks instead.
_JAVASCRIPT = ("fn", "javascript", "eval")
# A lower-case word, maybe `not-`, maybe a threshold in brackets, then `:`.
_HEAD = re.compile(r"\s*(?P<type>[a-z][a-z0-9_-]*)(?:\((?P<threshold>\d+(?:\.\d+)?)\))?\s*:")


class BadExpected(ConfigError):
    """The cell names an assertion type reval does not have; ``str()`` says which is closest."""


def expected_assertion(cell: str) -> dict[str, Any]:
    """The assertion a non-empty ``__expected`` cell stands for. Raises BadExpected."""
    head = _HEAD.match(cell)
    if head is None:
        return {"type": "equals", "value": cell}
    written = head["type"]
    negated = written.startswith("not-")
    name = written.removeprefix("not-")
    value = cell[head.end() :].strip()
    if name in _PREFIXES:
        assertion: dict[str, Any] = {
            "type": ("not-" if negated else "") + _PREFIXES[name],
            "value": value,
        }
        if head["threshold"] is not None:
            assertion["threshold"] = float(head["threshold"])
        return assertion
    plugin = kind_named(name) if name not in _JAVASCRIPT else None
    if plugin is not None and plugin.value != "none":  # a plugin's type, installed
        return {"type": written, "value": value}
    if name in _JAVASCRIPT:
        raise BadExpected(
            f"`{written}:` is a JavaScript check, which reval does not run; "
            "write a Python one as `python: <expression using output>`"
        )
    hint = did_you_mean(written, _ALL, cutoff=0.75)
    if negated or hint or head["threshold"] is not None:
        raise BadExpected(
            f"unknown assertion type `{written}`"
            f"{hint or ' (known: ' + ', '.join(_PREFIXES) + ')'}; "
            "plain text without a `type:` prefix means `equals`"
        )
    return {"type": "equals", "value": cell}
