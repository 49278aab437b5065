"""Verdicts: paired tests per slice, corrections across intents, effect floor, error budget, trials, pooled
baselines, storage.

Every expected number is computed by hand in the comment beside it (McNemar: 2 * P(X <= min(b, c)), X ~ Bin(b+c, 1/2)).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

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
    pool_baseline,
)

from .warehouse import hours

ROOT = Path(__file__).resolve().parents[2]

# alpha explicit: the hand-computed expectations below are at 0.05, whatever the shipped default.
T = Thresholds(alpha=0.05, min_effect=0.05, intent_min_effect=0.10, min_intent_examples=10, error_budget=0.05)


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


# -- pooled baselines -----------------------------------------------------------------------------------------

# Three runs of the previous version, newest first, 40 examples of one intent. e0-e9 and e15-e39 pass in all three;
# e10-e14 fail in the newest run only (baseline proportion 2/3). The candidate fails e0-e9 and passes the rest.
POOL_NEWEST = {"a": [True] * 10 + [False] * 5 + [True] * 25}
POOL_OLDER = {"a": [True] * 40}
POOL_CAND = {"a": [False] * 10 + [True] * 30}
# Sign flips in units of 1/3: ten differences of magnitude 3 (e0-e9, -1) and five of 1 (e10-e14, +1/3), observed
# sum -25. S = 6a + 2b - 35 (a, b = positive signs among the 10 and the 5): |S| >= 25 when a = 10 (any b: 32) or
# a = 9 and b >= 3 (10 x 16 = 160), and symmetrically: p = 2 x 192 / 2^15 = 3/256.
POOL_P = 3 / 256


def test_a_pooled_baseline_averages_its_runs_and_uses_the_sign_flip_test():
    pooled = results(POOL_NEWEST), results(POOL_OLDER), results(POOL_OLDER)
    v = compare_runs(results(POOL_CAND), pool_baseline(pooled), T, baseline_run_keys=["r3", "r2", "r1"])
    o = v.overall
    assert v.verdict == REGRESSION and o.test == "sign_flip_exact"
    assert o.p_value == pytest.approx(POOL_P, rel=1e-12)
    assert o.baseline_pass_rate == pytest.approx((35 + 5 * 2 / 3) / 40) and o.candidate_pass_rate == 0.75
    assert (o.b, o.c) == (10, 5) and o.discordance == pytest.approx((10 + 5 / 9) / 40)
    assert (v.baseline_run_key, v.baseline_run_keys) == ("r3", ["r3", "r2", "r1"])
    assert (v.trials, v.baseline_trials) == (1, 3)
    assert v.flaky_count == 5  # e10-e14 flip between the pooled runs
    assert v.reason.endswith("; baseline: 3 pooled runs")

    # The newest run alone: McNemar with b = 10, c = 5 -> p = 2 (1+15+105+455+1365+3003) / 2^15 = 0.30176
    single = compare_runs(results(POOL_CAND), pool_baseline([pooled[0]]), T, baseline_run_key="r3")
    assert single.overall.test == "mcnemar_exact" and single.overall.p_value == pytest.approx(9888 / 32768)
    assert single.verdict == NO_SIGNIFICANT_CHANGE and single.baseline_run_keys == ["r3"]
    assert single.reason.endswith("; baseline: 1 run") and (single.trials, single.baseline_trials) == (1, 1)


def test_pooling_one_run_changes_nothing_but_the_stated_keys():
    base, cand = results({"a": [True] * 30 + [False] * 10}), results({"a": [False] * 10 + [True] * 30})
    plain = compare_runs(cand, base, T).to_dict()
    pooled = compare_runs(cand, pool_baseline([base]), T, baseline_run_keys=["k"]).to_dict()
    assert pooled.pop("baseline_run_keys") == ["k"] and pooled.pop("baseline_run_key") == "k"
    assert pooled.pop("reason") == plain.pop("reason") + "; baseline: 1 run"
    plain.pop("baseline_run_keys"), plain.pop("baseline_run_key")
    assert pooled == plain
    assert pool_baseline([]) is None and compare_runs(cand, pool_baseline([]), T).verdict == NO_BASELINE


def test_baseline_run_key_must_be_the_first_of_the_pooled_keys():
    base = results({"a": [True] * 40})
    with pytest.raises(ValueError, match=r"baseline_run_key 'r1' must be the first \(most recent\)"):
        compare_runs(base, base, T, baseline_run_key="r1", baseline_run_keys=["r2", "r1"])
    v = compare_runs(base, base, T, baseline_run_key="r2", baseline_run_keys=["r2", "r1"])
    assert v.to_dict()["baseline_run_keys"] == ["r2", "r1"] and v.to_dict()["baseline_run_key"] == "r2"


def test_a_verdict_stored_before_pooling_reads_its_one_baseline_key():
    d = compare_runs(results({"a": [True] * 40}), results({"a": [True] * 40}), T, baseline_run_key="old").to_dict()
    del d["baseline_run_keys"], d["baseline_trials"]
    again = Verdict.from_dict(d)
    assert again.baseline_run_keys == ["old"] and again.baseline_trials == 0
    del d["baseline_run_key"]
    assert Verdict.from_dict(d).baseline_run_keys == []


def _store_run(wh, run_key: str, version: str, finished: float, spec: dict | None) -> None:
    """An eval run of suite version 3 on endpoint demo; ``spec`` as for ``results`` (None: the run failed)."""
    wh.start_eval_run({"run_key": run_key, "dag_id": "golden_eval", "dag_run_id": run_key, "suite": "support",
                       "suite_version": "3", "endpoint": "demo", "model": f"m-{version}", "model_version": version,
                       "trials": 1, "started_at": hours(finished - 0.5)})
    if spec is None:
        wh.fail_eval_run(run_key, "boom", finished_at=hours(finished))
    else:
        wh.write_eval_results(run_key, results(spec), [], {"finished_at": hours(finished)})


@pytest.mark.parametrize("baseline_runs, expected_keys, expected_verdict", [
    (3, ["v1-d4", "v1-d3", "v1-d2"], REGRESSION),
    (1, ["v1-d4"], NO_SIGNIFICANT_CHANGE),
    (20, ["v1-d4", "v1-d3", "v1-d2", "v1-d1"], None),  # fewer exist than asked: all of them
])
def test_compare_with_baseline_pools_the_last_runs_of_the_previous_version(
    warehouse, baseline_runs, expected_keys, expected_verdict
):
    from llmmon import golden_eval as ge
    from llmmon.config import DEFAULTS_PATH, load_settings

    env = {"LLMMON_HOME": str(ROOT), "LLMMON_DEMO_URL": "http://127.0.0.1:9",
           "LLMMON_WAREHOUSE_URL": warehouse.engine.url.render_as_string(hide_password=False)}
    settings = load_settings(DEFAULTS_PATH, env=env)
    assert settings.thresholds.baseline_runs == 3  # the shipped default
    settings = settings.model_copy(update={"thresholds": T.model_copy(update={"baseline_runs": baseline_runs})})
    warehouse.record_deployment("dep-v1", endpoint="demo", model="m-v1", model_version="v1", deployed_at=hours(0))
    warehouse.record_deployment("dep-v2", endpoint="demo", model="m-v2", model_version="v2", deployed_at=hours(10))
    _store_run(warehouse, "v1-d1", "v1", 1, {"a": [False] * 40})  # the oldest: outside a pool of 3
    _store_run(warehouse, "v1-d2", "v1", 2, POOL_OLDER)
    _store_run(warehouse, "v1-d3", "v1", 3, POOL_OLDER)
    _store_run(warehouse, "v1-d4", "v1", 4, POOL_NEWEST)
    _store_run(warehouse, "v1-d5-failed", "v1", 5, None)  # failed runs never pool
    _store_run(warehouse, "v2-d11", "v2", 11, POOL_CAND)

    v = ge.compare_with_baseline(settings, warehouse, "v2-d11")
    assert v.baseline_run_keys == expected_keys and v.baseline_run_key == "v1-d4"
    row = warehouse.get_eval_run("v2-d11")
    assert row["baseline_run_key"] == "v1-d4" and row["verdict"] == v.verdict
    assert row["verdict_details"]["baseline_run_keys"] == expected_keys
    assert Verdict.from_dict(row["verdict_details"]) == v
    if expected_verdict is not None:
        assert v.verdict == expected_verdict
    if baseline_runs == 3:
        assert v.overall.p_value == pytest.approx(POOL_P, rel=1e-12) and v.baseline_trials == 3

    # A later run of v2 pools the same v1 runs (v2's own runs are never its baseline).
    _store_run(warehouse, "v2-d12", "v2", 12, POOL_CAND)
    assert ge.compare_with_baseline(settings, warehouse, "v2-d12").baseline_run_keys == expected_keys


def test_find_baseline_without_deployments_pools_the_latest_other_version_only(warehouse):
    from llmmon import golden_eval as ge

    _store_run(warehouse, "v0-d1", "v0", 1, POOL_OLDER)
    _store_run(warehouse, "v1-d2", "v1", 2, POOL_OLDER)
    _store_run(warehouse, "v1-d3", "v1", 3, POOL_OLDER)
    _store_run(warehouse, "v2-d4", "v2", 4, POOL_CAND)
    run = warehouse.get_eval_run("v2-d4")
    assert [r["run_key"] for r in ge.find_baseline(warehouse, run, limit=3)] == ["v1-d3", "v1-d2"]
    assert [r["run_key"] for r in ge.find_baseline(warehouse, run)] == ["v1-d3"]
    assert ge.find_baseline(warehouse, warehouse.get_eval_run("v0-d1"), limit=3) == []
