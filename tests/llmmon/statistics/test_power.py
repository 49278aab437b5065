"""Minimum detectable effect of the paired test (Connor 1987), against hand-computed values."""

from __future__ import annotations

import math

import pytest

from llmmon.statistics.power import connor_sample_size, min_changed_examples, min_detectable_effect

Z975 = 1.959963984540054  # z_{1 - 0.05/2}
Z80 = 0.8416212335729143  # z_{0.8}


def test_hand_computed_value():
    # n = 200, psi = 0.10: (1.96 sqrt(20) + 0.8416 sqrt(0.1 (200 + 0.7083 - 3.8415))) / (200 + 0.7083)
    #                    = (8.7652 + 3.7342) / 200.7083 = 0.06228
    expected = (Z975 * math.sqrt(20) + Z80 * math.sqrt(0.1 * (200 + Z80**2 - Z975**2))) / (200 + Z80**2)
    assert expected == pytest.approx(0.062277, abs=1e-6)
    assert min_detectable_effect(200, 0.10, 0.05, 0.8) == pytest.approx(expected, rel=1e-12)


def test_inverts_connors_sample_size():
    for n, psi in [(50, 0.3), (200, 0.1), (1000, 0.05), (500, 0.2)]:
        mde = min_detectable_effect(n, psi, 0.05, 0.8)
        assert connor_sample_size(mde, psi, 0.05, 0.8) == pytest.approx(n, rel=1e-9)


def test_connor_sample_size_hand_computed():
    # delta 0.1, psi 0.2: (1.96 * 0.4472 + 0.8416 * sqrt(0.19)) ^ 2 / 0.01 = (0.87653 + 0.36686)^2 / 0.01
    assert connor_sample_size(0.1, 0.2) == pytest.approx((Z975 * 0.2**0.5 + Z80 * 0.19**0.5) ** 2 / 0.01)
    assert connor_sample_size(0.1, 0.2) == pytest.approx(154.6, abs=0.1)
    assert connor_sample_size(0.0, 0.2) == math.inf


def test_monotone_in_n_and_discordance():
    by_n = [min_detectable_effect(n, 0.15) for n in (50, 100, 200, 500, 1000, 5000)]
    assert by_n == sorted(by_n, reverse=True) and len(set(by_n)) == len(by_n)
    by_psi = [min_detectable_effect(200, psi) for psi in (0.05, 0.1, 0.2, 0.4)]
    assert by_psi == sorted(by_psi) and len(set(by_psi)) == len(by_psi)
    assert min_detectable_effect(200, 0.1, power=0.9) > min_detectable_effect(200, 0.1, power=0.8)
    assert min_detectable_effect(200, 0.1, alpha=0.01) > min_detectable_effect(200, 0.1, alpha=0.05)


def test_exact_test_floor():
    assert min_changed_examples(0.05) == 6  # 2/2^5 = 0.0625 > 0.05 >= 2/2^6
    assert min_changed_examples(0.01) == 8  # 2/2^7 = 0.0156 > 0.01 >= 2/2^8
    assert min_detectable_effect(200, 0.0) == pytest.approx(6 / 200)  # no discordance seen: the floor
    assert min_detectable_effect(200, 0.0, step=1 / 3) == pytest.approx(2 / 200)  # 3 trials per example
    assert min_detectable_effect(5, 0.5) is None  # 5 examples can never reach p < 0.05


def test_bad_parameters():
    with pytest.raises(ValueError, match="alpha must lie in"):
        min_detectable_effect(100, 0.1, alpha=0)
    with pytest.raises(ValueError, match="power must lie in"):
        min_detectable_effect(100, 0.1, power=1.0)
    with pytest.raises(ValueError, match=r"delta\^2 <= discordance"):
        connor_sample_size(0.5, 0.1)
