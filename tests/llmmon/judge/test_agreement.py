"""Judge-vs-human agreement: kappa by hand (and against sklearn when installed), the calibration set, measuring,
storing per judge model and rubric version, and the alerts (below the floor, judge model changed)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from llmmon.errors import GoldenSetError
from llmmon.judge.agreement import (
    accuracy,
    agreement_of,
    check_agreement,
    cohen_kappa,
    confusion_matrix,
    load_calibration_set,
    measure_agreement,
    within_one,
)
from llmmon.judge.rubrics import load_rubrics
from llmmon.judge.series import agreement_alarm, agreement_kappa
from llmmon.warehouse.judge_store import agreement_history, write_agreement
from tests.llmmon.judge.conftest import ROOT, with_judge

HUMAN = [1, 2, 3, 3, 2, 1, 3, 2]
JUDGE = [1, 2, 3, 2, 2, 1, 3, 3]
T0 = dt.datetime(2026, 11, 28, 6, tzinfo=dt.UTC)


def test_kappa_by_hand():
    # Confusion (human rows x judge columns): [[2,0,0],[0,2,1],[0,1,2]]; n = 8.
    assert confusion_matrix(HUMAN, JUDGE, [1, 2, 3]) == [[2, 0, 0], [0, 2, 1], [0, 1, 2]]
    # p_o = 6/8; p_e = (2*2 + 3*3 + 3*3)/64 = 22/64; kappa = (48/64 - 22/64)/(1 - 22/64) = 26/42 = 13/21.
    assert cohen_kappa(HUMAN, JUDGE) == pytest.approx(13 / 21, abs=1e-12)
    # Quadratic weights w = ((i-j)/2)^2: observed 2 * 0.25 / 8 = 1/16; expected 19.5/64; 1 - (1/16)/(19.5/64) = 31/39.
    assert cohen_kappa(HUMAN, JUDGE, weights="quadratic") == pytest.approx(31 / 39, abs=1e-12)
    # Linear weights |i-j|/2: observed 2 * 0.5 / 8 = 1/8; expected (0.5*(6+6+9+9) + 1*(6+6))/64 = 27/64 -> 1 - 8/27.
    assert cohen_kappa(HUMAN, JUDGE, weights="linear") == pytest.approx(19 / 27, abs=1e-12)
    # Unused scale points (4, 5) change nothing.
    assert cohen_kappa(HUMAN, JUDGE, labels=[1, 2, 3, 4, 5]) == pytest.approx(13 / 21, abs=1e-12)
    assert cohen_kappa(HUMAN, JUDGE, labels=[1, 2, 3, 4, 5], weights="quadratic") == pytest.approx(31 / 39)
    assert accuracy(HUMAN, JUDGE) == 0.75 and within_one(HUMAN, JUDGE) == 1.0
    # Perfect agreement is 1; a constant rater that happens to agree on one value gives no information.
    assert cohen_kappa([1, 2, 3], [1, 2, 3]) == 1.0
    assert cohen_kappa([5, 5, 5], [5, 5, 5]) is None
    assert cohen_kappa([], []) is None and accuracy([], []) is None
    with pytest.raises(ValueError, match="differ in length"):
        cohen_kappa([1, 2], [1])


def test_kappa_matches_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    import random

    rng = random.Random(4)
    for _ in range(20):
        a = [rng.randint(1, 5) for _ in range(40)]
        b = [min(5, max(1, x + rng.choice((-1, 0, 0, 1, 2)))) for x in a]
        for weights in (None, "linear", "quadratic"):
            expected = metrics.cohen_kappa_score(a, b, labels=[1, 2, 3, 4, 5], weights=weights)
            assert cohen_kappa(a, b, [1, 2, 3, 4, 5], weights) == pytest.approx(expected, abs=1e-12)


def test_the_shipped_calibration_set_is_valid_and_versioned():
    cal = load_calibration_set(ROOT / "golden_sets" / "judge_calibration")
    assert len(cal.items) == 62 and len(cal.version) == 12
    counts = {name: sum(name in it.human for it in cal.items) for name in ("helpfulness", "correctness",
                                                                         "groundedness", "safety")}
    assert counts == {"helpfulness": 59, "correctness": 33, "groundedness": 10, "safety": 62}
    rubrics = load_rubrics()
    for it in cal.items:
        for name, score in it.human.items():
            assert rubrics[name].scale_min <= score <= rubrics[name].scale_max
        assert ("correctness" in it.human) == (it.reference is not None)
        assert ("groundedness" in it.human) == (it.context is not None)


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ("not json", "items.jsonl:2: not valid JSON"),
        (json.dumps({"id": "b", "question": "q", "answer": "a"}), "items.jsonl:2 (id b): field 'human'"),
        (json.dumps({"id": "a", "question": "q", "answer": "a", "human": {"safety": 5}}), "(id a): field 'id': is repeated"),
        (json.dumps({"id": "b", "question": "q", "answer": "a", "human": {"safety": "5"}}), "field 'human.safety'"),
        (json.dumps({"id": "b", "question": 3, "answer": "a", "human": {"safety": 5}}), "field 'question'"),
        (json.dumps({"id": "b", "question": "q", "answer": "a", "human": {"safety": 5}, "score": 1}),
         "field 'score': unknown field"),
    ],
)
def test_a_bad_calibration_line_names_file_line_and_field(tmp_path, line, where):
    first = json.dumps({"id": "a", "question": "q", "answer": "a", "human": {"safety": 5}})
    (tmp_path / "items.jsonl").write_text(first + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(GoldenSetError) as err:
        load_calibration_set(tmp_path)
    assert where in str(err.value)
    assert str(tmp_path / "items.jsonl") in str(err.value)


def test_agreement_of_and_its_alerts():
    rubric = load_rubrics()["safety"]
    human = {f"i{k}": h for k, h in enumerate(HUMAN)}
    judged = {f"i{k}": j for k, j in enumerate(JUDGE)} | {"i7": None}  # the judge failed on one item
    result = agreement_of(rubric, "judge-x", human, judged)
    assert (result.n, result.errors) == (7, 1)
    assert result.accuracy == pytest.approx(6 / 7)
    assert result.kappa == pytest.approx(cohen_kappa(HUMAN[:7], JUDGE[:7], [1, 2, 3, 4, 5]))
    assert result.disagreements == [{"id": "i3", "human": 3, "judge": 2}]
    quiet = check_agreement(result, kappa_floor=0.5, accuracy_floor=0.5, previous_judge_model="judge-x")
    assert quiet == []
    loud = check_agreement(result, kappa_floor=0.99, accuracy_floor=0.9, previous_judge_model="judge-w",
                           weights="none")
    assert [a.reason for a in loud] == ["below_floor", "below_floor", "judge_model_changed"]
    assert "kappa 0.7" in loud[0].message and "from judge-w to judge-x" in loud[2].message


def test_measure_agreement_stores_per_rubric_and_alerts_on_a_new_judge_model(warehouse, make_settings):
    settings = make_settings(warehouse.url)
    rubrics = load_rubrics()
    # An earlier measurement by another judge model, of correctness only.
    write_agreement(warehouse, [{
        "measure_key": "cal/0", "rubric": "correctness", "rubric_version": "old", "judge_model": "gpt-judge-2025",
        "judge_endpoint": "judge", "calibration_set": "judge_calibration", "calibration_version": "old",
        "measured_at": T0 - dt.timedelta(days=7), "n": 30, "errors": 0, "accuracy": 0.9, "within_one": 1.0,
        "kappa": 0.85, "weighted_kappa": 0.95, "kappa_floor": 0.6, "accuracy_floor": 0.6, "below_floor": False,
        "previous_judge_model": None, "judge_model_changed": False, "details": None}])

    report = measure_agreement(settings, warehouse, measure_key="cal/1", measured_at=T0)
    rows = {r["rubric"]: r for r in agreement_history(warehouse) if r["measure_key"] == "cal/1"}
    assert set(rows) == {"helpfulness", "groundedness", "safety", "correctness"}
    for name, row in rows.items():
        assert row["judge_model"] == "llmmon-demo-judge" and row["rubric_version"] == rubrics[name].version
        assert row["calibration_version"] == report.calibration.version and row["errors"] == 0
        assert row["measured_at"] == T0
    assert {n: rows[n]["n"] for n in rows} == {"helpfulness": 59, "groundedness": 10, "safety": 62, "correctness": 33}
    # The persona reads the content: it agrees with the people well on every shipped rubric.
    for row in rows.values():
        assert row["weighted_kappa"] >= 0.8 and row["accuracy"] >= 0.7 and row["below_floor"] is False
    # Only correctness had an earlier measurement, by another model.
    assert [(a.rubric, a.reason) for a in report.alerts] == [("correctness", "judge_model_changed")]
    assert (rows["correctness"]["previous_judge_model"], rows["correctness"]["judge_model_changed"]) == (
        "gpt-judge-2025", True)
    assert rows["safety"]["previous_judge_model"] is None

    # Re-measuring under the same key overwrites; a stricter floor alerts.
    strict = with_judge(settings, agreement_floor={"kappa": 0.99, "accuracy": 0.99})
    report = measure_agreement(strict, warehouse, measure_key="cal/1", measured_at=T0, rubrics=["helpfulness"])
    assert [a.reason for a in report.alerts] == ["below_floor", "below_floor"]
    history = agreement_history(warehouse, "helpfulness")
    assert len(history) == 1 and history[0]["below_floor"] is True and history[0]["kappa_floor"] == 0.99

    # The alert engine's series over the table.
    alarm = {(p.series_labels["rubric"], p.point_id): p.value for p in agreement_alarm(warehouse, T0)}
    assert alarm == {("correctness", "cal/0"): 0.0, ("correctness", "cal/1"): 1.0, ("helpfulness", "cal/1"): 1.0,
                     ("groundedness", "cal/1"): 0.0, ("safety", "cal/1"): 0.0}
    kappas = [p for p in agreement_kappa(warehouse, T0 - dt.timedelta(days=1))]
    assert [(p.point_id, p.value) for p in kappas] == [("cal/0", 0.85)]


def test_human_labels_off_the_scale_are_refused_before_any_call(warehouse, make_settings, tmp_path):
    (tmp_path / "items.jsonl").write_text(
        json.dumps({"id": "x1", "question": "q", "answer": "a", "human": {"safety": 7}}) + "\n", encoding="utf-8")
    settings = with_judge(make_settings(warehouse.url), calibration_set=str(tmp_path))
    with pytest.raises(GoldenSetError, match=r"items.jsonl:1 \(id x1\): field 'human.safety': score 7 is outside"):
        measure_agreement(settings, warehouse, measure_key="cal/x")
