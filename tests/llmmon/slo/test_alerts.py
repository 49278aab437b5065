"""The two-window rule and burn rates: shipped rules over slo.* series on a real warehouse, and hand-computed burns."""

from __future__ import annotations

import datetime as dt

import pytest

from llmmon.alerts.engine import evaluate_rules
from llmmon.alerts.series import SERIES, read_series
from llmmon.slo.burn import FAST, SLOW, burn_points, error_budgets
from llmmon.slo.rules import RULES
from llmmon.slo.windows import aggregate_windows
from llmmon.slo_config import SloConfig
from llmmon.warehouse.slo_store import replace_windows

from .conftest import T0, arrow, span

M5 = dt.timedelta(minutes=5)
S = dt.timedelta(seconds=1)
RULE = {r.name: r for r in RULES}


def _write(warehouse, spans, config=None):
    table = aggregate_windows(arrow(spans), config or SloConfig(slices=()))
    replace_windows(warehouse, set(table.column("window_start").to_pylist()), table)


def _window(i: int, n: int, ttft: float, **kw):
    return [span(T0 + i * M5 + k * S, ttft_s=ttft, **kw) for k in range(n)]


def _states(report):
    return [(e["to_state"], e["point_id"]) for e in report.transitions]


def test_ttft_breach_fires_after_two_consecutive_windows_and_sparse_windows_are_no_data(warehouse):
    # Windows: 0 fast, 1 slow, 2 fast (one breached window alone), 3 slow, 4 slow, 5 sparse slow, 6 fast.
    spans = (_window(0, 25, 0.5) + _window(1, 25, 2.0) + _window(2, 25, 0.5) + _window(3, 25, 2.0)
             + _window(4, 25, 2.5) + _window(5, 5, 9.0) + _window(6, 25, 0.5))
    _write(warehouse, spans)
    rule = [RULE["slo_window_ttft_p95"]]
    iso = [(T0 + i * M5).isoformat() for i in range(7)]

    report = evaluate_rules(warehouse, rule, now=T0 + 3 * M5)  # windows 0..2 have ended
    assert _states(report) == [("pending", iso[1]), ("inactive", iso[2])]  # one breached window never fires
    report = evaluate_rules(warehouse, rule, now=T0 + 4 * M5)
    assert _states(report) == [("pending", iso[3])]
    report = evaluate_rules(warehouse, rule, now=T0 + 5 * M5)
    assert _states(report) == [("firing", iso[4])]
    assert report.transitions[0]["value"] == pytest.approx(2.5)
    report = evaluate_rules(warehouse, rule, now=T0 + 6 * M5)  # 5 requests: no data, the alert holds
    assert _states(report) == []
    report = evaluate_rules(warehouse, rule, now=T0 + 7 * M5)
    assert _states(report) == [("resolved", iso[6])]
    # Evaluating again changes nothing.
    assert _states(evaluate_rules(warehouse, rule, now=T0 + 7 * M5)) == []


def test_window_series_labels_details_and_gates(warehouse):
    spans = _window(0, 25, 0.5) + _window(1, 3, 0.5) + [span(T0 + 2 * M5 + k * S, model="mystery")
                                                         for k in range(25)]
    _write(warehouse, spans, SloConfig(slices=("replica",)))
    series = read_series(warehouse, "slo.ttft_p95_s", until=T0 + 3 * M5)
    rollup = series[(("dimension", "all"), ("endpoint", "demo"), ("model", "llmmon-demo-v1"), ("value", ""))]
    assert [(p.point_id, p.value) for p in rollup] == [(T0.isoformat(), 0.5), ((T0 + M5).isoformat(), None)]
    assert rollup[0].details["n_requests"] == 25 and rollup[0].at == T0 + M5
    assert (("dimension", "replica"), ("endpoint", "demo"), ("model", "llmmon-demo-v1"), ("value", "r-0")) in series
    cost = read_series(warehouse, "slo.cost_per_1k_usd", until=T0 + 3 * M5)
    mystery = cost[(("dimension", "all"), ("endpoint", "demo"), ("model", "mystery"), ("value", ""))]
    assert [p.value for p in mystery] == [None]  # unpriced: no data, never $0
    assert mystery[0].details["n_cost_unknown"] == 25
    assert {"slo.ttft_p95_s", "slo.latency_p99_s", "slo.error_rate", "slo.cost_per_1k_usd", "slo.fast_burn",
            "slo.slow_burn"} <= set(SERIES)


def _rollup(i: int, n: int, bad: int, *, sparse: bool = False) -> dict:
    return {"window_start": T0 + i * M5, "window_end": T0 + (i + 1) * M5, "model": "m", "endpoint": "e",
            "dimension": "all", "n_requests": n, "n_errors": bad, "n_ttft": n, "n_ttft_slow": 0, "n_latency": n,
            "n_latency_slow": 0, "ttft_slow_s": 1.5, "latency_slow_s": 8.0, "error_rate_objective": 0.005,
            "sparse": sparse}


def test_multi_window_burn_rates_by_hand():
    # An hour of 100 requests per 5-minute window; errors: none for 55 minutes, then 20 in the last window.
    rows = [_rollup(i, 100, 0) for i in range(11)] + [_rollup(11, 100, 20)]
    fast = {p["window_start"]: p for p in burn_points(rows, FAST) if p["slo"] == "errors"}
    last = fast[T0 + 11 * M5]
    # long: 20 / 1200 / 0.005 = 3.33; short: 20 / 100 / 0.005 = 40; the alert value is the smaller one
    assert last["long_burn"] == pytest.approx(20 / 1200 / 0.005)
    assert last["short_burn"] == pytest.approx(40.0)
    assert last["value"] == pytest.approx(3.3333, rel=1e-4) and last["value"] < FAST.factor
    assert fast[T0 + 10 * M5]["value"] == 0.0
    # The same 20% error rate sustained for the whole hour: 40x on both windows, the fast burn alert holds.
    rows = [_rollup(i, 100, 20) for i in range(12)]
    p = [p for p in burn_points(rows, FAST) if p["slo"] == "errors"][-1]
    assert (p["long_bad"], p["long_total"], p["short_bad"], p["short_total"]) == (240, 1200, 20, 100)
    assert p["value"] == pytest.approx(40.0) and p["value"] > FAST.factor
    # Slow burn: 6 h and 30 min windows over the same hour (the only data): 40x; TTFT and latency: 0.
    slow = [p for p in burn_points(rows, SLOW) if p["window_start"] == T0 + 11 * M5]
    assert {p["slo"]: p["value"] for p in slow} == {"errors": pytest.approx(40.0), "ttft": 0.0, "latency": 0.0}
    assert [p["short_total"] for p in slow if p["slo"] == "errors"] == [600]
    # A sparse short window is no data.
    rows[-1]["sparse"] = True
    assert [p for p in burn_points(rows, FAST) if p["slo"] == "errors"][-1]["value"] is None
    # A disabled objective (null threshold when computed) has no burn.
    rows = [{**_rollup(0, 100, 0), "ttft_slow_s": None}]
    assert {p["slo"] for p in burn_points(rows, FAST)} == {"errors", "latency"}


def test_error_budget_spent():
    rows = [_rollup(i, 100, 20) for i in range(12)]
    (errors,) = [b for b in error_budgets(rows, start=T0, end=T0 + dt.timedelta(hours=1),
                                          period=dt.timedelta(days=30)) if b["slo"] == "errors"]
    assert (errors["bad"], errors["total"], errors["budget"]) == (240, 1200, 0.005)
    assert errors["burn_rate"] == pytest.approx(40.0)
    assert errors["budget_spent"] == pytest.approx(40.0 / 720)  # an hour at 40x: 5.6% of a 30-day budget


def test_fast_burn_fires_through_the_engine(warehouse):
    # 12 windows of 20 requests; in the last two, 6 of 20 fail (30%: 60x the 0.5% budget on 5 minutes,
    # and 12 / 240 = 5% = 10x on the hour — then 18 / 260 after the next).
    spans = []
    for i in range(12):
        bad = 6 if i >= 10 else 0
        spans += [span(T0 + i * M5 + k * S, status="error" if k < bad else "ok") for k in range(20)]
    spans += [span(T0 + 12 * M5 + k * S, status="error" if k < 12 else "ok") for k in range(20)]
    _write(warehouse, spans)
    rule = [RULE["slo_fast_burn"]]
    report = evaluate_rules(warehouse, rule, now=T0 + 12 * M5)
    assert _states(report) == []  # 12 bad of 240 on the hour: 10x < 14.4
    report = evaluate_rules(warehouse, rule, now=T0 + 13 * M5)
    # the hour [T0+5m, T0+65m): 6 + 6 + 12 = 24 bad of 240 = 20x; the last 5 minutes: 12 / 20 = 120x
    assert _states(report) == [("firing", (T0 + 12 * M5).isoformat())]
    assert report.transitions[0]["value"] == pytest.approx(24 / 240 / 0.005)


def test_series_read_the_week_before_the_evaluation(warehouse):
    _write(warehouse, _window(0, 25, 2.0) + _window(1, 25, 2.0))
    week = dt.timedelta(days=7)
    assert len(read_series(warehouse, "slo.ttft_p95_s", until=T0 + 2 * M5)) == 1
    (points,) = read_series(warehouse, "slo.ttft_p95_s", until=T0 + M5 + week).values()
    assert [p.point_id for p in points] == [(T0 + M5).isoformat()]  # the window ending a week before is out
    burn = read_series(warehouse, "slo.fast_burn", until=T0 + M5 + week)
    assert {p.point_id for pts in burn.values() for p in pts} == {(T0 + M5).isoformat()}
