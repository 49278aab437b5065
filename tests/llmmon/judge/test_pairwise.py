"""Pairwise judging: both orders are asked, position-inconsistent pairs count as ties, the rate is reported and stored."""

from __future__ import annotations

import pytest

from llmmon.errors import ConfigError
from llmmon.judge.pairwise import SpanPair, combine, judge_pairs, run_pairwise
from llmmon.judge.prompt import PairItem
from llmmon.warehouse.judge_store import judge_run, judge_scores_of
from tests.llmmon.judge.conftest import W0, W1, ids


@pytest.mark.parametrize(
    ("baseline_first", "candidate_first", "expected"),
    [
        ("B", "A", ("candidate", True)),   # candidate wins in both orders
        ("A", "B", ("baseline", True)),    # baseline wins in both orders
        ("tie", "tie", ("tie", True)),
        ("A", "A", ("tie", False)),        # "whatever is shown first": position bias, a tie
        ("B", "B", ("tie", False)),
        ("B", "tie", ("tie", False)),
        ("tie", "B", ("tie", False)),
    ],
)
def test_combine_both_orders(baseline_first, candidate_first, expected):
    assert combine(baseline_first, candidate_first) == expected


QUESTION = "How much does express shipping cost?"  # golden qa: the persona knows "$14.99"


def _pairs() -> list[PairItem]:
    return [
        PairItem("better", QUESTION, baseline="$5.99", candidate="$14.99"),     # the candidate is right
        PairItem("worse", QUESTION, baseline="$14.99", candidate="$5.99"),      # the candidate is wrong
        PairItem("same", QUESTION, baseline="$14.99", candidate="14.99 USD"),  # equally right
        PairItem("bad", QUESTION, baseline="$14.99", candidate="[[judge:garbage]]"),
    ]


def test_judge_pairs_asks_both_orders_and_counts_inconsistent_pairs_as_ties(make_settings, demo_server):
    settings = make_settings("sqlite://")
    before = demo_server.stats()["by_model"].get("llmmon-demo-judge", 0)
    report = judge_pairs(settings, _pairs())
    by_key = {o.key: o for o in report.outcomes}
    assert (by_key["better"].winner, by_key["better"].consistent) == ("candidate", True)
    assert (by_key["better"].baseline_first, by_key["better"].candidate_first) == ("B", "A")
    assert (by_key["worse"].winner, by_key["worse"].consistent) == ("baseline", True)
    # Equal answers: the persona prefers whatever is shown as A, so the two orders disagree -> tie.
    assert (by_key["same"].baseline_first, by_key["same"].candidate_first) == ("A", "A")
    assert (by_key["same"].winner, by_key["same"].consistent, by_key["same"].score) == ("tie", False, 0.5)
    assert by_key["bad"].winner is None and by_key["bad"].error_type == "unparsable"
    # 3 pairs judged in both orders, 1 of them inconsistent.
    assert report.position_inconsistency_rate == pytest.approx(1 / 3)
    assert report.candidate_win_rate == pytest.approx((1 + 0.5) / 3)
    assert report.summary()["ties"] == 1 and report.summary()["errors"] == 1
    # Two calls per pair; the garbage pair's two orders are retried once each.
    assert demo_server.stats()["by_model"]["llmmon-demo-judge"] - before == 2 * 4 + 2
    assert by_key["bad"].calls == 4
    assert by_key["better"].calls == 2 and by_key["better"].cost_usd > 0


def test_run_pairwise_stores_the_run_with_its_inconsistency_rate(warehouse, make_settings):
    settings = make_settings(warehouse.url)
    pairs = [SpanPair(*ids(p.key), item=p, prompt_template="qa", user_segment="free", endpoint="demo",
                      model_version="v2") for p in _pairs()[:3]]
    summary = run_pairwise(settings, warehouse, pairs, judge_run_key="shadow/1", window_start=W0, window_end=W1)
    again = run_pairwise(settings, warehouse, pairs, judge_run_key="shadow/1", window_start=W0, window_end=W1)
    assert summary["position_inconsistency_rate"] == again["position_inconsistency_rate"] == pytest.approx(1 / 3)
    run = judge_run(warehouse, "shadow/1")
    assert (run["kind"], run["status"], run["judged"], run["calls"]) == ("pairwise", "success", 3, 6)
    assert run["position_inconsistency_rate"] == pytest.approx(1 / 3)
    rows = {r["span_id"]: r for r in judge_scores_of(warehouse, "shadow/1")}
    assert len(rows) == 3  # the rerun overwrote, it did not add
    assert rows[ids("better")[1]]["score"] == 1.0 and rows[ids("worse")[1]]["score"] == 0.0
    same = rows[ids("same")[1]]
    assert (same["score"], same["kind"], same["details"]["consistent"]) == (0.5, "pairwise", False)


def test_pairwise_needs_a_pairwise_rubric(make_settings):
    with pytest.raises(ConfigError, match="pairwise judging needs a pairwise rubric"):
        judge_pairs(make_settings("sqlite://"), _pairs(), rubric="helpfulness")
