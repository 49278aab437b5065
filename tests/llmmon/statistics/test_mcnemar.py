"""Exact McNemar p-values: hand-computed cases, then statsmodels and scipy where they overlap."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest
from statsmodels.stats.contingency_tables import mcnemar

from llmmon.statistics.mcnemar import mcnemar_exact_p


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [
        (0, 0, 1.0),  # no discordant pair: no evidence either way
        (5, 5, 1.0),  # 2 * P(X <= 5 | n=10) > 1, capped
        (0, 5, 2 / 2**5),  # 0.0625: five one-way changes are not significant at 0.05
        (0, 6, 2 / 2**6),  # 0.03125: six are
        (1, 9, 2 * (1 + 10) / 2**10),
        (2, 8, 2 * (1 + 10 + 45) / 2**10),  # 0.109375
        (8, 0, 2 / 2**8),
        (3, 4, 1.0),  # 2 * (1 + 7 + 21 + 35) / 128 = 1.0
    ],
)
def test_hand_computed(b, c, expected):
    assert mcnemar_exact_p(b, c) == pytest.approx(expected, rel=1e-12)


def test_symmetric_in_b_and_c():
    assert mcnemar_exact_p(3, 17) == mcnemar_exact_p(17, 3)


def test_matches_statsmodels_exact_mcnemar():
    cases = [(b, c) for b in range(0, 31, 3) for c in range(0, 31, 4)] + [(120, 170), (400, 455), (1, 60)]
    for b, c in cases:
        table = [[50, b], [c, 7]]  # concordant cells do not matter
        assert mcnemar_exact_p(b, c) == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-9, abs=1e-300), (b, c)


def test_matches_scipy_binomtest():
    for b, c in [(0, 1), (2, 9), (10, 10), (13, 30), (41, 25), (200, 260)]:
        assert mcnemar_exact_p(b, c) == pytest.approx(binomtest(b, b + c, 0.5).pvalue, rel=1e-9), (b, c)


def test_keeps_precision_far_below_double_epsilon():
    # 2 / 2^200 ~ 1.2e-60 — a float-based tail sum 1 - cdf would return 0
    assert mcnemar_exact_p(0, 200) == pytest.approx(2.0**-199, rel=1e-12)


@pytest.mark.parametrize(("b", "c"), [(-1, 3), (1.5, 2)])
def test_rejects_counts_that_are_not_counts(b, c):
    with pytest.raises(ValueError, match="non-negative integers"):
        mcnemar_exact_p(b, c)
