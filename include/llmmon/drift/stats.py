"""Two-sample drift statistics with thresholds calibrated at the actual sample sizes (numpy + scipy.special only).

Fixed cut-offs misfire at both ends: PSI >= 0.1 fires on most 100-vs-100 samples of one distribution, and KS at
p < 0.05 flags harmless 0.05-sigma shifts at 100k rows. Here each decisive statistic gets its null distribution at
the sizes being compared, by a parametric bootstrap over bins:

- numeric features are binned once on reference quantiles; the null draws both samples as multinomials from the
  reference bin shares at the actual sizes ``(n_ref, n_cur)`` — O(bins) per replicate, whatever n — and PSI is
  computed on each replicate (Jeffreys smoothing, the same formula as the observed PSI);
- categorical features get the same treatment with their category shares, and Jensen-Shannon divergence.

The calibrated p-value is ``(1 + #{null >= observed}) / (R + 1)`` (Davison & Hinkley 1997, ch. 4), adjusted across
the features of a run (Holm or Benjamini-Hochberg), and combined with an effect-size floor in the feature's own
units: Wasserstein-1 distance for numeric features (Villani 2009), total variation for categorical ones. KS
(asymptotic Kolmogorov distribution) and chi-square are computed alongside for information.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

OTHER = "(other)"
NEW = "(new)"
_PERMUTATION_CHUNK = 100
_QUANTILE_GRID = 2000  # quantiles used for the Wasserstein-1 distance (error well below any sensible floor)


@dataclass
class DriftResult:
    """One row of ``drift_metrics`` before the correction across features."""

    feature: str
    method: str
    kind: str
    decisive: bool
    n_ref: int
    n_cur: int
    statistic: float | None = None
    threshold: float | None = None
    p_value: float | None = None
    calibration: str | None = None
    effect: float | None = None
    effect_floor: float | None = None
    ref_summary: float | None = None
    cur_summary: float | None = None
    tested: bool = True
    drifted: bool = False
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    p_adjusted: float | None = None

    def row(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "feature", "method", "kind", "decisive", "statistic", "threshold", "p_value", "p_adjusted",
            "calibration", "effect", "effect_floor", "n_ref", "n_cur", "ref_summary", "cur_summary", "tested",
            "drifted", "reason")} | {"details": self.details or None}


def untested(feature: str, kind: str, method: str, n_ref: int, n_cur: int, reason: str, floor: float) -> DriftResult:
    """A decisive row that could not be tested: recorded with its reason (never a silent pass)."""
    return DriftResult(feature=feature, method=method, kind=kind, decisive=True, n_ref=n_ref, n_cur=n_cur,
                      tested=False, reason=reason, effect_floor=floor)


# -- building blocks -------------------------------------------------------------------------------------------


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> np.ndarray:
    """Population stability index of count vectors (last axis = bins), Jeffreys-smoothed (+0.5 per bin) so an
    empty bin gives a finite value; works on one pair or on a batch of replicates."""
    ref = ref_counts + 0.5
    cur = cur_counts + 0.5
    p = ref / ref.sum(axis=-1, keepdims=True)
    q = cur / cur.sum(axis=-1, keepdims=True)
    return ((q - p) * np.log(q / p)).sum(axis=-1)


def js_divergence(ref_counts: np.ndarray, cur_counts: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (base 2, 0..1) of count vectors (last axis = categories); batched like :func:`psi`."""
    p = ref_counts / np.maximum(ref_counts.sum(axis=-1, keepdims=True), 1)
    q = cur_counts / np.maximum(cur_counts.sum(axis=-1, keepdims=True), 1)
    m = (p + q) / 2

    def kl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(a > 0, a * np.log2(np.where(a > 0, a, 1) / np.where(b > 0, b, 1)), 0.0)
        return terms.sum(axis=-1)

    return np.clip((kl(p, m) + kl(q, m)) / 2, 0.0, 1.0)


def calibrate(
    statistic: Any, shares: np.ndarray, n_ref: int, n_cur: int, observed: float, replicates: int, alpha: float,
    rng: np.random.Generator, cur_shares: np.ndarray | None = None,
) -> tuple[float, float]:
    """Calibrated ``(p_value, threshold)`` of ``observed``: the null of ``statistic(ref_counts, cur_counts)`` when both
    samples are multinomial draws from ``shares`` (the current one from ``cur_shares`` when given) at sizes
    ``n_ref`` and ``n_cur``."""
    ref = rng.multinomial(n_ref, _pvals(shares), size=replicates).astype(np.float64)
    cur = rng.multinomial(n_cur, _pvals(shares if cur_shares is None else cur_shares),
                          size=replicates).astype(np.float64)
    return _tail_p(statistic(ref, cur), observed, alpha)


def _pvals(shares: np.ndarray) -> np.ndarray:
    """Shares that numpy's multinomial accepts: non-negative, the first ones summing to at most 1 exactly."""
    p = np.clip(np.asarray(shares, dtype=np.float64), 0.0, None)
    p = p / p.sum()
    p[:-1] = np.minimum(p[:-1], 1.0)
    excess = p[:-1].sum() - 1.0
    if excess > 0:  # float rounding: take it from the largest share
        p[int(np.argmax(p[:-1]))] -= excess
    p[-1] = max(0.0, 1.0 - p[:-1].sum())
    return p


def _tail_p(null: np.ndarray, observed: float, alpha: float) -> tuple[float, float]:
    """``(p_value, threshold)`` of ``observed`` against null replicates (see :func:`calibrate`)."""
    replicates = len(null)
    exceed = np.count_nonzero(null >= observed - 1e-12)
    p = (1.0 + exceed) / (replicates + 1.0)
    if exceed == 0:
        # No replicate reaches the observation: the empirical p-value stops at 1 / (R + 1), too coarse for a
        # correction across a dozen features. Extrapolate beyond the replicates with a gamma distribution fitted to
        # the null by its moments (PSI and JS divergence are asymptotically scaled chi-square, i.e. gamma, under the
        # null), never above the empirical bound.
        from scipy.special import gammaincc

        mean, var = float(null.mean()), float(null.var())
        if var > 0 and mean > 0:
            p = min(p, float(gammaincc(mean * mean / var, observed * mean / var)))
        elif observed > mean + 1e-12:
            p = 0.0
    return float(min(1.0, max(0.0, p))), float(np.quantile(null, 1.0 - alpha))


def unseen_share(counts: np.ndarray | list[int], n: int) -> float:
    """Probability that a new draw is a value the sample of ``n`` never had: Good-Turing's ``n1 / n`` (values seen
    once), at least Laplace's rule of succession ``1 / (n + 1)``."""
    n1 = int(np.count_nonzero(np.asarray(counts) == 1))
    return max(1.0 / (n + 1), n1 / n if n else 1.0)


def _with_unseen(shares: np.ndarray, unseen: float, new_index: int) -> np.ndarray:
    out = shares * (1 - unseen)
    out[new_index] += unseen
    return out


def ks_sorted(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov ``(D, asymptotic p)`` of two sorted arrays (ties handled exactly in D)."""
    from scipy.special import kolmogorov

    n, m = len(ref), len(cur)
    d_at_cur = np.abs(np.searchsorted(ref, cur, side="right") / n - np.searchsorted(cur, cur, side="right") / m)
    d_at_ref = np.abs(np.searchsorted(ref, ref, side="right") / n - np.searchsorted(cur, ref, side="right") / m)
    d = float(max(d_at_cur.max(initial=0.0), d_at_ref.max(initial=0.0)))
    en = n * m / (n + m)
    return d, float(min(1.0, max(0.0, kolmogorov(math.sqrt(en) * d))))


def wasserstein_sorted(ref: np.ndarray, cur: np.ndarray) -> float:
    """Wasserstein-1 distance of two sorted samples from a grid of quantiles (in the values' own unit)."""
    u = (np.arange(_QUANTILE_GRID) + 0.5) / _QUANTILE_GRID
    q_ref = ref[np.minimum((u * len(ref)).astype(np.int64), len(ref) - 1)]
    q_cur = cur[np.minimum((u * len(cur)).astype(np.int64), len(cur) - 1)]
    return float(np.abs(q_ref - q_cur).mean())


def _fmt(x: float) -> str:
    return f"{x:.4g}"


# -- numeric features ------------------------------------------------------------------------------------------


def _bin(sorted_values: np.ndarray, interior: np.ndarray, low: float, high: float) -> np.ndarray:
    """Counts per bin: below the reference minimum, the reference-quantile bins, above the reference maximum.

    The two outer bins are empty in the reference (and in every null replicate), so values outside the reference's
    range always count as change, even when the reference is constant."""
    idx = np.searchsorted(interior, sorted_values, side="right") + 1
    idx[sorted_values < low] = 0
    idx[sorted_values > high] = len(interior) + 2
    return np.bincount(idx, minlength=len(interior) + 3)


def numeric_drift(
    feature: str, ref: np.ndarray, cur: np.ndarray, *, floor: float, bins: int, replicates: int, alpha: float,
    min_values: int, rng: np.random.Generator,
) -> list[DriftResult]:
    """PSI on reference-quantile bins with a calibrated null (decisive; effect: Wasserstein-1), and KS (info).

    ``ref``/``cur`` are float arrays where NaN means null; the null shares go to ``details``."""
    ref_all, cur_all = len(ref), len(cur)
    ref = ref[~np.isnan(ref)]
    cur = cur[~np.isnan(cur)]
    null_share = {"ref": 1 - len(ref) / ref_all if ref_all else None, "cur": 1 - len(cur) / cur_all if cur_all else None}
    if len(ref) < min_values or len(cur) < min_values:
        side = "reference" if len(ref) < min_values else "current window"
        what = "all values are null" if (len(ref) if side == "reference" else len(cur)) == 0 else (
            f"only {len(ref) if side == 'reference' else len(cur)} non-null values")
        r = untested(feature, "numeric", "psi", len(ref), len(cur),
                     f"not tested: {what} in the {side} (minimum {min_values})", floor)
        r.details = {"null_share": null_share}
        return [r]
    ref_sorted = np.sort(ref)
    cur_sorted = np.sort(cur)
    interior = np.unique(np.quantile(ref_sorted, np.arange(1, bins) / bins, method="inverted_cdf"))
    ref_counts = _bin(ref_sorted, interior, ref_sorted[0], ref_sorted[-1])
    cur_counts = _bin(cur_sorted, interior, ref_sorted[0], ref_sorted[-1])
    observed = float(psi(ref_counts.astype(np.float64), cur_counts.astype(np.float64)))
    shares = ref_counts / ref_counts.sum()
    # Under the null a new value lands below (above) the reference's n values with probability 1 / (n + 1):
    # the current sample's null keeps that chance, or small samples would alarm on their own extremes.
    outside = 1.0 / (len(ref) + 1)
    cur_shares = shares * (1 - 2 * outside)
    cur_shares[0] += outside
    cur_shares[-1] += outside
    p, threshold = calibrate(psi, shares, len(ref), len(cur), observed, replicates, alpha, rng, cur_shares)
    effect = wasserstein_sorted(ref_sorted, cur_sorted)
    ks_d, ks_p = ks_sorted(ref_sorted, cur_sorted)
    ref_mean, cur_mean = float(ref.mean()), float(cur.mean())
    details = {"edges": [float(e) for e in interior], "ref_counts": ref_counts.tolist(),
               "cur_counts": cur_counts.tolist(), "null_share": null_share,
               "ref_median": float(np.median(ref_sorted)), "cur_median": float(np.median(cur_sorted))}
    decisive = DriftResult(
        feature=feature, method="psi", kind="numeric", decisive=True, n_ref=len(ref), n_cur=len(cur),
        statistic=observed, threshold=threshold, p_value=p,
        calibration=f"multinomial-bootstrap-{replicates}+gamma-tail",
        effect=effect, effect_floor=floor, ref_summary=ref_mean, cur_summary=cur_mean, details=details,
    )
    info = DriftResult(
        feature=feature, method="ks", kind="numeric", decisive=False, n_ref=len(ref), n_cur=len(cur),
        statistic=ks_d, p_value=ks_p, calibration="asymptotic", effect=effect, effect_floor=floor,
        ref_summary=ref_mean, cur_summary=cur_mean, reason="informational: the verdict is the psi row",
    )
    return [decisive, info]


# -- categorical features --------------------------------------------------------------------------------------


def category_table(
    ref_counts: Counter, cur_counts: Counter, max_categories: int
) -> tuple[list[str], np.ndarray, np.ndarray, dict[str, int]]:
    """Categories compared: the ``max_categories - 1`` most frequent reference categories, ``(other)`` for the
    rest of the reference's, and ``(new)`` for current values the reference never had. Returns labels, reference
    counts, current counts and the new categories with their counts."""
    top = [c for c, _ in sorted(ref_counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]
    keep = top[: max_categories - 1] if len(top) > max_categories else top
    labels = list(keep)
    kept = set(keep)
    other_ref = sum(n for c, n in ref_counts.items() if c not in kept)
    new = {c: n for c, n in cur_counts.items() if c not in ref_counts}
    other_cur = sum(n for c, n in cur_counts.items() if c in ref_counts and c not in kept)
    ref_vec = [ref_counts[c] for c in keep]
    cur_vec = [cur_counts.get(c, 0) for c in keep]
    if other_ref or other_cur:
        labels.append(OTHER)
        ref_vec.append(other_ref)
        cur_vec.append(other_cur)
    labels.append(NEW)
    ref_vec.append(0)
    cur_vec.append(sum(new.values()))
    return labels, np.asarray(ref_vec, dtype=np.float64), np.asarray(cur_vec, dtype=np.float64), new


def _chi2(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    from scipy.special import chdtrc

    keep = (ref + cur) > 0
    ref, cur = ref[keep], cur[keep]
    if len(ref) < 2:
        return 0.0, 1.0
    table = np.vstack([ref, cur])
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    return stat, float(chdtrc(len(ref) - 1, stat))


def categorical_drift(
    feature: str, ref_values: list[Any], cur_values: list[Any], *, floor: float, max_categories: int,
    replicates: int, alpha: float, min_values: int, rng: np.random.Generator, increase_of: str | None = None,
) -> list[DriftResult]:
    """Jensen-Shannon divergence with a calibrated null (decisive; effect: total variation, or with ``increase_of``
    the rise of that category's share), chi-square (info) and the explicit new-category finding."""
    ref_counts = Counter(v for v in ref_values if v is not None)
    cur_counts = Counter(v for v in cur_values if v is not None)
    n_ref, n_cur = sum(ref_counts.values()), sum(cur_counts.values())
    null_share = {"ref": 1 - n_ref / len(ref_values) if ref_values else None,
                  "cur": 1 - n_cur / len(cur_values) if cur_values else None}
    if n_ref < min_values or n_cur < min_values:
        side, n = ("reference", n_ref) if n_ref < min_values else ("current window", n_cur)
        what = "all values are null" if n == 0 else f"only {n} non-null values"
        r = untested(feature, "categorical", "js", n_ref, n_cur,
                     f"not tested: {what} in the {side} (minimum {min_values})", floor)
        r.details = {"null_share": null_share}
        return [r]
    labels, ref_vec, cur_vec, new = category_table(ref_counts, cur_counts, max_categories)
    observed = float(js_divergence(ref_vec, cur_vec))
    shares = ref_vec / ref_vec.sum()
    # Under the null, a current value is one the reference never had with the Good-Turing probability.
    cur_shares = _with_unseen(shares, unseen_share(list(ref_counts.values()), n_ref), len(labels) - 1)
    p, threshold = calibrate(js_divergence, shares, n_ref, n_cur, observed, replicates, alpha, rng, cur_shares)
    ref_share, cur_share = ref_vec / n_ref, cur_vec / n_cur
    moved = int(np.argmax(np.abs(cur_share - ref_share)))
    if increase_of is not None:
        idx = labels.index(increase_of) if increase_of in labels else None
        r_s = float(ref_share[idx]) if idx is not None else 0.0
        c_s = float(cur_share[idx]) if idx is not None else cur_counts.get(increase_of, 0) / n_cur
        effect, summary = c_s - r_s, (r_s, c_s)
    else:
        effect = float(np.abs(cur_share - ref_share).sum() / 2)
        summary = (float(ref_share[moved]), float(cur_share[moved]))
    details = {"categories": labels, "ref_share": [round(float(x), 6) for x in ref_share],
               "cur_share": [round(float(x), 6) for x in cur_share], "null_share": null_share,
               "most_moved": labels[moved]}
    decisive = DriftResult(
        feature=feature, method="js", kind="categorical", decisive=True, n_ref=n_ref, n_cur=n_cur,
        statistic=observed, threshold=threshold, p_value=p,
        calibration=f"multinomial-bootstrap-{replicates}+gamma-tail",
        effect=effect, effect_floor=floor, ref_summary=summary[0], cur_summary=summary[1], details=details,
    )
    chi2, chi2_p = _chi2(ref_vec, cur_vec)
    info = DriftResult(
        feature=feature, method="chi2", kind="categorical", decisive=False, n_ref=n_ref, n_cur=n_cur,
        statistic=chi2, p_value=chi2_p, calibration="asymptotic", effect=effect, effect_floor=floor,
        ref_summary=summary[0], cur_summary=summary[1], reason="informational: the verdict is the js row",
    )
    new_share = sum(new.values()) / n_cur
    top_new = sorted(new.items(), key=lambda kv: (-kv[1], str(kv[0])))[:5]
    finding = DriftResult(
        feature=feature, method="new_categories", kind="categorical", decisive=False, n_ref=n_ref, n_cur=n_cur,
        statistic=new_share, effect=new_share, effect_floor=floor, ref_summary=0.0, cur_summary=new_share,
        drifted=bool(new) and new_share >= floor,
        reason=(f"{len(new)} categor{'y' if len(new) == 1 else 'ies'} never seen in the reference, "
                f"{new_share:.1%} of the current window: "
                + ", ".join(f"{c!s:.40} ({n / n_cur:.1%})" for c, n in top_new)) if new
        else "no category the reference had not seen",
        details={"new": {str(c): n for c, n in top_new}} if new else {},
    )
    return [decisive, info, finding]


# -- window-level: token distributions ----------------------------------------------------------------------------


def vocabulary_drift(
    ref_tokens: Counter, cur_tokens: Counter, ref_sample: list[list[str]], cur_sample: list[list[str]], *,
    floor: float, vocabulary: int, replicates: int, alpha: float, min_values: int, rng: np.random.Generator,
) -> list[DriftResult]:
    """Jensen-Shannon divergence of the two windows' token distributions.

    Tokens of one prompt are not independent draws, so no multinomial null is valid here: the test is a
    permutation test at the prompt level on bounded samples of prompts (``ref_sample``, ``cur_sample``): prompts
    are reassigned to the two sides at random, the token counts recomputed (one sparse product for all
    replicates), over the ``vocabulary`` most frequent tokens of the pooled sample plus ``(other)``. The statistic
    tested is the JS divergence of the samples; the effect is that divergence minus its mean over the permutations
    (the part sampling noise does not explain). The share of tokens the reference never had is in ``details``."""
    n_ref, n_cur = len(ref_sample), len(cur_sample)
    if n_ref < min_values or n_cur < min_values or not ref_tokens or not cur_tokens:
        side, n = ("reference", n_ref) if n_ref < min_values or not ref_tokens else ("current window", n_cur)
        return [untested("vocabulary", "window", "js", n_ref, n_cur,
                         f"not tested: {'no prompt text' if n == 0 else f'only {n} prompts with text'} in the "
                         f"{side} (minimum {min_values})", floor)]
    from scipy import sparse

    labels, ref_vec, cur_vec, new = category_table(ref_tokens, cur_tokens, vocabulary)
    pooled = Counter(w for toks in ref_sample + cur_sample for w in toks)
    # The columns depend on the pooled multiset only (ties broken by the token, singletons pooled into (other)): a
    # cut that favoured whichever side came first would make the observed split look unlike every permutation.
    ranked = sorted(((w, n) for w, n in pooled.items() if n >= 2), key=lambda kv: (-kv[1], kv[0]))
    index = {w: i for i, (w, _) in enumerate(ranked[:vocabulary])}
    other = len(index)
    rows, cols = [], []
    for r, toks in enumerate(ref_sample + cur_sample):
        rows.extend([r] * len(toks))
        cols.extend(index.get(w, other) for w in toks)
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_ref + n_cur, other + 1))
    total = np.asarray(matrix.sum(axis=0)).ravel()
    observed_ref = np.asarray(matrix[:n_ref].sum(axis=0)).ravel()
    observed = float(js_divergence(observed_ref, total - observed_ref))
    nulls = []
    for first in range(0, replicates, _PERMUTATION_CHUNK):  # chunks bound the memory of the assignment matrix
        size = min(_PERMUTATION_CHUNK, replicates - first)
        assign = np.zeros((n_ref + n_cur, size), dtype=np.float32)
        for k in range(size):
            assign[rng.permutation(n_ref + n_cur)[:n_ref], k] = 1.0
        null_ref = np.asarray(matrix.T @ assign, dtype=np.float64).T  # (size, vocabulary + 1)
        nulls.append(js_divergence(null_ref, total[None, :] - null_ref))
    null = np.concatenate(nulls)
    p, threshold = _tail_p(null, observed, alpha)
    # JS divergence of sparse token counts is biased upwards by sampling noise (many rare tokens): the effect is
    # the divergence in excess of what the permutations give with no shift at all.
    effect = max(0.0, observed - float(null.mean()))
    cur_total = cur_vec.sum()
    return [DriftResult(
        feature="vocabulary", method="js", kind="window", decisive=True, n_ref=n_ref, n_cur=n_cur,
        statistic=observed, threshold=threshold, p_value=p,
        calibration=f"prompt-permutation-{replicates}+gamma-tail", effect=effect, effect_floor=floor,
        ref_summary=0.0, cur_summary=float(cur_vec[-1] / cur_total) if cur_total else None,
        details={"ref_tokens": int(ref_vec.sum()), "cur_tokens": int(cur_total), "distinct_new_tokens": len(new),
                 "new_token_share": float(cur_vec[-1] / cur_total) if cur_total else None,
                 "tested_prompts": {"ref": n_ref, "cur": n_cur}, "null_mean": float(null.mean())},
    )]


# -- the verdict ------------------------------------------------------------------------------------------------


def decide(results: list[DriftResult], *, alpha: float, correction: str) -> list[DriftResult]:
    """Adjust the decisive rows' p-values across features and set the verdicts: drifted when the adjusted p-value is
    below ``alpha`` and the effect reaches the floor; the reason says which part failed."""
    from llmmon.statistics.multiple import adjust

    decisive = [r for r in results if r.decisive and r.tested and r.p_value is not None]
    if decisive:
        for r, p_adj in zip(decisive, adjust([r.p_value for r in decisive], correction), strict=True):
            r.p_adjusted = p_adj
            significant = p_adj < alpha
            large = r.effect is not None and r.effect >= r.effect_floor
            r.drifted = significant and large
            if r.drifted:
                r.reason = (f"drifted: adjusted p={p_adj:.3g} < {alpha} and effect {_fmt(r.effect)} >= floor "
                            f"{_fmt(r.effect_floor)}")
            elif significant:
                r.reason = (f"significant (adjusted p={p_adj:.3g}) but effect {_fmt(r.effect)} is below the floor "
                            f"{_fmt(r.effect_floor)}: not drift")
            else:
                r.reason = f"no drift: adjusted p={p_adj:.3g} >= {alpha}"
    return results
