"""Sign-flip permutation test on per-example paired differences: McNemar's test generalised to k trials.

Under "no change" baseline and candidate are exchangeable within each example, so each per-example difference
``d_i`` (candidate minus baseline pass proportion) is as likely to be ``+d_i`` as ``-d_i``. The two-sided p-value is
the share of the 2^n sign assignments whose ``|sum|`` is at least the observed one (Fisher's randomisation test;
Good, P. (2005), *Permutation, Parametric and Bootstrap Tests of Hypotheses*, 3rd ed., sec. 3.6.2). The example —
not the trial — is the unit, so correlated trials of one example are never counted as independent evidence.

With one trial per example the differences are -1, 0 or +1 and this test *is* the exact McNemar test. With k
trials the differences are multiples of 1/L (L = the common denominator of the pass proportions), so the null
distribution of the sum is computed exactly by convolving one binomial per distinct ``|d|``; only when that
would be too large (many examples with unlike trial counts) is it estimated from seeded random sign flips.
The test is exact when both runs have the same number of valid trials per example; with unequal counts the
differences are only approximately symmetric under the null.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

EXACT = "sign_flip_exact"
MONTE_CARLO = "sign_flip_monte_carlo"
_MAX_EXACT_WORK = 50_000_000  # array cells touched by the exact convolution (about 0.1 s)


def sign_flip_p(
    differences: Sequence[Fraction | int | float],
    *,
    resamples: int = 20_000,
    seed: int | Sequence[int] = 0,
) -> tuple[float, str]:
    """Two-sided sign-flip p-value for ``sum(differences) == 0`` and the method used (:data:`EXACT` or :data:`MONTE_CARLO`).

    Pass exact differences (``Fraction``) to get the exact test; floats are tested by seeded Monte Carlo sign flips
    (``resamples`` of them; p-value ``(1 + hits) / (1 + resamples)``).
    """
    nonzero = [d for d in differences if d != 0]
    if not nonzero:
        return 1.0, EXACT
    if all(isinstance(d, Fraction | int) for d in nonzero):
        scale = math.lcm(*(Fraction(d).denominator for d in nonzero))
        ints = [int(Fraction(d) * scale) for d in nonzero]
        total = sum(abs(v) for v in ints)
        if (len(ints) + 1) * (2 * total + 1) <= _MAX_EXACT_WORK:
            return _exact(ints), EXACT
    return _monte_carlo([float(d) for d in nonzero], resamples, seed), MONTE_CARLO


def null_distribution(magnitudes: Sequence[int]) -> np.ndarray:
    """``P(sum_i s_i m_i = t)`` for fair independent signs ``s_i``, at ``t = -total .. total`` (index ``t + total``).

    Exact up to float rounding: one binomial per distinct magnitude, convolved in (m examples of magnitude a
    contribute ``a * (2B - m)``, ``B ~ Binomial(m, 1/2)``).
    """
    dist = np.ones(1)
    for size, m in sorted(Counter(abs(int(v)) for v in magnitudes if v).items()):
        grown = np.zeros(len(dist) + 2 * size * m)
        denom = 2**m
        for j in range(m + 1):
            grown[2 * size * j : 2 * size * j + len(dist)] += (math.comb(m, j) / denom) * dist
        dist = grown
    return dist


def _exact(ints: list[int]) -> float:
    dist = null_distribution(ints)
    reach = (len(dist) - 1) // 2
    values = np.arange(-reach, reach + 1)
    return float(min(1.0, dist[np.abs(values) >= abs(sum(ints))].sum()))


def _monte_carlo(values: list[float], resamples: int, seed: int | Sequence[int]) -> float:
    v = np.asarray(values)
    observed = abs(v.sum())
    tol = 1e-9 * max(1.0, np.abs(v).sum())  # float sums: an assignment equal to the observed one must count
    rng = np.random.default_rng(seed)
    hits = 0
    chunk = max(1, 2_000_000 // len(v))
    for start in range(0, resamples, chunk):
        k = min(chunk, resamples - start)
        signs = rng.integers(0, 2, size=(k, len(v)), dtype=np.int8) * 2 - 1
        hits += int(np.count_nonzero(np.abs(signs @ v) >= observed - tol))
    return (1 + hits) / (1 + resamples)
