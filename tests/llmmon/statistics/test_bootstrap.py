"""Paired bootstrap intervals: coverage in simulation, determinism, degenerate inputs, chunking."""

from __future__ import annotations

import numpy as np
import pytest

from llmmon.statistics import bootstrap
from llmmon.statistics.bootstrap import paired_bootstrap_ci


def test_covers_the_true_difference_about_as_often_as_it_claims():
    # 300 simulated paired runs of 120 examples; per-example pass probabilities p_i, candidate 5 points worse on
    # a random subset. The true mean difference of each replicate's population is known exactly.
    rng = np.random.default_rng(11)
    covered = 0
    reps = 300
    for r in range(reps):
        p = rng.beta(1.7, 0.3, size=120)
        q = np.clip(p - rng.choice([0.0, 0.1], size=120), 0, 1)
        true = float((q - p).mean())
        d = (rng.random(120) < q).astype(float) - (rng.random(120) < p)
        (lo, hi), = paired_bootstrap_ci([d], confidence=0.90, resamples=1000, seed=r)
        covered += lo <= true <= hi
    # a 90% interval: binomial sd of the share at 300 replicates is 1.7 points
    assert 0.84 <= covered / reps <= 0.96


def test_deterministic_for_a_seed():
    d = np.random.default_rng(0).normal(size=240)
    a = paired_bootstrap_ci([d], resamples=2000, seed=42)
    assert paired_bootstrap_ci([d], resamples=2000, seed=42) == a
    assert paired_bootstrap_ci([d], resamples=2000, seed=43) != a
    assert paired_bootstrap_ci([d], resamples=2000, seed=[42, 7]) == paired_bootstrap_ci([d], resamples=2000, seed=[42, 7])


def test_interval_brackets_the_mean_and_narrows_with_confidence():
    d = np.random.default_rng(1).normal(0.3, 1.0, size=200)
    (lo95, hi95), = paired_bootstrap_ci([d], confidence=0.95, seed=1)
    (lo80, hi80), = paired_bootstrap_ci([d], confidence=0.80, seed=1)
    assert lo95 < lo80 < d.mean() < hi80 < hi95
    # normal theory half-width 1.96 * sd / sqrt(n) ~ 0.139: the bootstrap agrees to a few percent
    assert (hi95 - lo95) / 2 == pytest.approx(1.96 * d.std() / np.sqrt(200), rel=0.1)


def test_statistics_share_the_same_resamples():
    d = np.random.default_rng(2).normal(size=100)
    both = paired_bootstrap_ci([d, 2 * d + 1], seed=3)
    (lo, hi), (lo2, hi2) = both
    assert (lo2, hi2) == pytest.approx((2 * lo + 1, 2 * hi + 1))


def test_degenerate_inputs():
    assert paired_bootstrap_ci([[0.0] * 50]) == [(0.0, 0.0)]
    assert paired_bootstrap_ci([[-1.0] * 7, [0.25] * 7]) == [(-1.0, -1.0), (0.25, 0.25)]
    assert paired_bootstrap_ci([[0.5]]) == [(0.5, 0.5)]
    assert paired_bootstrap_ci([[], []]) == [None, None]
    # one array constant, the other not: the constant one still gets its exact value
    (c, varied) = paired_bootstrap_ci([[1.0] * 30, list(range(30))], seed=0)
    assert c == (1.0, 1.0) and varied[0] < 14.5 < varied[1]


def test_chunked_draws_equal_one_draw(monkeypatch):
    d = np.random.default_rng(4).normal(size=50)
    whole = paired_bootstrap_ci([d], resamples=500, seed=9)
    monkeypatch.setattr(bootstrap, "_MAX_CELLS", 50 * 37)  # 37 resamples per chunk, last one partial
    assert paired_bootstrap_ci([d], resamples=500, seed=9) == whole


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap_ci([[1.0, 2.0], [1.0]])
    with pytest.raises(ValueError, match="finite"):
        paired_bootstrap_ci([[1.0, float("nan")]])
    with pytest.raises(ValueError, match="confidence"):
        paired_bootstrap_ci([[1.0]], confidence=95)
