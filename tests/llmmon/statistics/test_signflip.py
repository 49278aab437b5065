"""Sign-flip permutation test: equals exact McNemar for one trial, and brute-force enumeration for k trials."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from llmmon.statistics.mcnemar import mcnemar_exact_p
from llmmon.statistics.signflip import EXACT, MONTE_CARLO, null_distribution, sign_flip_p


def brute_force(diffs: list[Fraction]) -> float:
    observed = abs(sum(diffs))
    hits = sum(abs(sum(s * d for s, d in zip(signs, diffs, strict=True))) >= observed
               for signs in itertools.product((1, -1), repeat=len(diffs)))
    return hits / 2 ** len(diffs)


def test_one_trial_per_example_is_exact_mcnemar():
    for b, c in [(0, 0), (0, 6), (3, 4), (1, 9), (12, 30), (40, 41), (0, 90)]:
        diffs = [-1] * b + [1] * c + [0] * 50  # unchanged examples carry no information
        p, method = sign_flip_p(diffs)
        assert method == EXACT
        assert p == pytest.approx(mcnemar_exact_p(b, c), rel=1e-9), (b, c)


def test_k_trials_matches_enumeration_of_all_sign_flips():
    rng = np.random.default_rng(5)
    for _ in range(5):
        # 3 trials per example in both runs: differences are multiples of 1/3
        diffs = [Fraction(int(x), 3) for x in rng.integers(-3, 4, size=12)]
        p, method = sign_flip_p(diffs)
        assert method == EXACT and p == pytest.approx(brute_force(diffs), rel=1e-12)


def test_unequal_trial_counts_use_a_common_denominator():
    # one example lost a trial to an endpoint error: 4 valid trials against 5
    diffs = [Fraction(3, 4) - Fraction(4, 5), Fraction(-2, 5), Fraction(-1, 5), Fraction(1, 5), Fraction(-3, 5),
             Fraction(0), Fraction(-1, 4), Fraction(2, 5), Fraction(-4, 5), Fraction(-1, 5)]
    p, method = sign_flip_p(diffs)
    assert method == EXACT and p == pytest.approx(brute_force(diffs), rel=1e-12)


def test_hand_computed_small_case():
    # differences 1/2, 1/2, 1: sums over the 8 sign assignments are +-2 (2 of them), +-1 (4), 0 (2);
    # |sum| >= 2 in 2 of 8 -> p = 0.25
    assert sign_flip_p([Fraction(1, 2), Fraction(1, 2), Fraction(1)]) == (pytest.approx(0.25), EXACT)


def test_no_difference_at_all():
    assert sign_flip_p([0, 0, Fraction(0)]) == (1.0, EXACT)
    assert sign_flip_p([]) == (1.0, EXACT)


def test_floats_fall_back_to_seeded_monte_carlo():
    rng = np.random.default_rng(6)
    diffs = [Fraction(int(x), 4) for x in rng.integers(-4, 3, size=60)]
    exact, _ = sign_flip_p(diffs)
    p, method = sign_flip_p([float(d) for d in diffs], resamples=20_000, seed=1)
    assert method == MONTE_CARLO
    assert p == pytest.approx(exact, abs=4 * (exact * (1 - exact) / 20_000) ** 0.5 + 1e-4)
    assert sign_flip_p([float(d) for d in diffs], resamples=20_000, seed=1)[0] == p  # same seed, same p
    # the Monte Carlo p-value is never 0: (1 + hits) / (1 + resamples)
    assert sign_flip_p([1.5] * 40, resamples=999, seed=0)[0] == pytest.approx(1 / 1000)


def test_null_distribution_hand_computed():
    # +-1 +-1 +-2: sums 4 (1 way), 2 (2), 0 (2), -2 (2), -4 (1) of 8
    assert null_distribution([1, 1, 2]).tolist() == pytest.approx([1, 0, 2, 0, 2, 0, 2, 0, 1] / np.float64(8))
    assert null_distribution([]).tolist() == [1.0] and null_distribution([0, 0]).tolist() == [1.0]
