"""The retrieval verdict on hand-made per-query results, and the alert series it feeds."""

from __future__ import annotations

import datetime as dt

import pytest

from llmmon.retrieval.compare import compare_results
from llmmon.retrieval_config import RegressionConfig

CFG = RegressionConfig(metrics=["recall@10"], min_queries=20, min_intent_queries=8)


def _rows(values: list[float], intents: list[str] | None = None, metric: str = "recall@10") -> list[dict]:
    intents = intents or ["a" if i % 2 else "b" for i in range(len(values))]
    return [{"query_id": f"q{i}", "intent": intents[i], "metric": metric, "value": v} for i, v in enumerate(values)]


def test_a_consistent_drop_is_a_regression_with_its_statistics():
    base = _rows([1.0] * 40)
    cand = _rows([0.5 if i % 4 == 0 else 1.0 for i in range(40)])  # 10 of 40 queries lose half their recall
    v = compare_results(cand, base, CFG, baseline_run_key="b", baseline_index_version="v1")
    assert v.verdict == "regression" and v.baseline_run_key == "b"
    overall = next(c for c in v.comparisons if c.subject == "overall")
    assert (overall.n_paired, overall.worse, overall.better) == (40, 10, 0)
    assert overall.drop == pytest.approx(0.125) and overall.p_adjusted < 0.01
    lo, hi = overall.diff_ci
    assert lo < hi < 0
    assert "recall@10 overall 1.000 -> 0.875" in v.reason


def test_a_drop_below_the_effect_floor_or_noise_is_not():
    base = _rows([1.0] * 40)
    tiny = _rows([0.9 if i == 0 else 1.0 for i in range(40)])  # significant? no: one query
    assert compare_results(tiny, base, CFG).verdict == "no_regression"
    noisy = _rows([0.0 if i % 4 < 2 else 1.0 for i in range(40)])
    flipped = _rows([1.0 if i % 4 < 2 else 0.0 for i in range(40)])
    v = compare_results(flipped, noisy, CFG)
    assert v.verdict == "no_regression"  # as many queries got better as got worse, in every intent
    assert all(not c.regressed for c in v.comparisons)


def test_too_few_queries_is_inconclusive_and_no_baseline_is_said():
    assert compare_results(_rows([0.0] * 10), _rows([1.0] * 10), CFG).verdict == "inconclusive"
    assert compare_results(_rows([1.0] * 40), None, CFG).verdict == "no_baseline"


def test_only_queries_answered_in_both_runs_are_paired():
    base = _rows([1.0] * 40)
    cand = [r for r in _rows([1.0] * 40) if r["query_id"] not in {"q1", "q2"}]
    v = compare_results(cand, base, CFG)
    assert v.n_paired == 38 and v.verdict == "no_regression"


def test_series_points_of_compared_runs(warehouse):
    from llmmon.alerts.series import SERIES
    from llmmon.warehouse import retrieval_store

    t0 = dt.datetime(2026, 11, 28, 9, tzinfo=dt.UTC)
    for i, (version, verdict, regressed) in enumerate([("v1", "no_baseline", None), ("v2", "regression", True),
                                                       ("v2", "inconclusive", None)]):
        key = f"rag_eval/r{i}"
        retrieval_store.start_run(warehouse, {"run_key": key, "retriever": "demo", "index_version": version,
                                              "suite": "s", "suite_version": "x", "stage": "deploy",
                                              "started_at": t0 + dt.timedelta(hours=i)})
        retrieval_store.write_run_results(
            warehouse, key, queries=[], results=[{"query_id": "q", "metric": "recall@10", "intent": "a", "value": 0.5}],
            summaries=[{"dimension": "overall", "value": "all", "metric": "recall@10", "n": 1, "mean": 0.5}],
            run_update={"status": "success", "finished_at": t0 + dt.timedelta(hours=i, minutes=5)})
        comps = [] if regressed is None else [{"subject": "overall", "metric": "recall@10", "regressed": True,
                                               "baseline_mean": 1.0, "candidate_mean": 0.5, "p_adjusted": 0.001}]
        retrieval_store.set_verdict(warehouse, key, baseline_run_key=None, verdict=verdict, reason="r",
                                    details={"comparisons": comps})
    until = t0 + dt.timedelta(days=1)
    points = SERIES["retrieval.regression"].query(warehouse, until)
    assert [(p.point_id, p.series_labels["subject"], p.value) for p in points] == [
        ("rag_eval/r0", "overall", None), ("rag_eval/r1", "overall", 1.0), ("rag_eval/r2", "overall", None)]
    assert points[1].details["regressed"]["recall@10"]["candidate"] == 0.5
    means = SERIES["retrieval.metric"].query(warehouse, until)
    assert [(p.series_labels["metric"], p.value) for p in means] == [("recall@10", 0.5)] * 3
    assert SERIES["retrieval.metric"].query(warehouse, t0) == []  # nothing had finished yet
