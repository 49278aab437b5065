"""Is a retrieval run worse than its baseline index version, beyond noise? Paired per-query statistics.

The comparison pairs the queries answered in both runs (same suite version), per metric of
``retrieval.regression.metrics`` (default recall@10, ndcg@10, mrr@10), overall and per intent. For each metric and
slice: the two-sided sign-flip permutation test on the per-query differences (``llmmon.statistics.signflip``; the
query is the unit), and a paired bootstrap percentile interval of the mean difference
(``llmmon.statistics.bootstrap``). p-values are adjusted (Holm or Benjamini-Hochberg) across the metrics of the
overall slice, and separately across every metric x intent. A metric regresses when its adjusted p-value is below
``alpha`` AND its mean dropped by at least ``min_effect`` (``intent_min_effect`` for an intent): significance
alone flags harmless changes on big suites, a fixed drop alone cries wolf on small ones — the rule golden-set
verdicts use (docs/verdicts.md).

Verdicts: ``regression``, ``no_regression``, ``inconclusive`` (too few paired queries) and ``no_baseline``.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

REGRESSION = "regression"
NO_REGRESSION = "no_regression"
INCONCLUSIVE = "inconclusive"
NO_BASELINE = "no_baseline"
_EPS = 1e-12


@dataclass(frozen=True)
class MetricComparison:
    """One metric on one slice (``overall`` or ``intent:<name>``); differences are candidate minus baseline."""

    subject: str
    metric: str
    n_paired: int
    baseline_mean: float
    candidate_mean: float
    worse: int  # queries whose value fell
    better: int  # queries whose value rose
    p_value: float
    p_adjusted: float | None
    diff_ci: tuple[float, float] | None
    min_effect: float
    judged: bool
    regressed: bool

    @property
    def drop(self) -> float:
        return self.baseline_mean - self.candidate_mean


@dataclass(frozen=True)
class RetrievalVerdict:
    """The outcome of the comparison, with every metric comparison behind it."""

    verdict: str
    reason: str
    baseline_run_key: str | None = None
    baseline_index_version: str | None = None
    n_paired: int = 0
    comparisons: list[MetricComparison] = field(default_factory=list)

    @property
    def regressions(self) -> list[MetricComparison]:
        return [c for c in self.comparisons if c.regressed]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for c in out["comparisons"]:
            c["drop"] = c["baseline_mean"] - c["candidate_mean"]
        return out


def _pairs(cand: list[dict], base: list[dict], metric: str) -> dict[str, tuple[str, float, float]]:
    b = {r["query_id"]: r["value"] for r in base if r["metric"] == metric and r["value"] is not None}
    return {r["query_id"]: (r["intent"], b[r["query_id"]], r["value"]) for r in cand
            if r["metric"] == metric and r["value"] is not None and r["query_id"] in b}


def _measure(subject: str, metric: str, pairs: list[tuple[float, float]], cfg: Any, seed: int) -> dict[str, Any]:
    from llmmon.statistics.bootstrap import paired_bootstrap_ci
    from llmmon.statistics.signflip import sign_flip_p

    base = np.array([p[0] for p in pairs])
    cand = np.array([p[1] for p in pairs])
    diff = cand - base
    slice_seed = [seed, zlib.crc32(f"{subject}/{metric}".encode())]
    p_value, _ = sign_flip_p(diff.tolist(), seed=[*slice_seed, 1])
    (ci,) = paired_bootstrap_ci([diff.tolist()], confidence=cfg.confidence, resamples=cfg.bootstrap_resamples,
                                seed=[*slice_seed, 0])
    return dict(subject=subject, metric=metric, n_paired=len(pairs), baseline_mean=float(base.mean()),
                candidate_mean=float(cand.mean()), worse=int((diff < -_EPS).sum()), better=int((diff > _EPS).sum()),
                p_value=float(p_value), diff_ci=ci)


def compare_results(
    candidate: list[dict[str, Any]], baseline: list[dict[str, Any]] | None, cfg: Any, *,
    baseline_run_key: str | None = None, baseline_index_version: str | None = None, seed: int = 0,
) -> RetrievalVerdict:
    """Compare two runs' ``retrieval_results`` rows (query_id, intent, metric, value) on ``cfg.metrics``.

    ``cfg`` is a :class:`~llmmon.retrieval_config.RegressionConfig`. Deterministic for a seed.
    """
    from llmmon.statistics.multiple import adjust

    common = dict(baseline_run_key=baseline_run_key, baseline_index_version=baseline_index_version)
    if baseline is None:
        return RetrievalVerdict(NO_BASELINE, "no earlier successful run of this suite version on another index "
                                "version of the retriever", **common)
    measured: list[dict[str, Any]] = []
    n_paired = 0
    by_intent: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for metric in cfg.metrics:
        pairs = _pairs(candidate, baseline, metric)
        n_paired = max(n_paired, len(pairs))
        if not pairs:
            continue
        measured.append(_measure("overall", metric, [(b, c) for _, b, c in pairs.values()], cfg, seed))
        for intent, b, c in pairs.values():
            by_intent[(str(intent), metric)].append((b, c))
    common["n_paired"] = n_paired
    if n_paired < cfg.min_queries:
        return RetrievalVerdict(INCONCLUSIVE, f"only {n_paired} queries answered in both runs, fewer than "
                                f"min_queries={cfg.min_queries}", **common)
    intent_measured = [_measure(f"intent:{i}", m, ps, cfg, seed) for (i, m), ps in sorted(by_intent.items())]
    overall_p = adjust([m["p_value"] for m in measured], cfg.correction) if measured else []
    judged_intents = [m for m in intent_measured if m["n_paired"] >= cfg.min_intent_queries]
    intent_p = dict(zip((id(m) for m in judged_intents),
                        adjust([m["p_value"] for m in judged_intents], cfg.correction) if judged_intents else [],
                        strict=True))

    def decide(m: dict[str, Any], p_adj: float | None, floor: float) -> MetricComparison:
        drop = m["baseline_mean"] - m["candidate_mean"]
        regressed = p_adj is not None and p_adj < cfg.alpha and drop >= floor - _EPS
        return MetricComparison(**m, p_adjusted=p_adj, min_effect=floor, judged=p_adj is not None,
                                regressed=regressed)

    comparisons = [decide(m, p, cfg.min_effect) for m, p in zip(measured, overall_p, strict=True)]
    comparisons += [decide(m, intent_p.get(id(m)), cfg.intent_min_effect) for m in intent_measured]
    regressed = [c for c in comparisons if c.regressed]
    if regressed:
        shown = "; ".join(
            f"{c.metric} {c.subject} {c.baseline_mean:.3f} -> {c.candidate_mean:.3f} (adjusted p={c.p_adjusted:.3g}, "
            f"n={c.n_paired})" for c in regressed[:6])
        more = f"; and {len(regressed) - 6} more" if len(regressed) > 6 else ""
        return RetrievalVerdict(REGRESSION, f"retrieval got worse than index {baseline_index_version}: {shown}{more}",
                                comparisons=comparisons, **common)
    first = comparisons[0] if comparisons else None
    what = (f"{first.metric} {first.baseline_mean:.3f} -> {first.candidate_mean:.3f} (adjusted p={first.p_adjusted:.3g})"
            if first else "nothing to compare")
    return RetrievalVerdict(NO_REGRESSION, f"no significant drop against index {baseline_index_version}: {what}",
                            comparisons=comparisons, **common)


def compare_with_baseline(settings: Any, warehouse: Any, run_key: str) -> RetrievalVerdict:
    """Find the run's baseline (the latest successful run on another index version, or on the conf's
    ``baseline_index_version``), compare, and store the verdict."""
    from llmmon.errors import LlmmonError
    from llmmon.warehouse import retrieval_store

    run = retrieval_store.get_run(warehouse, run_key)
    if run is None or run["status"] != "success":
        raise LlmmonError(f"retrieval run {run_key} is {run and run['status']!r}; only a scored run can be compared")
    conf = (run.get("verdict_details") or {}).get("conf") or {}
    base = retrieval_store.find_baseline_run(warehouse, run, index_version=conf.get("baseline_index_version"))
    cfg = settings.retrieval.regression
    metrics = list(cfg.metrics)
    verdict = compare_results(
        retrieval_store.run_results(warehouse, run_key, metrics),
        retrieval_store.run_results(warehouse, base["run_key"], metrics) if base else None, cfg,
        baseline_run_key=base["run_key"] if base else None,
        baseline_index_version=base["index_version"] if base else None,
    )
    details = {"conf": conf, **verdict.to_dict(), "alpha": cfg.alpha, "correction": cfg.correction}
    retrieval_store.set_verdict(warehouse, run_key, baseline_run_key=verdict.baseline_run_key,
                                verdict=verdict.verdict, reason=verdict.reason, details=details)
    return verdict
