"""The drift statistics on hand-checked data, and the calibrated rule on identical and shifted samples."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from llmmon.drift.stats import (
    NEW,
    OTHER,
    categorical_drift,
    category_table,
    decide,
    js_divergence,
    ks_sorted,
    numeric_drift,
    psi,
    vocabulary_drift,
    wasserstein_sorted,
)

COMMON = {"replicates": 499, "alpha": 0.05, "min_values": 20}


def test_psi_by_hand():
    # counts (10, 30) vs (30, 10), +0.5 smoothing: p = (10.5/41, 30.5/41), q = (30.5/41, 10.5/41)
    p = np.array([10.5, 30.5]) / 41
    q = p[::-1]
    expected = float(((q - p) * np.log(q / p)).sum())
    assert psi(np.array([10.0, 30.0]), np.array([30.0, 10.0])) == pytest.approx(expected)
    assert expected == pytest.approx(2 * (20 / 41) * math.log(30.5 / 10.5))
    assert psi(np.array([5.0, 5.0]), np.array([50.0, 50.0])) == pytest.approx(0.0, abs=1e-12)


def test_js_by_hand():
    # disjoint supports: JS = 1 bit; identical: 0; (1/2,1/2) vs (1,0): 0.311278 bits
    assert js_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)
    assert js_divergence(np.array([2.0, 2.0]), np.array([5.0, 5.0])) == pytest.approx(0.0)
    m = np.array([0.75, 0.25])
    kl_p = 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)
    kl_q = 1.0 * math.log2(1 / 0.75)
    assert js_divergence(np.array([1.0, 1.0]), np.array([4.0, 0.0])) == pytest.approx((kl_p + kl_q) / 2)
    assert float(m.sum()) == 1.0


def test_ks_and_wasserstein_by_hand():
    ref = np.sort(np.array([1.0, 2.0, 3.0, 4.0]))
    cur = np.sort(np.array([3.0, 4.0, 5.0, 6.0]))
    d, p = ks_sorted(ref, cur)
    assert d == pytest.approx(0.5)  # at x=2: F_ref=0.5, F_cur=0
    assert 0 < p < 1
    assert wasserstein_sorted(ref, cur) == pytest.approx(2.0)  # every quantile moved by 2
    assert wasserstein_sorted(ref, ref) == 0.0


def test_category_table_pools_rare_and_marks_new():
    labels, ref, cur, new = category_table(Counter(a=50, b=30, c=15, d=5), Counter(a=40, d=10, z=7), 3)
    assert labels == ["a", "b", OTHER, NEW]
    assert ref.tolist() == [50, 30, 20, 0]
    assert cur.tolist() == [40, 0, 10, 7]
    assert new == {"z": 7}


def _numeric(ref, cur, floor, seed=0):
    return numeric_drift("x", ref, cur, floor=floor, bins=10, rng=np.random.default_rng(seed), **COMMON)


def test_identical_distributions_small_samples_no_drift_where_fixed_psi_cries_wolf():
    rng = np.random.default_rng(1)
    fixed_psi_alarms = calibrated_alarms = 0
    for _ in range(40):
        ref, cur = rng.normal(size=100), rng.normal(size=100)
        results = decide(_numeric(ref, cur, floor=0.0, seed=int(rng.integers(1 << 30))), alpha=0.05,
                         correction="holm")
        fixed_psi_alarms += results[0].statistic >= 0.1
        calibrated_alarms += results[0].drifted
    assert fixed_psi_alarms >= 20  # PSI >= 0.1 fires on most 100-vs-100 samples of one distribution
    assert calibrated_alarms <= 6  # about alpha: 2 expected of 40


def test_large_harmless_shift_is_significant_but_below_the_floor():
    rng = np.random.default_rng(2)
    ref, cur = rng.normal(100, 10, 100_000), rng.normal(100.5, 10, 100_000)  # 0.05 sigma
    psi_row, ks_row = decide(_numeric(ref, cur, floor=2.0), alpha=0.05, correction="holm")
    assert ks_row.p_value < 0.05  # KS at p < 0.05 would alarm
    assert psi_row.p_adjusted < 0.05
    assert psi_row.effect == pytest.approx(0.5, abs=0.1)  # Wasserstein-1 in the feature's unit
    assert not psi_row.drifted and "below the floor" in psi_row.reason


def test_real_shift_drifts():
    rng = np.random.default_rng(3)
    ref, cur = rng.normal(100, 10, 2000), rng.normal(105, 10, 500)
    psi_row = decide(_numeric(ref, cur, floor=2.0), alpha=0.05, correction="holm")[0]
    assert psi_row.drifted and psi_row.statistic > psi_row.threshold
    assert psi_row.effect == pytest.approx(5.0, abs=1.0)
    assert psi_row.cur_summary - psi_row.ref_summary == pytest.approx(5.0, abs=1.5)


def test_all_null_and_too_few_values_are_untested_with_a_reason():
    ref = np.random.default_rng(4).normal(size=500)
    rows = _numeric(ref, np.full(300, np.nan), floor=1.0)
    assert len(rows) == 1 and not rows[0].tested and not rows[0].drifted
    assert "all values are null in the current window" in rows[0].reason
    rows = _numeric(np.full(10, 1.0), ref, floor=1.0)
    assert "only 10 non-null values in the reference" in rows[0].reason
    decided = decide(rows, alpha=0.05, correction="holm")
    assert decided[0].p_adjusted is None and not decided[0].drifted


def test_constant_reference_bins_and_detects_a_change():
    ref = np.full(1000, 20.0)
    same = decide(_numeric(ref, np.full(500, 20.0), floor=1.0), alpha=0.05, correction="holm")[0]
    assert same.tested and not same.drifted and same.effect == 0.0 and same.p_value == 1.0  # smoothing: PSI ~ 3e-4
    moved = decide(_numeric(ref, np.full(500, 40.0), floor=1.0), alpha=0.05, correction="holm")[0]
    assert moved.drifted and moved.effect == pytest.approx(20.0)


def _categorical(ref, cur, floor=0.05, increase_of=None):
    return categorical_drift("c", ref, cur, floor=floor, max_categories=10, rng=np.random.default_rng(0),
                             increase_of=increase_of, **COMMON)


def test_categorical_shift_and_new_category_finding():
    ref = ["a"] * 600 + ["b"] * 400
    cur = ["a"] * 300 + ["b"] * 150 + ["zz"] * 50
    js, chi2, new = decide(_categorical(ref, cur), alpha=0.05, correction="holm")
    assert js.drifted
    # shares: a .6 -> .6, b .4 -> .3, new 0 -> .1: total variation = (0 + .1 + .1) / 2 = 0.1
    assert js.effect == pytest.approx(0.1)
    assert chi2.p_value < 1e-6 and not chi2.decisive and not chi2.drifted
    assert new.drifted and new.statistic == pytest.approx(0.1)
    assert "1 category never seen in the reference, 10.0% of the current window: zz (10.0%)" in new.reason


def test_categorical_same_mix_no_drift_and_nulls_ignored():
    rng = np.random.default_rng(5)
    ref = list(rng.choice(["x", "y", "z"], size=3000, p=[0.5, 0.3, 0.2])) + [None] * 100
    cur = list(rng.choice(["x", "y", "z"], size=800, p=[0.5, 0.3, 0.2]))
    js, _, new = decide(_categorical(ref, cur), alpha=0.05, correction="holm")
    assert js.n_ref == 3000 and not js.drifted and not new.drifted
    assert js.details["null_share"]["ref"] == pytest.approx(100 / 3100)


def test_attack_share_increase_is_the_effect():
    ref = ["no"] * 1990 + ["yes"] * 10
    cur = ["no"] * 450 + ["yes"] * 50
    js = decide(_categorical(ref, cur, floor=0.01, increase_of="yes"), alpha=0.05, correction="holm")[0]
    assert js.effect == pytest.approx(0.1 - 0.005)
    assert (js.ref_summary, js.cur_summary) == (pytest.approx(0.005), pytest.approx(0.1))
    assert js.drifted
    fewer = decide(_categorical(cur, ref, floor=0.01, increase_of="yes"), alpha=0.05, correction="holm")[0]
    assert fewer.effect < 0 and not fewer.drifted  # fewer attacks is not an attack alert


def _prompts(rng, words, n):
    return [[rng.choice(words) for _ in range(rng.randint(3, 12))] for _ in range(n)]


def test_vocabulary_permutation_test():
    import random

    rng = random.Random(0)
    words = ["order", "refund", "where", "my", "is", "package", "late", "charged", "twice", "invoice"]
    ref, same = _prompts(rng, words, 400), _prompts(rng, words, 200)
    counts = lambda prompts: Counter(w for p in prompts for w in p)  # noqa: E731
    kw = {"floor": 0.02, "vocabulary": 100, "replicates": 199, "alpha": 0.05, "min_values": 20}
    quiet = decide(vocabulary_drift(counts(ref), counts(same), ref, same, rng=np.random.default_rng(0), **kw),
                   alpha=0.05, correction="holm")[0]
    assert quiet.tested and not quiet.drifted and quiet.p_value > 0.05
    spanish = _prompts(rng, ["pedido", "donde", "esta", "mi", "factura", "order"], 200)
    loud = decide(vocabulary_drift(counts(ref), counts(spanish), ref, spanish, rng=np.random.default_rng(0), **kw),
                  alpha=0.05, correction="holm")[0]
    assert loud.drifted and loud.statistic > loud.threshold and loud.details["distinct_new_tokens"] == 5
    # one word repeated ten times per prompt: tokens are clustered within prompts, a multinomial null over tokens
    # would cry wolf; the permutation of whole prompts keeps the clustering in the null
    clustered_ref = [[rng.choice(words)] * 10 for _ in range(400)]
    clustered_cur = [[rng.choice(words)] * 10 for _ in range(200)]
    c = decide(vocabulary_drift(counts(clustered_ref), counts(clustered_cur), clustered_ref, clustered_cur,
                                rng=np.random.default_rng(0), **kw), alpha=0.05, correction="holm")[0]
    assert c.tested and not c.drifted and c.p_value > 0.05
    none = vocabulary_drift(counts(ref), Counter(), ref, [], rng=np.random.default_rng(0), **kw)
    assert not none[0].tested and "no prompt text in the current window" in none[0].reason


def test_correction_across_features():
    rng = np.random.default_rng(6)
    rows = []
    for i in range(5):
        rows += _numeric(rng.normal(size=400), rng.normal(size=400), floor=0.0, seed=i)
    decided = decide(rows, alpha=0.05, correction="holm")
    decisive = [r for r in decided if r.decisive]
    assert all(r.p_adjusted >= r.p_value for r in decisive)
    assert min(r.p_adjusted for r in decisive) == pytest.approx(min(1.0, 5 * min(r.p_value for r in decisive)))
