"""Exact McNemar test: did paired pass/fail outcomes change more one way than the other?

McNemar, Q. (1947), "Note on the sampling error of the difference between correlated proportions or percentages",
Psychometrika 12(2), 153-157. Of ``n`` examples judged in both runs, only the discordant ones carry information:
``b`` passed in the baseline and failed in the candidate, ``c`` the reverse. Under "no change" each discordant
example is equally likely to fall either way, so ``b ~ Binomial(b + c, 1/2)``; the exact test is that binomial
test (no chi-square approximation, which is poor for the small counts golden sets produce).
"""

from __future__ import annotations

from math import comb


def mcnemar_exact_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: ``min(1, 2 * P(X <= min(b, c)))`` for ``X ~ Binomial(b + c, 1/2)``.

    The same convention as ``statsmodels.stats.contingency_tables.mcnemar(table, exact=True)`` and, since the
    binomial at 1/2 is symmetric, as ``scipy.stats.binomtest(b, b + c, 0.5).pvalue``. Computed in exact integer
    arithmetic, so p-values far below 1e-16 keep their precision.
    """
    if b < 0 or c < 0 or int(b) != b or int(c) != c:
        raise ValueError(f"mcnemar_exact_p: discordant counts must be non-negative integers, got b={b!r}, c={c!r}")
    b, c = int(b), int(c)
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(comb(n, i) for i in range(k + 1))
    return min(1.0, 2 * tail / 2**n)

