"""Fisher's exact test against published values (Fisher's tea-tasting lady; Wikipedia's
dieting example) and the regression rule built on it."""

from __future__ import annotations

import pytest

from replicate_eval.history.significance import PassCounts, fisher_exact, is_regression


def test_the_lady_tasting_tea() -> None:
    # Fisher (1935): 3 of 4 cups right; one-sided p = 17/70, two-sided 34/70.
    right, wrong = PassCounts(3, 4), PassCounts(1, 4)
    assert fisher_exact(wrong, right, "greater") == pytest.approx(17 / 70)
    assert fisher_exact(wrong, right, "two-sided") == pytest.approx(34 / 70)


def test_wikipedias_dieting_example() -> None:
    # Men: 1 of 12 dieting; women: 9 of 12 (en.wikipedia.org, Fisher's exact test): the
    # observed table has probability 0.001346, the one with no dieting man 0.000034.
    men, women = PassCounts(1, 12), PassCounts(9, 12)
    assert fisher_exact(women, men, "less") == pytest.approx(0.001346076 + 0.0000336526, rel=1e-6)
    assert fisher_exact(women, men, "two-sided") == pytest.approx(0.002759456, rel=1e-6)


def test_identical_runs_and_bounds() -> None:
    same = PassCounts(5, 10)
    assert fisher_exact(same, same, "two-sided") == pytest.approx(1.0)
    assert fisher_exact(PassCounts(0, 0), PassCounts(3, 3)) == 1.0
    with pytest.raises(AssertionError):  # a caller's bug, not a user's mistake
        PassCounts(4, 3)


@pytest.mark.parametrize(
    ("base", "new", "regressed"),
    [
        ((5, 5), (4, 5), False),  # one flaky failure: noise
        ((20, 20), (5, 20), True),
        ((10, 10), (6, 10), True),  # p = 0.0433
        ((10, 10), (7, 10), False),  # p = 0.29
        ((3, 10), (9, 10), False),  # better, however likely
        ((1, 1), (0, 1), False),  # one run each decides nothing
    ],
)
def test_a_regression_needs_the_drop_to_be_unlikely(
    base: tuple[int, int], new: tuple[int, int], regressed: bool
) -> None:
    assert is_regression(PassCounts(*base), PassCounts(*new)) is regressed


def test_large_repeat_counts_stay_exact() -> None:
    # 1,000 runs each (--repeat's limit): integers throughout, no overflow or underflow.
    p = fisher_exact(PassCounts(1000, 1000), PassCounts(990, 1000), "less")
    assert 0 < p < 0.01
