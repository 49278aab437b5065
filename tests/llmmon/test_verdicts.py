"""Verdicts: paired pass-rate comparison, error budget, exact McNemar — all against hand-computed values."""

from __future__ import annotations

import pytest

from llmmon.config import Thresholds
from llmmon.verdicts import (
    IMPROVEMENT,
    INCONCLUSIVE,
    NO_BASELINE,
    NO_CHANGE,
    REGRESSION,
    Verdict,
    compare_runs,
    mcnemar_exact_p,
)

T = Thresholds(min_effect=0.05, intent_min_effect=0.10, min_intent_examples=10, error_budget=0.05)


def results(spec: dict[str, list[bool]], errors: int = 0) -> list[dict]:
    out = []
    for intent, passes in spec.items():
        for i, p in enumerate(passes):
            out.append({"example_id": f"{intent}-{i}", "trial": 0, "intent": intent, "passed": p,
                        "error_type": "timeout" if i < errors else None})
    return out


def test_mcnemar_exact_hand_values():
    assert mcnemar_exact_p(0, 0) == 1.0
    # b=0, c=5: two-sided 2 * (1/2)^5 = 0.0625
    assert mcnemar_exact_p(0, 5) == pytest.approx(0.0625)
    # b=1, c=9: 2 * (C(10,0)+C(10,1)) / 2^10 = 2 * 11/1024
    assert mcnemar_exact_p(1, 9) == pytest.approx(22 / 1024)
    assert mcnemar_exact_p(5, 5) == 1.0


def test_intent_regression_detected_on_paired_examples():
    base = results({"refund": [True] * 20, "billing": [True] * 20})
    cand = results({"refund": [True] * 12 + [False] * 8, "billing": [True] * 20})
    v = compare_runs(cand, base, T, baseline_run_key="b")
    assert v.verdict == REGRESSION
    assert v.overall.baseline_pass_rate == 1.0 and v.overall.candidate_pass_rate == pytest.approx(32 / 40)
    refund = next(s for s in v.intents if s.subject == "intent:refund")
    assert refund.drop == pytest.approx(0.4) and refund.regressed
    assert refund.baseline_only_passed == 8 and refund.candidate_only_passed == 0
    assert refund.mcnemar_p == pytest.approx(2 / 2**8)
    assert {s.subject for s in v.regressions} == {"overall", "intent:refund"}


def test_small_intents_are_not_judged_alone():
    base = results({"rare": [True] * 5, "common": [True] * 40})
    cand = results({"rare": [False] * 5, "common": [True] * 40})
    v = compare_runs(cand, base, T)
    rare = next(s for s in v.intents if s.subject == "intent:rare")
    assert rare.drop == 1.0 and not rare.judged and not rare.regressed
    # overall drop 5/45 = 11% > 5% still counts
    assert v.verdict == REGRESSION and [s.subject for s in v.regressions] == ["overall"]


def test_only_common_examples_are_compared():
    base = results({"a": [True] * 20})
    cand = results({"a": [True] * 20}) + [{"example_id": "new", "trial": 0, "intent": "a", "passed": False}]
    v = compare_runs(cand, base, T)
    assert v.verdict == NO_CHANGE and v.overall.n_paired == 20


def test_improvement_no_change_no_baseline():
    base = results({"a": [True] * 10 + [False] * 10})
    assert compare_runs(results({"a": [True] * 20}), base, T).verdict == IMPROVEMENT
    assert compare_runs(results({"a": [True] * 10 + [False] * 10}), base, T).verdict == NO_CHANGE
    assert compare_runs(results({"a": [True] * 20}), None, T).verdict == NO_BASELINE


def test_error_budget_makes_the_verdict_inconclusive_not_regression():
    base = results({"a": [True] * 20})
    cand = results({"a": [False] * 20}, errors=2)  # 2/20 = 10% errors > 5% budget
    v = compare_runs(cand, base, T)
    assert v.verdict == INCONCLUSIVE and "error budget" in v.reason and v.error_share == pytest.approx(0.1)


def test_verdict_round_trips_through_dict():
    base = results({"refund": [True] * 20})
    v = compare_runs(results({"refund": [False] * 20}), base, T, baseline_run_key="k")
    d = v.to_dict()
    assert d["overall"]["drop"] == pytest.approx(1.0)
    again = Verdict.from_dict(d)
    assert again == v
