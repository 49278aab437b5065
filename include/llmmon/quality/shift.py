"""Judge-score shift: did the judged quality of a stratum move, in this window, against its reference window?

Per (endpoint, stratum, rubric): the judge scores of the window against those of the same stratum in the reference
window before it (``quality.shift.reference_days``, 7 by default), same rubric version only. A two-sample test on
the scores — Mann-Whitney U by default (Mann & Whitney 1947, with the tie correction a 1-5 scale needs), or the
two-sample Kolmogorov-Smirnov test, or a permutation test of the mean — gives a p-value; p-values are adjusted
across the tested strata of one rubric in one window (Holm 1979 or Benjamini-Hochberg 1995,
:mod:`llmmon.statistics.multiple`), so twelve strata do not mean twelve chances of a false alarm. A stratum is
*shifted* when its adjusted p-value is below alpha AND its mean moved by at least the effect floor (in scale
points): with thousands of scores, a significant 0.05-point drop is real and unimportant.

A side with fewer scores than its minimum is not tested; the row records it (``tested`` false, ``reason``), and the
alert series reads it as "no data", which neither fires nor resolves an alert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from llmmon.quality_config import ShiftConfig
from llmmon.statistics.multiple import adjust

if TYPE_CHECKING:
    from llmmon.config import Settings
    from llmmon.warehouse import Warehouse

log = logging.getLogger("llmmon.quality.shift")

GroupKey = tuple[str, str, str]  # (endpoint, stratum, rubric)


@dataclass(frozen=True)
class ShiftResult:
    """The comparison of one stratum's scores with its reference (one ``judge_shift`` row, without the window)."""

    endpoint: str
    stratum: str
    rubric: str
    rubric_version: str | None
    test: str
    n_ref: int
    n_cur: int
    mean_ref: float | None
    mean_cur: float | None
    effect: float | None
    statistic: float | None
    p_value: float | None
    p_adjusted: float | None
    tested: bool
    shifted: bool
    reason: str | None


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _seed(*parts: str) -> int:
    # A permutation test must give the same p-value when a window is recomputed.
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


def two_sample_test(
    ref: Sequence[float], cur: Sequence[float], config: ShiftConfig, *, seed: int = 0
) -> tuple[float, float]:
    """``(statistic, p_value)`` of ``config.test`` for "``cur`` is lower than ``ref``" (``direction: drop``) or
    "``cur`` differs from ``ref``" (``any``).

    - ``mann_whitney``: U of ``cur``, normal approximation with tie and continuity corrections.
    - ``ks``: the KS statistic D, exact where scipy can and asymptotic otherwise; one-sided for a drop (the
      current scores' CDF lies above the reference's).
    - ``permutation``: mean(cur) - mean(ref); p = (1 + #permuted differences at least as extreme) / (1 + B).

    Both sides constant and equal: nothing moved, p = 1.
    """
    if min(cur) == max(cur) == min(ref) == max(ref):
        return (0.0 if config.test != "mann_whitney" else len(ref) * len(cur) / 2.0), 1.0
    drop = config.direction == "drop"
    if config.test == "mann_whitney":
        from scipy.stats import mannwhitneyu

        res = mannwhitneyu(cur, ref, alternative="less" if drop else "two-sided", method="asymptotic")
        return float(res.statistic), _p(res.pvalue)
    if config.test == "ks":
        from scipy.stats import ks_2samp

        res = ks_2samp(cur, ref, alternative="greater" if drop else "two-sided")
        return float(res.statistic), _p(res.pvalue)
    return _permutation_test(ref, cur, config.permutations, drop=drop, seed=seed)


def _p(p: float) -> float:
    # A degenerate input can make scipy return NaN; that is "no evidence", not an error.
    p = float(p)
    return 1.0 if not math.isfinite(p) else min(1.0, max(0.0, p))


def _permutation_test(
    ref: Sequence[float], cur: Sequence[float], permutations: int, *, drop: bool, seed: int
) -> tuple[float, float]:
    import numpy as np

    pooled = np.asarray([*cur, *ref], dtype=float)
    n_cur, total = len(cur), float(pooled.sum())
    n_ref = len(pooled) - n_cur
    observed = pooled[:n_cur].mean() - pooled[n_cur:].mean()
    rng = np.random.default_rng(seed)
    extreme = 0
    chunk = max(1, min(permutations, 4_000_000 // len(pooled)))  # bound memory to ~32 MB of indices
    done = 0
    while done < permutations:
        k = min(chunk, permutations - done)
        idx = rng.permuted(np.tile(np.arange(len(pooled)), (k, 1)), axis=1)[:, :n_cur]
        s_cur = pooled[idx].sum(axis=1)
        diff = s_cur / n_cur - (total - s_cur) / n_ref
        eps = 1e-12  # differences equal to the observed one, up to float noise, count as extreme
        extreme += int((diff <= observed + eps).sum() if drop else (np.abs(diff) >= abs(observed) - eps).sum())
        done += k
    return float(observed), (1 + extreme) / (1 + permutations)


def detect_shifts(
    groups: Mapping[GroupKey, tuple[Sequence[float], Sequence[float], str | None]], config: ShiftConfig
) -> list[ShiftResult]:
    """Test every group — ``(endpoint, stratum, rubric) -> (reference scores, current scores, rubric version)`` —
    adjust the p-values per rubric across its tested strata, and decide which shifted. Pure; results in key order."""
    partial: list[dict[str, Any]] = []
    for key in sorted(groups):
        ref, cur, version = groups[key]
        endpoint, stratum, rubric = key
        mean_ref, mean_cur = _mean(ref), _mean(cur)
        effect = None if mean_ref is None or mean_cur is None else mean_cur - mean_ref
        row: dict[str, Any] = {
            "endpoint": endpoint, "stratum": stratum, "rubric": rubric, "rubric_version": version,
            "test": config.test, "n_ref": len(ref), "n_cur": len(cur), "mean_ref": mean_ref, "mean_cur": mean_cur,
            "effect": effect, "statistic": None, "p_value": None, "p_adjusted": None, "tested": False,
            "shifted": False, "reason": None,
        }
        short = [f"{name} {n} < {lo}" for name, n, lo in (("n_ref", len(ref), config.min_reference),
                                                            ("n_cur", len(cur), config.min_current)) if n < lo]
        if short:
            row["reason"] = "too few scores: " + ", ".join(short)
        else:
            row["statistic"], row["p_value"] = two_sample_test(ref, cur, config, seed=_seed(*key))
            row["tested"] = True
        partial.append(row)

    by_rubric: dict[str, list[dict[str, Any]]] = {}
    for row in partial:
        if row["tested"]:
            by_rubric.setdefault(row["rubric"], []).append(row)
    for rows in by_rubric.values():
        for row, p_adj in zip(rows, adjust([r["p_value"] for r in rows], config.correction), strict=True):
            row["p_adjusted"] = p_adj
            moved = -row["effect"] if config.direction == "drop" else abs(row["effect"])
            significant = p_adj < config.alpha
            big_enough = moved >= config.effect_floor - 1e-12
            row["shifted"] = significant and big_enough
            if not significant:
                row["reason"] = f"not significant: p_adjusted {p_adj:.3g} >= alpha {config.alpha:g}"
            elif not big_enough:
                what = "drop" if config.direction == "drop" else "change"
                row["reason"] = f"{what} {moved:.3g} below the effect floor {config.effect_floor:g}"
    return [ShiftResult(**row) for row in partial]


def _latest_per_span(scores: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    # A span judged twice (another run over the same window) counts once: its latest score.
    latest: dict[tuple, Mapping[str, Any]] = {}
    for s in scores:  # ordered by judged_at
        latest[(s["trace_id"], s["span_id"], s["rubric"])] = s
    return list(latest.values())


def group_scores(
    reference: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]]
) -> dict[GroupKey, tuple[list[float], list[float], str | None]]:
    """Scores per (endpoint, stratum, rubric) of the strata present in ``current``, both sides restricted to the
    rubric version the current window used most recently (a new rubric version is a new scale, not a shift)."""
    cur_by: dict[GroupKey, list[Mapping[str, Any]]] = {}
    for s in _latest_per_span(current):
        cur_by.setdefault((s["endpoint"] or "", s["stratum"] or "", s["rubric"]), []).append(s)
    ref_by: dict[GroupKey, list[Mapping[str, Any]]] = {}
    for s in _latest_per_span(reference):
        ref_by.setdefault((s["endpoint"] or "", s["stratum"] or "", s["rubric"]), []).append(s)
    out = {}
    for key, rows in cur_by.items():
        version = max(rows, key=lambda s: s["judged_at"])["rubric_version"]
        out[key] = (
            [float(s["score"]) for s in ref_by.get(key, []) if s["rubric_version"] == version],
            [float(s["score"]) for s in rows if s["rubric_version"] == version],
            version,
        )
    return out


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def run_shift_detection(
    settings: Settings, warehouse: Warehouse, *, start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    """Compare the judge scores of the window ``[start, end)`` (judging windows starting in it) with the reference
    window ``[start - reference_days, start)`` and replace the window's ``judge_shift`` rows. Returns a summary."""
    from llmmon.warehouse.quality_store import judge_scores_between, replace_judge_shift

    cfg = settings.quality.shift
    ref_start = start - dt.timedelta(days=cfg.reference_days)
    groups = group_scores(judge_scores_between(warehouse, ref_start, start), judge_scores_between(warehouse, start, end))
    results = detect_shifts(groups, cfg)
    now = dt.datetime.now(dt.UTC)
    rows = []
    for r in results:
        row = asdict(r)
        for k in ("statistic", "p_value", "p_adjusted", "effect", "mean_ref", "mean_cur"):
            row[k] = _finite(row[k])  # JSON-free columns, but NaN has no place in a warehouse either
        rows.append({**row, "window_start": start, "window_end": end, "reference_start": ref_start,
                     "computed_at": now})
    replace_judge_shift(warehouse, start, rows)
    shifted = [f"{r.endpoint}/{r.stratum}/{r.rubric}" for r in results if r.shifted]
    log.info("judge shift %s..%s: %d strata, %d tested, %d shifted %s", start.isoformat(), end.isoformat(),
             len(results), sum(r.tested for r in results), len(shifted), shifted)
    return {"window_start": start.isoformat(), "strata": len(results), "tested": sum(r.tested for r in results),
            "shifted": shifted}
