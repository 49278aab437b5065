"""Verdicts: paired tests per slice, corrections across intents, effect floor, error budget, trials, storage.

Every expected number is computed by hand in the comment beside it (McNemar: 2 * P(X <= min(b, c)), X ~ Bin(b+c, 1/2)).
"""

from __future__ import annotations

import json
import math

import pytest

from llmmon.config import Thresholds
from llmmon.verdicts import (
    FLAKY_LIST_CAP,
    IMPROVEMENT,
    INCONCLUSIVE,
    NO_BASELINE,
    NO_SIGNIFICANT_CHANGE,
    REGRESSION,
    VERDICTS,
    Verdict,
    compare_runs,
)

T = Thresholds(min_effect=0.05, intent_min_effect=0.10, min_intent_examples=10, error_budget=0.05)


def results(spec: dict[str, list], errors: tuple[str, ...] = ()) -> list[dict]:
    """Rows per intent; each entry is a bool (one trial) or a list of bools (one per trial). ``errors``: ids."""
    out = []
    for intent, outcomes in spec.items():
        for i, o in enumerate(outcomes):
            eid = f"{intent}-{i}"
            for trial, passed in enumerate(o if isinstance(o, list) else [o]):
                err = "timeout" if eid in errors and trial == 0 else None
                out.append({"example_id": eid, "trial": trial, "intent": intent, "passed": passed and not err,
                            "score": float(passed and not err), "error_type": err})
    return out


def paired(b: int, c: int, both_pass: int, both_fail: int = 0) -> tuple[list[bool], list[bool]]:
    """Baseline and candidate outcomes with b examples passing only in the baseline and c only in the candidate."""
    base = [True] * b + [False] * c + [True] * both_pass + [False] * both_fail
    cand = [False] * b + [True] * c + [True] * both_pass + [False] * both_fail
    return base, cand


def slice_(v: Verdict, subject: str):
    return next(s for s in [v.overall, *v.intents] if s.subject == subject)


def test_intent_regression_with_holm_correction():
    base = results({"refund": [True] * 20, "billing": [True] * 20})
    cand = results({"refund": [True] * 12 + [False] * 8, "billing": [True] * 20})
    v = compare_runs(cand, base, T, baseline_run_key="b")
    assert v.verdict == REGRESSION and v.baseline_run_key == "b"
    o = v.overall
    assert (o.n_paired, o.b, o.c, o.test) == (40, 8, 0, "mcnemar_exact")
    assert o.baseline_pass_rate == 1.0 and o.candidate_pass_rate == pytest.approx(32 / 40)
    assert o.p_value == pytest.approx(2 / 2**8) and o.p_adjusted == o.p_value and o.correction == "none"
    assert o.discordance == pytest.approx(8 / 40)
    # Connor MDE at n=40, psi=0.2: (1.96 sqrt(8) + 0.8416 sqrt(0.2 (40 + 0.7083 - 3.8415))) / 40.7083 = 0.19232
    assert o.mde == pytest.approx(0.19232, abs=1e-5)
    refund, billing = slice_(v, "intent:refund"), slice_(v, "intent:billing")
    assert refund.drop == pytest.approx(0.4) and (refund.b, refund.c) == (8, 0)
    # Holm over two intents: 2/256 x 2 = 1/64; billing p = 1 stays 1
    assert refund.p_value == pytest.approx(2 / 2**8) and refund.p_adjusted == pytest.approx(1 / 64)
    assert billing.p_value == 1.0 and billing.p_adjusted == 1.0 and not billing.regressed
    assert refund.correction == "holm" and refund.min_effect == 0.10 and refund.threshold == 0.10
    assert {s.subject for s in v.regressions} == {"overall", "intent:refund"}
    # the intervals are of candidate minus baseline: a drop lies below zero and covers the observed -0.2
    lo, hi = o.pass_rate_diff_ci
    assert -0.4 <= lo < -0.2 < hi <= 0.0 and o.score_diff_ci == o.pass_rate_diff_ci  # score == passed here
    assert "overall 100.0% -> 80.0% (p=0.00781" in v.reason and "intent:refund" in v.reason


def test_holm_and_bh_adjust_the_intents_differently():
    # three intents of 20, base all pass; b = 8, 7, 6 -> p = 2/2^8, 2/2^7, 2/2^6 = 0.0078125, 0.015625, 0.03125
    base = results({"a": [True] * 20, "b": [True] * 20, "c": [True] * 20})
    cand = results({"a": [False] * 8 + [True] * 12, "b": [False] * 7 + [True] * 13, "c": [False] * 6 + [True] * 14})
    holm = compare_runs(cand, base, T)
    bh = compare_runs(cand, base, T.model_copy(update={"correction": "bh"}))
    # Holm: 0.0078 x3 = 0.0234; 0.0156 x2 = 0.03125; 0.03125 x1 -> monotone 0.03125
    assert [s.p_adjusted for s in holm.intents] == pytest.approx([0.0234375, 0.03125, 0.03125])
    # BH: 0.0078 x3/1 = 0.0234; 0.0156 x3/2 = 0.0234; 0.03125 x3/3 = 0.03125
    assert [s.p_adjusted for s in bh.intents] == pytest.approx([0.0234375, 0.0234375, 0.03125])
    assert all(s.correction == "bh" for s in bh.intents) and bh.correction == "bh"
    assert len(holm.regressions) == len(bh.regressions) == 4


def test_a_significant_drop_below_the_effect_floor_is_no_regression():
    # 2000 examples, b=60, c=20: p ~ 1e-5 but the drop is 40/2000 = 2 points < min_effect 5 points
    base, cand = paired(60, 20, 1900, 20)
    v = compare_runs(results({"a": cand}), results({"a": base}), T)
    assert v.overall.p_value < 1e-4 and v.overall.drop == pytest.approx(0.02)
    assert v.verdict == NO_SIGNIFICANT_CHANGE and not v.regressions
    # ...and the same drop counts when the floor allows it
    assert compare_runs(results({"a": cand}), results({"a": base}),
                        T.model_copy(update={"min_effect": 0.02})).verdict == REGRESSION


def test_a_large_drop_on_few_examples_is_not_significant():
    # 30 examples, 3 newly failing: a 10-point drop, p = 2/2^3 = 0.25
    base, cand = paired(3, 0, 27)
    v = compare_runs(results({"a": cand}), results({"a": base}), T)
    assert v.verdict == NO_SIGNIFICANT_CHANGE and v.overall.drop == pytest.approx(0.1)
    assert v.overall.p_value == pytest.approx(0.25)
    # Connor's MDE at n=30, psi=0.1 is 0.155, below the exact test's floor of 6 changed examples: 6/30 = 0.2
    assert v.overall.mde == pytest.approx(0.2)
    assert "only changes of 20.0 points or more are detectable with 80% power" in v.reason


def test_improvement():
    base = results({"a": [True] * 20 + [False] * 20})
    v = compare_runs(results({"a": [True] * 40}), base, T)
    assert v.verdict == IMPROVEMENT and v.overall.improved and not v.regressions
    assert v.overall.c == 20 and v.overall.p_value == pytest.approx(2 / 2**20)


def test_a_regressed_intent_outweighs_an_overall_improvement():
    # overall b=8, c=20: improved (p = 2 P(X<=8 | 28) = 0.036); intent:y b=8 alone: adjusted p = 2 x 2/2^8
    base = results({"x": [False] * 20, "y": [True] * 20})
    cand = results({"x": [True] * 20, "y": [False] * 8 + [True] * 12})
    v = compare_runs(cand, base, T)
    assert v.overall.improved and v.overall.p_value == pytest.approx(0.0357, abs=1e-4)
    assert v.verdict == REGRESSION and [s.subject for s in v.regressions] == ["intent:y"]


def test_small_intents_are_not_judged_alone():
    base = results({"rare": [True] * 5, "common": [True] * 40})
    cand = results({"rare": [False] * 5, "common": [True] * 40})
    v = compare_runs(cand, base, T)
    rare = slice_(v, "intent:rare")
    assert rare.drop == 1.0 and not rare.judged and not rare.regressed and rare.p_adjusted is None
    assert rare.p_value == pytest.approx(2 / 2**5)  # still recorded for the reader
    # only "common" is in the family: its adjusted p is its own (b = c = 0 -> 1)
    assert slice_(v, "intent:common").p_adjusted == 1.0
    # overall: 5 of 45 newly failing, p = 2/2^5 = 0.0625: not significant
    assert v.verdict == NO_SIGNIFICANT_CHANGE


def test_too_few_paired_examples_is_inconclusive_even_for_a_collapse():
    v = compare_runs(results({"a": [False] * 20}), results({"a": [True] * 20}), T)
    assert v.verdict == INCONCLUSIVE and "only 20 paired examples, fewer than min_examples=30" in v.reason
    assert v.overall.p_value == pytest.approx(2 / 2**20)  # the statistics are still stored...
    assert not v.overall.judged and v.regressions == []  # ...but nothing is judged, nothing alerts


def test_only_common_examples_are_compared():
    base = results({"a": [True] * 40})
    cand = results({"a": [True] * 40}) + [{"example_id": "new", "trial": 0, "intent": "a", "passed": False,
                                           "score": 0.0, "error_type": None}]
    v = compare_runs(cand, base, T)
    assert v.verdict == NO_SIGNIFICANT_CHANGE and v.overall.n_paired == 40


def test_error_budget_makes_the_verdict_inconclusive_not_regression():
    base = results({"a": [True] * 40})
    cand = results({"a": [False] * 40}, errors=("a-0", "a-1", "a-2"))  # 3/40 = 7.5% errors > 5% budget
    v = compare_runs(cand, base, T)
    assert v.verdict == INCONCLUSIVE and "above the error budget of 5.0%" in v.reason
    assert (v.n_errors, v.error_share, v.overall) == (3, pytest.approx(0.075), None)


def test_errors_within_budget_are_left_out_of_the_pairing():
    # 2/40 = 5% errors: at the budget, not above it. Errored examples (either run) are not paired.
    base = results({"a": [True] * 40}, errors=("a-5",))
    cand = results({"a": [True] * 40}, errors=("a-0", "a-1"))
    v = compare_runs(cand, base, T)
    assert v.verdict == NO_SIGNIFICANT_CHANGE and v.error_share == pytest.approx(0.05)
    assert v.n_excluded == 3 and v.overall.n_paired == 37 and v.overall.candidate_pass_rate == 1.0
    assert "3 shared example(s) left out" in v.reason


def test_no_baseline_no_common_ids_no_results():
    assert compare_runs(results({"a": [True] * 40}), None, T).verdict == NO_BASELINE
    v = compare_runs(results({"a": [True] * 40}), results({"b": [True] * 40}), T)
    assert v.verdict == INCONCLUSIVE and "share no example ids" in v.reason
    assert compare_runs([], results({"a": [True]}), T).verdict == INCONCLUSIVE
    # every shared example errored in one run (an error budget of 100% lets it through to the pairing)
    v = compare_runs(results({"a": [True] * 4}, errors=("a-0", "a-1", "a-2", "a-3")), results({"a": [True] * 4}),
                     T.model_copy(update={"error_budget": 1.0}))
    assert v.verdict == INCONCLUSIVE and v.n_excluded == 4 and "no shared example" in v.reason


def test_repeated_trials_use_per_example_proportions_and_the_sign_flip_test():
    # 40 examples x 3 trials. Candidate: 10 examples pass 1/3 (d = -2/3), 5 pass 2/3 (d = -1/3), 25 pass 3/3.
    base = results({"a": [[True] * 3] * 40})
    cand = results({"a": [[True, False, False]] * 10 + [[True, True, False]] * 5 + [[True] * 3] * 25})
    v = compare_runs(cand, base, T)
    o = v.overall
    assert v.trials == 3 and o.test == "sign_flip_exact" and (o.b, o.c) == (15, 0)
    # all 15 differences negative: only the two all-same-sign flips reach |sum| -> p = 2 / 2^15
    assert o.p_value == pytest.approx(2 / 2**15)
    assert o.candidate_pass_rate == pytest.approx((10 / 3 + 5 * 2 / 3 + 25) / 40)
    assert o.discordance == pytest.approx((10 * 4 / 9 + 5 / 9) / 40)
    assert v.verdict == REGRESSION
    assert v.flaky_count == 15 and v.flaky_examples == sorted(f"a-{i}" for i in range(15))


def test_an_errored_trial_leaves_the_example_paired_on_its_other_trials():
    base = results({"a": [[True, True]] * 40})
    cand = results({"a": [[True, True]] * 40}, errors=("a-0",))  # a-0 trial 0 errored: 1/80 calls
    v = compare_runs(cand, base, T)
    assert v.n_errors == 1 and v.n_excluded == 0 and v.overall.n_paired == 40
    assert v.overall.candidate_pass_rate == 1.0 and v.overall.b == v.overall.c == 0
    assert v.overall.test == "sign_flip_exact"  # a-0 has one valid trial against two


def test_flaky_list_is_capped_and_the_count_complete():
    spec = {"a": [[True, False]] * 30 + [[True, True]] * 10}
    v = compare_runs(results(spec), results({"a": [[True, True]] * 40}), T)
    assert v.flaky_count == 30 and len(v.flaky_examples) == FLAKY_LIST_CAP
    assert v.flaky_examples == sorted(f"a-{i}" for i in range(30))[:FLAKY_LIST_CAP]
    nb = compare_runs(results(spec), None, T)  # the candidate's own flakiness is reported without a baseline
    assert nb.verdict == NO_BASELINE and nb.flaky_count == 30


def test_every_verdict_is_reachable():
    seen = set()
    for cand, base, th in [
        (results({"a": [False] * 10 + [True] * 30}), results({"a": [True] * 40}), T),
        (results({"a": [True] * 40}), results({"a": [False] * 10 + [True] * 30}), T),
        (results({"a": [True] * 40}), results({"a": [True] * 40}), T),
        (results({"a": [True] * 10}), results({"a": [True] * 10}), T),
        (results({"a": [True] * 40}), None, T),
    ]:
        seen.add(compare_runs(cand, base, th).verdict)
    assert seen == set(VERDICTS)


def test_same_seed_same_verdict_other_seed_other_intervals():
    base, cand = paired(12, 4, 60, 24)
    args = (results({"a": cand}), results({"a": base}), T)
    first = compare_runs(*args, seed=3).to_dict()
    assert compare_runs(*args, seed=3).to_dict() == first
    other = compare_runs(*args, seed=4).to_dict()
    assert other["overall"]["pass_rate_diff_ci"] != first["overall"]["pass_rate_diff_ci"]
    assert other["overall"]["p_value"] == first["overall"]["p_value"]  # exact tests do not depend on the seed


def test_verdict_round_trips_through_json():
    base = results({"refund": [True] * 40, "billing": [[True, False]] * 20})
    cand = results({"refund": [False] * 10 + [True] * 30, "billing": [[True, True]] * 20})
    v = compare_runs(cand, base, T, baseline_run_key="k")
    d = v.to_dict()
    text = json.dumps(d, allow_nan=False)  # the warehouse refuses NaN and infinity
    assert d["overall"]["drop"] == pytest.approx(v.overall.drop)
    again = Verdict.from_dict(json.loads(text))
    assert again == v and again.regressions == v.regressions


def test_to_dict_replaces_non_finite_numbers_with_none():
    v = Verdict(INCONCLUSIVE, "x", error_share=math.nan, alpha=math.inf)
    d = v.to_dict()
    assert d["error_share"] is None and d["alpha"] is None
    json.dumps(d, allow_nan=False)
    for verdict in (compare_runs([], None, T), compare_runs(results({"a": [True] * 40}), None, T)):
        json.dumps(verdict.to_dict(), allow_nan=False)


def test_from_dict_names_what_an_old_or_broken_record_lacks():
    with pytest.raises(ValueError, match="lacks 'verdict' or 'reason'"):
        Verdict.from_dict({"reason": "x"})
    old = {"verdict": "regression", "reason": "x", "overall": {"subject": "overall", "n_paired": 20,
                                                              "mcnemar_p": 0.01, "threshold": 0.05}}
    with pytest.raises(ValueError, match="stored verdict slice 'overall' lacks b, baseline_mean_score"):
        Verdict.from_dict(old)


def test_monte_carlo_sign_flips_when_the_exact_null_is_too_large(monkeypatch):
    from llmmon.statistics import signflip

    base = results({"a": [[True] * 3] * 40})
    cand = results({"a": [[True, False, False]] * 10 + [[True, True, False]] * 5 + [[True] * 3] * 25})
    monkeypatch.setattr(signflip, "_MAX_EXACT_WORK", 0)
    v = compare_runs(cand, base, T, seed=5)
    assert v.overall.test == "sign_flip_monte_carlo"
    # exact p is 2/2^15 = 6.1e-5, ~1.2 expected hits in 20,000 flips; the estimate is (1 + hits) / 20,001
    hits = v.overall.p_value * 20_001 - 1
    assert hits == pytest.approx(round(hits)) and 0 <= round(hits) <= 8 and v.verdict == REGRESSION
    assert compare_runs(cand, base, T, seed=5).to_dict() == v.to_dict()
