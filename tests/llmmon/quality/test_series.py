"""The traffic.* and judge.* metric series over traffic_quality and judge_shift, and the shipped rules on them."""

from __future__ import annotations

import datetime as dt

from llmmon.alerts.defaults import merge_rules
from llmmon.alerts.engine import evaluate_rules
from llmmon.alerts.series import read_series
from llmmon.warehouse.quality_store import replace_judge_shift, replace_quality_windows

from .conftest import T0

H = dt.timedelta(hours=1)
SLICE = {"endpoint": "demo", "model_version": "v2", "prompt_template": "faq", "user_segment": "free"}


def quality_row(hour: int, **kw) -> dict:
    counts = {k: 0 for k in ("n_empty", "n_truncated", "n_refusals", "n_structured", "n_json_invalid",
                             "n_schema_invalid", "n_labelled", "n_correct", "n_errors", "ref_n_ok")}
    return {"window_start": T0 + hour * H, "window_end": T0 + (hour + 1) * H, **SLICE, "n": 100, "n_ok": 100,
            **counts, "sparse": False, "sparse_labels": True, "computed_at": T0, **kw}


def shift_row(hour: int, **kw) -> dict:
    return {"window_start": T0 + hour * H, "window_end": T0 + (hour + 1) * H, "endpoint": "demo",
            "stratum": "faq|free", "rubric": "helpfulness", "reference_start": T0 - dt.timedelta(days=7),
            "rubric_version": "r1", "test": "mann_whitney", "n_ref": 300, "n_cur": 40, "mean_ref": 4.2,
            "mean_cur": 3.1, "effect": -1.1, "p_value": 1e-6, "p_adjusted": 1e-5, "tested": True, "shifted": True,
            "computed_at": T0, **kw}


def test_traffic_series_points(warehouse):
    replace_quality_windows(warehouse, [T0], [quality_row(0, refusal_rate=0.02, error_rate=0.01, accuracy=0.9,
                                                          n_labelled=50, sparse_labels=False)])
    replace_quality_windows(warehouse, [T0 + H], [quality_row(1, refusal_rate=0.3, sparse=True, accuracy=0.5)])
    series = read_series(warehouse, "traffic.refusal_rate", until=T0 + 2 * H)
    (points,) = series.values()
    assert points[0].series_labels == SLICE
    assert [(p.at, p.point_id, p.value) for p in points] == [
        (T0 + H, T0.isoformat(), 0.02), (T0 + 2 * H, (T0 + H).isoformat(), None)]  # sparse: no data
    (acc,) = read_series(warehouse, "traffic.accuracy", until=T0 + 2 * H).values()
    assert [p.value for p in acc] == [0.9, None]  # gated by the labelled count
    (err,) = read_series(warehouse, "traffic.error_rate", until=T0 + H).values()
    assert [p.value for p in err] == [0.01]  # a window is seen once it has ended


def test_judge_series_points(warehouse):
    replace_judge_shift(warehouse, T0, [shift_row(0)])
    replace_judge_shift(warehouse, T0 + H, [shift_row(1, tested=False, shifted=False, p_value=None,
                                                      p_adjusted=None, mean_cur=2.0)])
    replace_judge_shift(warehouse, T0 + 2 * H, [shift_row(2, shifted=False, mean_cur=4.0)])
    (shift,) = read_series(warehouse, "judge.score_shift", until=T0 + 3 * H).values()
    assert shift[0].series_labels == {"endpoint": "demo", "stratum": "faq|free", "rubric": "helpfulness"}
    assert [p.value for p in shift] == [1.0, None, 0.0]
    (mean,) = read_series(warehouse, "judge.mean_score", until=T0 + 3 * H).values()
    assert [p.value for p in mean] == [3.1, 2.0, 4.0]


def test_shipped_rules_fire_on_the_second_window(warehouse):
    rules = [r for r in merge_rules([]) if r.name in ("judge_score_shift", "traffic_refusal_jump")]
    assert [(r.metric, r.for_) for r in rules] == [("judge.score_shift", 2), ("traffic.refusal_rate_increase", 2)]

    def window(hour: int, shifted: bool, increase: float) -> dict:
        replace_judge_shift(warehouse, T0 + hour * H, [shift_row(hour, shifted=shifted)])
        replace_quality_windows(warehouse, [T0 + hour * H], [quality_row(hour, refusal_rate_increase=increase)])
        report = evaluate_rules(warehouse, rules, now=T0 + (hour + 1) * H)
        return {(t["from_state"], t["to_state"]) for t in report.transitions}

    assert window(0, shifted=True, increase=0.10) == {("inactive", "pending")}
    states = {a["rule"]: a["state"] for a in warehouse.open_alerts()}
    assert states == {"judge_score_shift": "pending", "traffic_refusal_jump": "pending"}
    assert window(1, shifted=True, increase=0.08) == {("pending", "firing")}
    states = {a["rule"]: a["state"] for a in warehouse.open_alerts()}
    assert states == {"judge_score_shift": "firing", "traffic_refusal_jump": "firing"}
    # hysteresis: 0.03 is below the condition but above the resolve level, so the refusal alert holds
    assert window(2, shifted=False, increase=0.03) == {("firing", "resolved")}
    assert {a["rule"]: a["state"] for a in warehouse.open_alerts()} == {"traffic_refusal_jump": "firing"}
