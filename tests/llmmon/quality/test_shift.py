"""Judge-score shift: the tests by hand, gating and correction, false alarms and power, and the warehouse round trip."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from llmmon.quality.shift import detect_shifts, group_scores, run_shift_detection, two_sample_test
from llmmon.quality_config import ShiftConfig
from llmmon.statistics.multiple import holm
from llmmon.warehouse.quality_store import judge_shift_rows, replace_judge_shift

from .conftest import T0, insert, score

SCALE = [1, 2, 3, 4, 5]
STABLE = [0.05, 0.10, 0.20, 0.35, 0.30]  # mean 3.75
WORSE = [0.20, 0.25, 0.25, 0.20, 0.10]  # mean 2.75: a one-point drop


def normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


# -- the tests, computed by hand ---------------------------------------------------------------------------------


def test_mann_whitney_without_ties():
    # cur 1,2,3 all below ref 4..7: U(cur) = 0; mean 3*4/2 = 6; sd sqrt(3*4*8/12) = sqrt(8); continuity 0.5
    u, p = two_sample_test([4, 5, 6, 7], [1, 2, 3], ShiftConfig())
    assert u == 0.0
    assert p == pytest.approx(normal_sf((6 - 0.5) / math.sqrt(8)), rel=1e-9)  # 0.0259


def test_mann_whitney_with_ties():
    # pooled 1,1,2,2,3,3 -> ranks 1.5,1.5,3.5,3.5,5.5,5.5; cur 1,1,2 has rank sum 6.5, U = 6.5 - 6 = 0.5
    # tie-corrected variance 3*3/12 * (7 - (3 * (2**3 - 2)) / (6*5)) = 0.75 * 6.4 = 4.8
    u, p = two_sample_test([2, 3, 3], [1, 1, 2], ShiftConfig())
    assert u == 0.5
    assert p == pytest.approx(normal_sf((4.5 - 0.5 - 0.5) / math.sqrt(4.8)), rel=1e-9)  # 0.0551


def test_ks_exact_one_sided():
    # every current score below every reference score: D = 1; exact p = 1 / C(6, 3) = 1/20
    d, p = two_sample_test([5, 5, 5], [1, 1, 1], ShiftConfig(test="ks"))
    assert (d, p) == (1.0, pytest.approx(0.05))


def test_permutation_of_the_mean():
    # 4 values in two groups of 2: 6 splits, and cur = {1, 2} is the one lowest split -> p = 1/6
    diff, p = two_sample_test([3, 4], [1, 2], ShiftConfig(test="permutation", permutations=20_000), seed=1)
    assert diff == -2.0
    assert p == pytest.approx(1 / 6, abs=0.01)
    assert two_sample_test([3, 4], [1, 2], ShiftConfig(test="permutation"), seed=1) == \
        two_sample_test([3, 4], [1, 2], ShiftConfig(test="permutation"), seed=1)  # a recomputed window agrees


def test_direction():
    up = ([1, 2, 2, 3] * 5, [4, 5, 5, 4] * 5)  # (ref, cur): scores rose
    assert two_sample_test(*up, ShiftConfig())[1] > 0.99  # not a drop
    assert two_sample_test(*up, ShiftConfig(direction="any"))[1] < 0.001


def test_nothing_moved_is_p_one():
    for test in ("mann_whitney", "ks", "permutation"):
        assert two_sample_test([4] * 40, [4] * 30, ShiftConfig(test=test))[1] == 1.0


# -- gating, correction, effect floor ----------------------------------------------------------------------------


def test_minimum_samples_gate_the_test():
    cfg = ShiftConfig(min_reference=30, min_current=20)
    groups = {
        ("demo", "faq|free", "helpfulness"): ([4.0] * 29, [1.0] * 40, "r1"),
        ("demo", "faq|pro", "helpfulness"): ([4.0] * 30, [1.0] * 19, "r1"),
        ("demo", "faq|team", "helpfulness"): ([4.0] * 30, [1.0] * 20, "r1"),
    }
    free, pro, team = detect_shifts(groups, cfg)
    assert (free.tested, free.shifted, free.p_value, free.reason) == (False, False, None, "too few scores: n_ref 29 < 30")
    assert (pro.tested, pro.reason) == (False, "too few scores: n_cur 19 < 20")
    assert (free.mean_ref, free.mean_cur, free.effect) == (4.0, 1.0, -3.0)  # recorded all the same
    assert (team.tested, team.shifted, team.reason) == (True, True, None)
    assert team.p_adjusted == team.p_value  # the only tested stratum: nothing to correct


def test_holm_across_the_strata_of_one_rubric():
    rng = random.Random(3)
    groups = {}
    for i, drop in enumerate((0.0, 0.3, 0.6, 1.0)):
        ref = [min(5.0, max(1.0, round(rng.gauss(4.0, 0.8)))) for _ in range(60)]
        cur = [min(5.0, max(1.0, round(rng.gauss(4.0 - drop, 0.8)))) for _ in range(40)]
        groups[("demo", f"t{i}|s", "helpfulness")] = (ref, cur, "r1")
    groups[("demo", "t0|s", "safety")] = ([5.0] * 40 + [4.0] * 20, [1.0] * 40, "r1")  # another rubric: its own family
    results = detect_shifts(groups, ShiftConfig(effect_floor=0.0))
    helpful = [r for r in results if r.rubric == "helpfulness"]
    assert [r.p_adjusted for r in helpful] == pytest.approx(holm([r.p_value for r in helpful]))
    (safety,) = [r for r in results if r.rubric == "safety"]
    assert safety.p_adjusted == safety.p_value
    assert [r.shifted for r in helpful] == [r.p_adjusted < 0.05 for r in helpful]
    assert helpful[-1].shifted and not helpful[0].shifted


def test_effect_floor():
    ref, cur = [4.0] * 500 + [5.0] * 500, [4.0] * 650 + [5.0] * 350  # mean 4.5 -> 4.35: significant, small
    (r,) = detect_shifts({("demo", "s", "h"): (ref, cur, "r1")}, ShiftConfig(effect_floor=0.5))
    assert r.p_adjusted < 1e-6 and not r.shifted
    assert r.reason == "drop 0.15 below the effect floor 0.5"
    (r,) = detect_shifts({("demo", "s", "h"): (ref, cur, "r1")}, ShiftConfig(effect_floor=0.1))
    assert r.shifted and r.effect == pytest.approx(-0.15)


# -- how often it cries wolf, and how often it sees a real shift -------------------------------------------------


def _windows(n_windows: int, strata: int, cur_dist: list[float], seed: int) -> list[list]:
    rng = random.Random(seed)
    out = []
    for _ in range(n_windows):
        groups = {("demo", f"t{i}|s", "helpfulness"): (rng.choices(SCALE, STABLE, k=60),
                                                       rng.choices(SCALE, cur_dist, k=30), "r1")
                  for i in range(strata)}
        out.append(detect_shifts(groups, CFG_SIM))
    return out


CFG_SIM = ShiftConfig(min_reference=30, min_current=20, alpha=0.05, effect_floor=0.0)


def test_false_alarms_on_identical_distributions_are_about_alpha():
    # 200 windows of 10 strata, 60 reference vs 30 current scores each, all from one distribution (seed fixed)
    windows = _windows(200, 10, STABLE, seed=20261128)
    raw = [r.p_value < 0.05 for w in windows for r in w]
    assert 0.035 <= sum(raw) / len(raw) <= 0.065  # each test alone: about alpha (2,000 tests; here 0.058)
    any_shift = sum(any(r.shifted for r in w) for w in windows) / len(windows)
    assert any_shift <= 0.08  # Holm: about alpha for the whole window, not 10 x alpha (here 0.065)


def test_power_on_a_one_point_drop():
    windows = _windows(50, 4, WORSE, seed=7)
    power = sum(r.shifted for w in windows for r in w) / (50 * 4)
    assert power >= 0.9


# -- reading judge_scores and writing judge_shift -----------------------------------------------------------------


def test_group_scores_keeps_one_score_per_span_and_the_current_rubric_version():
    ref = [score(T0 - dt.timedelta(hours=5), 4.0, version="r0"), score(T0 - dt.timedelta(hours=5), 5.0)]
    first = score(T0, 1.0)
    again = {**first, "judge_run_key": "traffic_judge/other", "score": 2.0,
             "judged_at": first["judged_at"] + dt.timedelta(minutes=5)}
    groups = group_scores(ref, [first, again])
    assert groups == {("demo", "faq|free", "helpfulness"): ([5.0], [2.0], "r1")}


def test_shift_rows_in_the_warehouse(warehouse, settings_for):
    settings = settings_for(warehouse.url, {"shift": {"min_reference": 10, "min_current": 10}})
    day = dt.timedelta(days=1)
    rows = []
    for h in range(3):  # reference: three hours a day earlier, 10 scores of 4 and 5 each hour
        rows += [score(T0 - day + dt.timedelta(hours=h), 4.0 + (i % 2)) for i in range(10)]
    rows += [score(T0 - 8 * day, 1.0) for _ in range(30)]  # older than the 7-day reference: ignored
    rows += [score(T0, 2.0 + (i % 2)) for i in range(12)]  # current: mean 2.5
    rows += [score(T0, None, error_type="unparsable") for _ in range(5)]  # judge errors: no score
    rows += [score(T0, 1.0, kind="pairwise") for _ in range(5)]  # pairwise: not a pointwise score
    rows += [score(T0, 4.0, stratum="faq|pro") for _ in range(3)]  # no reference, too few
    rows += [score(T0 + dt.timedelta(hours=1), 1.0) for _ in range(10)]  # the next window
    insert(warehouse, "judge_scores", rows)

    summary = run_shift_detection(settings, warehouse, start=T0, end=T0 + dt.timedelta(hours=1))
    assert summary == {"window_start": T0.isoformat(), "strata": 2, "tested": 1,
                       "shifted": ["demo/faq|free/helpfulness"]}
    free, pro = judge_shift_rows(warehouse, window_start=T0)
    assert (free["stratum"], free["n_ref"], free["n_cur"], free["mean_ref"], free["mean_cur"]) == (
        "faq|free", 30, 12, 4.5, 2.5)
    assert free["effect"] == -2.0 and free["tested"] and free["shifted"] and free["reason"] is None
    assert free["test"] == "mann_whitney" and free["rubric_version"] == "r1"
    assert free["p_value"] == free["p_adjusted"] < 1e-6
    assert (free["window_end"], free["reference_start"]) == (T0 + dt.timedelta(hours=1), T0 - 7 * day)
    assert (pro["stratum"], pro["n_ref"], pro["n_cur"], pro["tested"], pro["shifted"]) == ("faq|pro", 0, 3, False,
                                                                                         False)
    assert pro["reason"] == "too few scores: n_ref 0 < 10, n_cur 3 < 10"

    # recomputing the window replaces its rows
    before = [{k: v for k, v in r.items() if k != "computed_at"} for r in judge_shift_rows(warehouse)]
    run_shift_detection(settings, warehouse, start=T0, end=T0 + dt.timedelta(hours=1))
    assert [{k: v for k, v in r.items() if k != "computed_at"} for r in judge_shift_rows(warehouse)] == before


def test_replace_refuses_rows_of_another_window(warehouse):
    from llmmon.warehouse import WarehouseError

    with pytest.raises(WarehouseError, match="row 0 has window_start .* outside the windows being replaced"):
        replace_judge_shift(warehouse, T0, [{"window_start": T0 + dt.timedelta(hours=1)}])
