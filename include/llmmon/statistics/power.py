"""Minimum detectable effect (MDE) of a paired pass-rate comparison: what change could this set have caught?

A verdict of "no significant change" means little without it: 50 examples cannot see a 3-point drop.

Connor, R. J. (1987), "Sample size for testing differences in proportions for the paired-sample design",
Biometrics 43(1), 207-211, gives the sample size of McNemar's test for a difference ``delta = p01 - p10`` with
discordance ``psi = p01 + p10`` (the share of examples that changed outcome)::

    n = (z_{1-alpha/2} sqrt(psi) + z_{power} sqrt(psi - delta^2))^2 / delta^2

Solved for ``delta`` at a given ``n`` (a quadratic in ``delta``; the root with ``sqrt(n) delta >= z sqrt(psi)``)::

    MDE = (z_{1-alpha/2} sqrt(n psi) + z_{power} sqrt(psi (n + z_{power}^2 - z_{1-alpha/2}^2))) / (n + z_{power}^2)

With k trials per example the per-example difference ``d`` is a pass proportion difference instead of -1/0/+1;
``psi`` generalises to the mean of ``d^2`` (for k = 1 that is exactly ``(b + c) / n``), which is the variance of
the sign-flip statistic under "no change", so the same normal approximation applies.

The exact tests cannot go below a floor the normal approximation ignores: with m changed examples the smallest
two-sided exact p-value is ``2 / 2^m``, so at least ``m_min = floor(log2(2 / alpha)) + 1`` examples must change
(6 at alpha = 0.05) — the MDE is never reported below ``m_min * step / n``.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_Z = NormalDist()


def min_changed_examples(alpha: float) -> int:
    """The fewest changed examples (all in one direction) an exact two-sided paired test can call significant."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    return math.floor(math.log2(2.0 / alpha)) + 1


def connor_sample_size(delta: float, discordance: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Connor (1987): paired examples needed to detect ``delta`` with ``power`` at two-sided ``alpha``.

    ``discordance`` is ``psi`` (share of examples that change outcome, or the mean squared per-example difference).
    Returns the real-valued n (round up to plan); ``inf`` when ``delta`` is 0.
    """
    _check(alpha, power)
    if not 0.0 <= discordance or delta * delta > discordance:
        raise ValueError(f"need delta^2 <= discordance, got delta={delta!r}, discordance={discordance!r}")
    if delta == 0:
        return math.inf
    za, zb = _Z.inv_cdf(1.0 - alpha / 2.0), _Z.inv_cdf(power)
    return (za * math.sqrt(discordance) + zb * math.sqrt(discordance - delta * delta)) ** 2 / (delta * delta)


def min_detectable_effect(
    n: int, discordance: float, alpha: float = 0.05, power: float = 0.8, *, step: float = 1.0
) -> float | None:
    """Smallest pass-rate change (absolute, 0..1) detectable on ``n`` paired examples (see the module docstring).

    ``discordance`` is the observed ``psi``; ``step`` the smallest per-example difference (1 for one trial per
    example, 1/k for k trials) used for the exact-test floor. None when no change on ``n`` examples could be
    significant (fewer than ``min_changed_examples(alpha)``).
    """
    _check(alpha, power)
    if n < min_changed_examples(alpha) or discordance < 0 or math.isnan(discordance):
        return None
    za, zb = _Z.inv_cdf(1.0 - alpha / 2.0), _Z.inv_cdf(power)
    inner = n + zb * zb - za * za
    if inner <= 0:
        return None
    mde = (za * math.sqrt(discordance * n) + zb * math.sqrt(discordance * inner)) / (n + zb * zb)
    floor = min_changed_examples(alpha) * step / n
    return max(mde, floor)


def _check(alpha: float, power: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must lie in (0, 1), got {power!r}")
