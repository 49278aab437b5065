"""Metric series over a real warehouse (SQLite and PostgreSQL) return exactly the hand-built points."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from llmmon.alerts.series import SERIES, Point, label_key, matches, read_series, slice_regressed
from llmmon.config import Thresholds
from llmmon.errors import ConfigError
from llmmon.verdicts import compare_runs
from llmmon.warehouse.schema import eval_runs, eval_summaries
from llmmon.warehouse.upsert import normalize_rows

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def insert(wh, table, *rows: dict) -> None:
    with wh.engine.begin() as conn:
        conn.execute(sa.insert(table), normalize_rows(table, rows))  # every row binds the same columns


def run(n: int, status: str = "success", **kw) -> dict:
    return {"run_key": f"golden_eval/r{n}", "status": status, "endpoint": "demo", "suite": "cs",
            "model_version": "v1", "stage": "daily", "finished_at": at(n) if status != "running" else None, **kw}


def _slice(subject, base, cand, threshold=0.05, **kw):
    return {"subject": subject, "n_paired": 40, "baseline_pass_rate": base, "candidate_pass_rate": cand,
            "threshold": threshold, "judged": True, "drop": base - cand, **kw}


REGRESSION = {  # as Verdict.to_dict() stores it; "refund" carries its own flag, the others are judged by threshold
    "verdict": "regression", "reason": "...", "baseline_run_key": "golden_eval/r1",
    "overall": _slice("overall", 0.9, 0.8),
    "intents": [_slice("intent:billing", 0.8, 0.8), _slice("intent:refund", 0.9, 0.7, regressed=True, p_value=0.01),
                _slice("intent:tiny", 1.0, 0.0, judged=False)],
}


@pytest.fixture()
def runs(warehouse):
    insert(warehouse, eval_runs,
           run(1, verdict="no_baseline", verdict_details={"verdict": "no_baseline", "overall": None, "intents": []},
               n_calls=200, n_errors=1, ttft_p95_s=0.9, latency_p99_s=3.0),
           run(2, verdict="regression", verdict_details=REGRESSION, baseline_run_key="golden_eval/r1",
               model_version="v2", n_calls=200, n_errors=0, ttft_p95_s=1.6, latency_p99_s=9.5),
           run(3, status="running"),
           run(4, status="failed", verdict="regression", verdict_details=REGRESSION, n_calls=10, n_errors=10),
           run(5, verdict="inconclusive", verdict_details={"verdict": "inconclusive", "overall": None}, n_calls=0,
               n_errors=0, endpoint="prod"),
           run(6, n_calls=100, n_errors=3),  # no verdict yet
           run(9, verdict="no_significant_change", verdict_details=REGRESSION, n_calls=100, n_errors=50))  # after `until`
    insert(warehouse, eval_summaries,
           {"run_key": "golden_eval/r1", "dimension": "overall", "value": "all", "n": 200, "n_passed": 180,
            "pass_rate": 0.9},
           {"run_key": "golden_eval/r1", "dimension": "intent", "value": "refund", "n": 20, "n_passed": 16,
            "pass_rate": 0.8},
           {"run_key": "golden_eval/r1", "dimension": "task_type", "value": "qa", "n": 200, "n_passed": 180,
            "pass_rate": 0.9},
           {"run_key": "golden_eval/r3", "dimension": "overall", "value": "all", "n": 1, "pass_rate": 1.0},
           {"run_key": "golden_eval/r9", "dimension": "overall", "value": "all", "n": 1, "pass_rate": 1.0})
    return warehouse


def points(wh, metric: str, until: dt.datetime | None = None) -> list[tuple]:
    return [(p.series_labels, p.at, p.point_id, p.value) for p in SERIES[metric].query(wh, until or at(8))]


def test_golden_regression_one_point_per_judged_run_and_subject(runs):
    demo = {"endpoint": "demo", "suite": "cs"}
    assert points(runs, "golden.regression") == [
        ({**demo, "subject": "overall"}, at(1), "golden_eval/r1", None),  # no baseline: no data
        ({**demo, "subject": "overall"}, at(2), "golden_eval/r2", 1.0),  # drop 0.10 > 0.05
        ({**demo, "subject": "intent:billing"}, at(2), "golden_eval/r2", 0.0),
        ({**demo, "subject": "intent:refund"}, at(2), "golden_eval/r2", 1.0),
        ({**demo, "subject": "intent:tiny"}, at(2), "golden_eval/r2", None),  # not judged: too few examples
        ({"endpoint": "prod", "suite": "cs", "subject": "overall"}, at(5), "golden_eval/r5", None),
    ]
    refund = [p for p in SERIES["golden.regression"].query(runs, at(8)) if p.series_labels["subject"] ==
              "intent:refund"][0]
    assert refund.details == {"run_key": "golden_eval/r2", "model_version": "v2", "verdict": "regression",
                              "baseline_run_key": "golden_eval/r1", "n_paired": 40, "baseline_pass_rate": 0.9,
                              "candidate_pass_rate": 0.7, "threshold": 0.05, "judged": True,
                              "drop": pytest.approx(0.2), "regressed": True, "p_value": 0.01}


def test_golden_pass_rate_overall_and_per_intent(runs):
    demo = {"endpoint": "demo", "suite": "cs"}
    assert points(runs, "golden.pass_rate") == [
        ({**demo, "subject": "intent:refund"}, at(1), "golden_eval/r1", 0.8),
        ({**demo, "subject": "overall"}, at(1), "golden_eval/r1", 0.9),
    ]


def test_eval_series_per_run(runs):
    v1 = {"endpoint": "demo", "suite": "cs", "model_version": "v1"}
    v2 = {**v1, "model_version": "v2"}
    prod = {**v1, "endpoint": "prod"}
    assert points(runs, "eval.error_share") == [
        (v1, at(1), "golden_eval/r1", 0.005), (v2, at(2), "golden_eval/r2", 0.0),
        (prod, at(5), "golden_eval/r5", None),  # no calls: no data
        (v1, at(6), "golden_eval/r6", 0.03)]
    assert points(runs, "eval.ttft_p95_s") == [
        (v1, at(1), "golden_eval/r1", 0.9), (v2, at(2), "golden_eval/r2", 1.6),
        (prod, at(5), "golden_eval/r5", None), (v1, at(6), "golden_eval/r6", None)]
    assert [p[3] for p in points(runs, "eval.latency_p99_s")] == [3.0, 9.5, None, None]
    [first] = SERIES["eval.error_share"].query(runs, at(1))
    assert first.details == {"run_key": "golden_eval/r1", "stage": "daily", "n_calls": 200, "n_errors": 1}


def test_until_is_inclusive_and_read_series_groups_by_labels(runs):
    assert [p[2] for p in points(runs, "eval.error_share", at(2))] == ["golden_eval/r1", "golden_eval/r2"]
    grouped = read_series(runs, "eval.error_share", until=at(9))
    v1 = label_key({"endpoint": "demo", "suite": "cs", "model_version": "v1"})
    assert [p.point_id for p in grouped[v1]] == ["golden_eval/r1", "golden_eval/r6", "golden_eval/r9"]
    assert len(grouped) == 3
    with pytest.raises(ConfigError, match=r"unknown metric series 'nope'; known: .*\beval\.error_share\b"):
        read_series(runs, "nope", until=at(9))


def test_regression_series_agrees_with_a_real_verdict(warehouse):
    def results(passed_refund: int, passed_other: int) -> list[dict]:
        out = [{"example_id": f"r{i:02d}", "trial": 0, "intent": "refund", "passed": i < passed_refund,
                "error_type": None} for i in range(40)]
        return out + [{"example_id": f"o{i:02d}", "trial": 0, "intent": "other", "passed": i < passed_other,
                       "error_type": None} for i in range(40)]

    verdict = compare_runs(results(10, 38), results(38, 38), Thresholds(), baseline_run_key="golden_eval/r1")
    insert(warehouse, eval_runs, run(1), run(2, verdict=verdict.verdict, verdict_details=verdict.to_dict()))
    flagged = {p.series_labels["subject"]: p.value for p in SERIES["golden.regression"].query(warehouse, at(3))}
    assert flagged == {"overall": 1.0, "intent:refund": 1.0, "intent:other": 0.0}
    assert {s.subject for s in verdict.regressions} == {"overall", "intent:refund"}


def test_slice_regressed_reads_the_flag_else_the_threshold():
    assert slice_regressed({"regressed": False, "baseline_pass_rate": 1.0, "candidate_pass_rate": 0.0,
                            "threshold": 0.1}) is False
    assert slice_regressed({"baseline_pass_rate": 0.9, "candidate_pass_rate": 0.87, "threshold": 0.05}) is False
    assert slice_regressed({"baseline_pass_rate": 0.9, "candidate_pass_rate": 0.84, "threshold": 0.05}) is True
    assert slice_regressed({"regressed": True, "judged": False}) is None
    assert slice_regressed({"subject": "overall"}) is None


def test_where_matches_values_and_patterns():
    labels = {"endpoint": "prod-eu", "subject": "intent:refund"}
    assert matches(labels, {})
    assert matches(labels, {"endpoint": "prod-eu"})
    assert matches(labels, {"endpoint": "prod-*", "subject": "intent:*"})
    assert not matches(labels, {"endpoint": "prod"})
    assert not matches(labels, {"model_version": "*"})


def test_every_series_declares_its_labels():
    for name, spec in SERIES.items():
        assert spec.name == name and spec.labels and spec.description and spec.unit
    assert Point({"a": "b"}, T0, "p", None).details == {}
