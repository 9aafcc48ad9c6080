"""Whether a change in pass counts between two runs of a cell is more than chance.

With ``--repeat N`` a cell has pass counts in both runs; a drop from 5 of 5 to 4 of 5 is
likely noise, from 20 of 20 to 5 of 20 is not. Fisher's exact test on the 2 x 2 table
(passes and failures, base and new) answers that without a normal approximation, which small
repeat counts do not support. Computed from the hypergeometric distribution, as
scipy.stats.fisher_exact does, in log space (``math.lgamma``): a prompt × provider's pass counts
over 10,000 cells take milliseconds, where exact integers would take seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Alternative = Literal["less", "greater", "two-sided"]
DEFAULT_ALPHA = 0.05
# Tables whose probability is within this factor of the observed one count as "as extreme"
# in the two-sided test (scipy's relative tolerance, which absorbs rounding).
_LOG_TIE = math.log1p(1e-7)
_ROUNDING = 1e-9  # relative: far above lgamma's error, far below any p-value that matters


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
    log_denominator = _log_comb(total, total_passed)

    def log_weight(k: int) -> float:  # tables with k of the passes in the new run
        return _log_comb(new.runs, k) + _log_comb(base.runs, total_passed - k) - log_denominator

    observed = log_weight(new.passed)
    if alternative == "less":
        chosen = [log_weight(k) for k in range(low, new.passed + 1)]
    elif alternative == "greater":
        chosen = [log_weight(k) for k in range(new.passed, high + 1)]
    else:
        weights = (log_weight(k) for k in range(low, high + 1))
        chosen = [w for w in weights if w <= observed + _LOG_TIE]
    return min(1.0, _sum_exp(chosen))


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _sum_exp(logs: list[float]) -> float:
    """The sum of exp(x) for x in ``logs``, without underflow on the way."""
    if not logs:
        return 0.0
    top = max(logs)
    return math.exp(top) * math.fsum(math.exp(x - top) for x in logs)


def is_regression(base: PassCounts, new: PassCounts, alpha: float = DEFAULT_ALPHA) -> bool:
    """The new run passes less often, and by more than chance (one-sided Fisher, ``alpha``).
    A p-value at ``alpha`` itself is not below it (3/3 to 0/3: exactly 1/20), whatever the
    last bits of its floating-point value say."""
    dropped = new.passed * base.runs < base.passed * new.runs
    return dropped and fisher_exact(base, new, "less") < alpha * (1 - _ROUNDING)


def min_p_value(base_runs: int, new_runs: int | None = None) -> float:
    """The smallest one-sided p-value a drop from ``base_runs`` runs to ``new_runs`` can give
    (all passed, then none): 1 / C(n + m, n). For n = m below 4 it is not under 0.05: no
    drop can be significant (1 run against 5: 1/6)."""
    new_runs = base_runs if new_runs is None else new_runs
    if not base_runs or not new_runs:
        return 1.0
    return 1 / math.comb(base_runs + new_runs, base_runs)
