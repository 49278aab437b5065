"""Adjusted p-values for a family of tests (the intents of a golden set), so many slices do not mean many false alarms.

- Holm, S. (1979), "A simple sequentially rejective multiple test procedure", Scandinavian Journal of Statistics
  6(2), 65-70: controls the family-wise error rate (the chance of any false regression) under any dependence.
- Benjamini, Y. & Hochberg, Y. (1995), "Controlling the false discovery rate: a practical and powerful approach to
  multiple testing", JRSS B 57(1), 289-300: controls the expected share of false regressions among those flagged;
  more powerful with many intents, valid for independent or positively dependent tests.

Both return adjusted p-values in the input order (compare each with alpha), matching
``statsmodels.stats.multitest.multipletests(p, method="holm" | "fdr_bh")[1]``.
"""

from __future__ import annotations

from collections.abc import Sequence

METHODS = ("holm", "bh")


def _check(pvalues: Sequence[float]) -> list[float]:
    ps = [float(p) for p in pvalues]
    bad = [p for p in ps if not 0.0 <= p <= 1.0]  # also catches NaN
    if bad:
        raise ValueError(f"p-values must lie in [0, 1]; got {bad[:3]}")
    return ps


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values: the i-th smallest becomes ``max_{j<=i} min(1, (m - j + 1) p_(j))``."""
    ps = _check(pvalues)
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        out[i] = running
    return out


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """BH step-up adjusted p-values: the i-th smallest becomes ``min_{j>=i} min(1, m p_(j) / j)``."""
    ps = _check(pvalues)
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    out = [0.0] * m
    running = 1.0
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, m * ps[i] / (rank + 1))
        out[i] = running
    return out


def adjust(pvalues: Sequence[float], method: str) -> list[float]:
    """Adjusted p-values by ``method`` (``"holm"`` or ``"bh"``, the values of ``Thresholds.correction``)."""
    if method == "holm":
        return holm(pvalues)
    if method == "bh":
        return benjamini_hochberg(pvalues)
    raise ValueError(f"unknown multiple-comparison correction {method!r}; use one of {', '.join(METHODS)}")
