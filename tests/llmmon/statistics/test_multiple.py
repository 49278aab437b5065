"""Holm and Benjamini-Hochberg adjusted p-values: hand-computed, then against statsmodels' multipletests."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from llmmon.statistics.multiple import adjust, benjamini_hochberg, holm

P = [0.01, 0.04, 0.03, 0.005]


def test_holm_hand_computed():
    # sorted: 0.005 x4 = 0.02; 0.01 x3 = 0.03; 0.03 x2 = 0.06; 0.04 x1 = 0.04 -> kept monotone at 0.06
    assert holm(P) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_bh_hand_computed():
    # sorted: 0.005 x4/1 = 0.02; 0.01 x4/2 = 0.02; 0.03 x4/3 = 0.04; 0.04 x4/4 = 0.04 (step-up minimum)
    assert benjamini_hochberg(P) == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_adjusted_values_are_capped_at_one():
    assert holm([0.6, 0.7]) == [1.0, 1.0]
    assert benjamini_hochberg([0.9, 0.95]) == pytest.approx([0.95, 0.95])


@pytest.mark.parametrize(("ours", "theirs"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_match_statsmodels(ours, theirs):
    rng = np.random.default_rng(7)
    families = [rng.uniform(0, 0.2, size=m).tolist() for m in (1, 2, 5, 8, 20)]
    families.append([0.01, 0.01, 0.02, 0.5, 0.5, 1.0])  # ties and a 1
    families.append(rng.beta(0.3, 3, size=50).tolist())
    for ps in families:
        expected = multipletests(ps, alpha=0.05, method=theirs)[1]
        assert adjust(ps, ours) == pytest.approx(expected.tolist(), rel=1e-12), ps


def test_empty_family():
    assert holm([]) == [] and benjamini_hochberg([]) == []


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unknown multiple-comparison correction 'bonf'"):
        adjust([0.1], "bonf")
    with pytest.raises(ValueError, match=r"p-values must lie in \[0, 1\]"):
        holm([0.1, float("nan")])
    with pytest.raises(ValueError, match=r"p-values must lie in \[0, 1\]"):
        benjamini_hochberg([1.2])
