"""The shapes every assertion shares: a spec from the config, a context, an outcome."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from replicate_eval.media import SavedImage

# How an assertion's `value` is written and rendered:
#   text       one string, rendered with the test's vars
#   texts      a list of strings (or one comma-separated string), each rendered
#   any        any YAML value; strings inside are rendered
#   code       Python source, never rendered
#   none       no value
ValueKind = Literal["text", "texts", "any", "code", "none"]


class InvalidAssertion(ValueError):
    """An assertion in the config is malformed; ``field`` names the key to point at."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class AssertionSpec:
    """One assertion from the config, validated. ``value`` may still hold template markers."""

    type: str  # as written, including any `not-` prefix
    kind: str  # the registry name, without `not-`
    negate: bool
    value: Any
    value_kind: ValueKind
    weight: float = 1.0
    threshold: float | None = None
    # Kind-specific data prepared once at load time (a compiled check function, for instance).
    prepared: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class CheckContext:
    """What a check may look at besides the output."""

    vars: Mapping[str, Any]
    prompt: str
    latency_ms: float | None
    provider_id: str
    images: tuple[SavedImage, ...] = ()  # what an image model made, saved on disk


@dataclass(frozen=True)
class Outcome:
    """A check's verdict. ``reason`` states what was observed, true in both directions."""

    passed: bool
    reason: str
    score: float | None = None  # None: 1.0 when passed, 0.0 when not

    @property
    def final_score(self) -> float:
        if self.score is not None:
            return self.score
        return 1.0 if self.passed else 0.0


Check = Callable[[str, Any, AssertionSpec, CheckContext], Outcome]
Prepare = Callable[[Any, Path], Any]


@dataclass(frozen=True)
class AssertionKind:
    name: str
    check: Check
    value: ValueKind
    # Validates the raw value at load time; returns data kept in AssertionSpec.prepared.
    prepare: Prepare | None = None
    needs_threshold: bool = False


class AssertionProblem(Exception):
    """A check could not judge the output (bad regex, crashing Python check...).

    Unlike a failed check this is never inverted by a `not-` prefix: the assertion fails.
    """
