"""promptfoo's comparative assertions: judged across the outputs of one test (every prompt x
provider of it), once they are all in; ``replicate_eval.comparisons`` runs them.

``max-score`` (site/docs/configuration/expected-outputs/model-graded/max-score.md): each
output's score is the mean (``method: average``, the default) or the sum of its other
assertions' scores, weighted per assertion type by ``weights`` (1 by default); the highest one
passes (the first on a tie) and the others fail; with a ``threshold``, none passes unless the
best reaches it. ``select-best``: a grader names the best output (judging/select_best.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from replicate_eval.assertions.base import InvalidAssertion

COMPARATIVE = frozenset({"select-best", "max-score"})


@dataclass(frozen=True)
class MaxScore:
    method: Literal["average", "sum"] = "average"
    weights: Mapping[str, float] = field(default_factory=dict)  # by assertion type
    threshold: float | None = None


def prepare_max_score(value: Any, base_dir: Path) -> MaxScore:
    if value is None:
        return MaxScore()
    if not isinstance(value, dict):
        raise InvalidAssertion("value", "`max-score` takes `{method, weights, threshold}` or none")
    unknown = sorted(set(value) - {"method", "weights", "threshold"})
    if unknown:
        raise InvalidAssertion(
            "value", f"`max-score` has no `{unknown[0]}` (it takes method, weights, threshold)"
        )
    method = value.get("method", "average")
    if method not in ("average", "sum"):
        raise InvalidAssertion("value", "`max-score`'s `method` is `average` or `sum`")
    weights = value.get("weights") or {}
    if not isinstance(weights, dict) or not all(
        isinstance(k, str) and _number(w) and w >= 0 for k, w in weights.items()
    ):
        raise InvalidAssertion(
            "value", "`max-score`'s `weights` map assertion types to weights of 0 or more"
        )
    threshold = value.get("threshold")
    if threshold is not None and not _number(threshold):
        raise InvalidAssertion("value", "`max-score`'s `threshold` is a number")
    return MaxScore(method, {k: float(w) for k, w in weights.items()}, threshold)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
