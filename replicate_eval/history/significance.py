"""Whether a change in pass counts between two runs of a cell is more than chance.

With ``--repeat N`` a cell has pass counts in both runs; a drop from 5 of 5 to 4 of 5 is
likely noise, from 20 of 20 to 5 of 20 is not. Fisher's exact test on the 2 x 2 table
(passes and failures, base and new) answers that without a normal approximation, which small
repeat counts do not support. Computed exactly from the hypergeometric distribution with
integers (``math.comb``), as scipy.stats.fisher_exact does in floating point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Alternative = Literal["less", "greater", "two-sided"]
DEFAULT_ALPHA = 0.05
# Tables whose probability is within this factor of the observed one count as "as extreme"
# in the two-sided test (scipy's relative tolerance, which absorbs rounding).
_TIE = 1 + 1e-7


@dataclass(frozen=True)
class PassCounts:
    passed: int
    runs: int

    def __post_init__(self) -> None:
        assert 0 <= self.passed <= self.runs, f"{self.passed} passes of {self.runs} runs"

    @property
    def failed(self) -> int:
        return self.runs - self.passed


def fisher_exact(
    base: PassCounts, new: PassCounts, alternative: Alternative = "two-sided"
) -> float:
    """The p-value of the table [[base passed, base failed], [new passed, new failed]].

    ``less``: the chance of the new run passing this rarely or more rarely, were both runs
    the same (a regression); ``greater``: as often or more often (a fix)."""
    total_passed = base.passed + new.passed
    total = base.runs + new.runs
    low, high = max(0, total_passed - base.runs), min(total_passed, new.runs)
    denominator = math.comb(total, total_passed)

    def weight(k: int) -> int:  # tables with k of the passes in the new run
        return math.comb(new.runs, k) * math.comb(base.runs, total_passed - k)

    observed = weight(new.passed)
    if alternative == "less":
        count = sum(weight(k) for k in range(low, new.passed + 1))
    elif alternative == "greater":
        count = sum(weight(k) for k in range(new.passed, high + 1))
    else:
        count = sum(w for k in range(low, high + 1) if (w := weight(k)) <= observed * _TIE)
    return min(1.0, count / denominator)


def is_regression(base: PassCounts, new: PassCounts, alpha: float = DEFAULT_ALPHA) -> bool:
    """The new run passes less often, and by more than chance (one-sided Fisher, ``alpha``)."""
    dropped = new.passed * base.runs < base.passed * new.runs
    return dropped and fisher_exact(base, new, "less") < alpha
