"""run_judging end to end: spans in llm_spans, the demo server's judge persona over real HTTP, a real warehouse."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from llmmon.errors import ConfigError, RunConfError
from llmmon.judge import JudgeRunError, run_judging
from llmmon.warehouse.judge_store import judge_run, judge_scores_of
from llmmon.warehouse.schema_judge import judge_scores
from tests.llmmon.judge.conftest import (
    V1,
    V2,
    W0,
    W1,
    golden_cases,
    ids,
    insert_spans,
    reference_text,
    span_row,
    with_judge,
)

JUDGE_PRICE_IN, JUDGE_PRICE_OUT = 0.15, 0.60  # llmmon-demo-judge in the embedded defaults, USD per million tokens


def _cases(demo_server, *, v2_wrong: bool, n: int, task_type: str = "qa") -> list[dict]:
    """Golden cases of ``task_type`` that v1 answers right and v2 answers wrong (or right, if not v2_wrong)."""
    out = []
    for case in golden_cases():
        if case["task_type"] != task_type:
            continue
        v1 = demo_server.expected_answer(V1, case["input"])
        v2 = demo_server.expected_answer(V2, case["input"])
        if v1.correct and v2.correct is (not v2_wrong):
            out.append(case)
        if len(out) == n:
            return out
    raise AssertionError(f"not enough {task_type} cases with v2_wrong={v2_wrong}")


def _traffic(demo_server, cases: list[dict], *, with_reference: bool = True, segment: str = "free") -> list[dict]:
    """One span per case and version, answered as the demo server answers it."""
    rows = []
    for case in cases:
        for version, model in (("v1", V1), ("v2", V2)):
            answer = demo_server.expected_answer(model, case["input"]).text
            rows.append(span_row(f"{case['id']}/{version}/{segment}", prompt=case["input"], completion=answer,
                                 model_version=version, template=case["task_type"], segment=segment,
                                 reference=reference_text(case["reference"]) if with_reference else None))
    return rows


def _requests(demo_server) -> int:
    return demo_server.stats()["by_model"].get("llmmon-demo-judge", 0)


def test_run_judging_scores_the_window_and_records_judge_cost(warehouse, judge_settings, demo_server):
    cases = _cases(demo_server, v2_wrong=False, n=3)
    spans = _traffic(demo_server, cases) + _traffic(demo_server, _cases(demo_server, v2_wrong=True, n=3),
                                                    with_reference=False, segment="pro")
    outside = span_row("late", prompt="x", completion="y", at=W1)  # the window's end is exclusive
    failed = span_row("failed", prompt="x", completion=None, status="error")
    insert_spans(warehouse, spans + [outside, failed])

    summary = run_judging(judge_settings, warehouse, window_start=W0, window_end=W1, judge_run_key="tj/1",
                          rubrics=["helpfulness", "correctness"])

    # 12 judgeable spans; helpfulness on all, correctness on the 6 with a reference (6 skipped).
    assert (summary["spans_in_window"], summary["sampled"], summary["strata"]) == (12, 12, 2)
    assert (summary["planned"], summary["skipped"], summary["budget_cut"], summary["resumed"]) == (18, 6, 0, 0)
    assert (summary["judged"], summary["errors"], summary["calls"], summary["status"]) == (18, 0, 18, "success")
    rows = judge_scores_of(warehouse, "tj/1")
    assert len(rows) == 18
    assert {(r["rubric"], r["stratum"]) for r in rows} == {
        ("helpfulness", "qa|free"), ("helpfulness", "qa|pro"), ("correctness", "qa|free")}
    for r in rows:
        assert r["judge_model"] == "llmmon-demo-judge" and r["kind"] == "pointwise"
        assert r["judge_calls"] == 1 and r["error_type"] is None and r["rationale"]
        assert 1 <= r["score"] <= 5 and r["score_norm"] == (r["score"] - 1) / 4
        assert (r["window_start"], r["window_end"], r["endpoint"]) == (W0, W1, "demo")
        # Cost from the tokens the judge reported and the price table.
        expected = (r["judge_input_tokens"] * JUDGE_PRICE_IN + r["judge_output_tokens"] * JUDGE_PRICE_OUT) / 1e6
        assert r["judge_cost_usd"] == pytest.approx(expected, rel=1e-12)
        assert r["judge_input_tokens"] > 100  # the rubric and the item, not just the answer
    run = judge_run(warehouse, "tj/1")
    assert run["cost_usd"] == pytest.approx(sum(r["judge_cost_usd"] for r in rows), rel=1e-12)
    assert run["input_tokens"] == sum(r["judge_input_tokens"] for r in rows)
    assert (run["status"], run["kind"], run["planned"], run["skipped"]) == ("success", "pointwise", 18, 6)
    assert run["details"]["strata"] == {"qa|free": {"spans": 6, "sampled": 6, "minimum": 0},
                                        "qa|pro": {"spans": 6, "sampled": 6, "minimum": 0}}
    assert summary["cost_usd"] == pytest.approx(run["cost_usd"], rel=1e-12)


def test_the_persona_scores_v2_wrong_answers_below_v1_right_ones(warehouse, judge_settings, demo_server):
    cases = _cases(demo_server, v2_wrong=True, n=4) + _cases(demo_server, v2_wrong=True, n=2,
                                                             task_type="classification")
    insert_spans(warehouse, _traffic(demo_server, cases))
    run_judging(judge_settings, warehouse, window_start=W0, window_end=W1, judge_run_key="tj/v2",
                rubrics=["helpfulness", "correctness"])
    score = {(r["span_id"], r["rubric"]): r["score"] for r in judge_scores_of(warehouse, "tj/v2")}
    for case in cases:
        for rubric in ("helpfulness", "correctness"):
            right = score[(ids(f"{case['id']}/v1/free")[1], rubric)]
            wrong = score[(ids(f"{case['id']}/v2/free")[1], rubric)]
            assert right == 5, (case["id"], rubric)
            assert wrong <= 3, (case["id"], rubric, wrong)


def test_a_rerun_converges_without_new_calls_and_a_killed_run_resumes(warehouse, judge_settings, demo_server):
    insert_spans(warehouse, _traffic(demo_server, _cases(demo_server, v2_wrong=False, n=3)))
    kwargs = dict(window_start=W0, window_end=W1, judge_run_key="tj/rerun", rubrics=["helpfulness", "safety"])
    first = run_judging(judge_settings, warehouse, **kwargs)
    rows = judge_scores_of(warehouse, "tj/rerun")
    calls = _requests(demo_server)

    again = run_judging(judge_settings, warehouse, **kwargs)
    assert _requests(demo_server) == calls  # nothing judged twice
    assert again["resumed"] == again["planned"] == first["planned"] == 12
    assert (again["judged"], again["calls"], again["cost_usd"]) == (first["judged"], first["calls"], first["cost_usd"])
    assert judge_scores_of(warehouse, "tj/rerun") == rows

    # A run killed halfway: some rows never landed. The retry judges exactly those.
    lost = rows[:5]
    with warehouse.engine.begin() as conn:
        for r in lost:
            conn.execute(sa.delete(judge_scores).where(
                judge_scores.c.judge_run_key == "tj/rerun", judge_scores.c.span_id == r["span_id"],
                judge_scores.c.rubric == r["rubric"]))
    resumed = run_judging(judge_settings, warehouse, **kwargs)
    assert resumed["resumed"] == 12 - 5
    assert _requests(demo_server) == calls + 5
    after = judge_scores_of(warehouse, "tj/rerun")
    strip = lambda rs: [{k: v for k, v in r.items() if k != "judged_at"} for r in rs]  # noqa: E731
    assert strip(after) == strip(rows)  # deterministic judge, same rows
    assert judge_run(warehouse, "tj/rerun")["calls"] == first["calls"]


def test_an_unparsable_answer_is_retried_once_then_recorded_as_a_judge_error(warehouse, judge_settings, demo_server):
    insert_spans(warehouse, [
        span_row("garbage", prompt="Do you ship to Mexico?", completion="No. [[judge:garbage]]"),
        span_row("once", prompt="Do you ship to Mexico?", completion="No, only the US and Canada. [[judge:garbage-once]]"),
        span_row("fine", prompt="Do you ship to Mexico?", completion="No, only the US and Canada."),
    ])
    settings = with_judge(judge_settings, error_budget=0.5)
    summary = run_judging(settings, warehouse, window_start=W0, window_end=W1, judge_run_key="tj/garbage",
                          rubrics=["helpfulness"])
    assert (summary["judged"], summary["errors"], summary["calls"]) == (2, 1, 5)
    rows = {r["span_id"]: r for r in judge_scores_of(warehouse, "tj/garbage")}
    bad = rows[ids("garbage")[1]]
    assert (bad["score"], bad["score_norm"], bad["error_type"], bad["judge_calls"]) == (None, None, "unparsable", 2)
    assert "unusable judge answer twice" in bad["error"]
    assert len(bad["details"]["parse_problems"]) == 2
    assert bad["judge_cost_usd"] > 0  # the failed calls still cost money, and are recorded
    once = rows[ids("once")[1]]
    assert (once["score"], once["error_type"], once["judge_calls"]) == (5.0, None, 2)
    assert once["details"]["parse_problems"] == ["the reply is not a JSON object (Expecting value at character 0)"]
    assert rows[ids("fine")[1]]["judge_calls"] == 1

    # An unparsable verdict stands: a rerun does not pay for it again.
    calls = _requests(demo_server)
    run_judging(settings, warehouse, window_start=W0, window_end=W1, judge_run_key="tj/garbage",
                rubrics=["helpfulness"])
    assert _requests(demo_server) == calls


def test_judge_errors_beyond_the_error_budget_fail_the_run_after_writing(warehouse, judge_settings):
    insert_spans(warehouse, [span_row("g1", prompt="q", completion="[[judge:garbage]]"),
                             span_row("ok", prompt="q", completion="An answer.")])
    with pytest.raises(JudgeRunError, match="1 of 2 judge items ended in a judge error, above the error budget of 20%"):
        run_judging(judge_settings, warehouse, window_start=W0, window_end=W1, judge_run_key="tj/fail",
                    rubrics=["safety"])
    run = judge_run(warehouse, "tj/fail")
    assert (run["status"], run["judged"], run["errors"]) == ("failed", 1, 1)
    assert "error budget" in run["error"]
    assert len(judge_scores_of(warehouse, "tj/fail")) == 2


def test_an_endpoint_error_is_recorded_and_tried_again_by_the_rerun(warehouse, judge_settings, demo_server):
    judge_ep = judge_settings.endpoint("judge").model_copy(update={"max_retries": 0})
    settings = judge_settings.model_copy(update={"endpoints": [
        judge_ep if e.name == "judge" else e for e in judge_settings.endpoints]})
    settings = with_judge(settings, error_budget=1.0)
    insert_spans(warehouse, [span_row("one", prompt="Do you ship to Mexico?", completion="No.")])
    demo_server.queue_faults("500")
    first = run_judging(settings, warehouse, window_start=W0, window_end=W1, judge_run_key="tj/500",
                        rubrics=["helpfulness"])
    row = judge_scores_of(warehouse, "tj/500")[0]
    assert (first["errors"], row["score"], row["judge_calls"]) == (1, None, 1)
    assert row["error_type"] and row["error_type"] != "unparsable"
    assert row["judge_cost_usd"] == 0.0  # a refused call reports no tokens: nothing was spent
    second = run_judging(settings, warehouse, window_start=W0, window_end=W1, judge_run_key="tj/500",
                         rubrics=["helpfulness"])
    assert (second["resumed"], second["judged"], second["errors"]) == (0, 1, 0)
    assert judge_scores_of(warehouse, "tj/500")[0]["error_type"] is None


def test_budget_caps_and_stratum_minimums_in_a_run(warehouse, judge_settings, demo_server):
    spans = []
    for segment, n in (("free", 8), ("pro", 2), ("enterprise", 1)):
        for i in range(n):
            spans.append(span_row(f"{segment}-{i}", prompt=f"Question {i} from {segment}?",
                                  completion=f"Answer {i}.", segment=segment))
    insert_spans(warehouse, spans)
    stratified = with_judge(judge_settings, sampling={"mode": "stratified", "rate": 0.0, "min_per_stratum": 2})
    summary = run_judging(stratified, warehouse, window_start=W0, window_end=W1, judge_run_key="tj/strata",
                          rubrics=["safety"])
    by_stratum = {}
    for r in judge_scores_of(warehouse, "tj/strata"):
        by_stratum[r["stratum"]] = by_stratum.get(r["stratum"], 0) + 1
    assert by_stratum == {"qa|free": 2, "qa|pro": 2, "qa|enterprise": 1}
    assert (summary["sampled"], summary["planned"]) == (5, 5)

    # max_calls 3 keeps the first three of the priority order: every stratum's first span.
    capped = with_judge(stratified, budget={"max_calls": 3, "max_usd": None})
    summary = run_judging(capped, warehouse, window_start=W0, window_end=W1, judge_run_key="tj/calls",
                          rubrics=["safety"])
    assert (summary["planned"], summary["budget_cut"], summary["calls"]) == (3, 2, 3)
    assert {r["stratum"] for r in judge_scores_of(warehouse, "tj/calls")} == {"qa|free", "qa|pro", "qa|enterprise"}
    assert judge_run(warehouse, "tj/calls")["details"]["budget"]["cut_by"] == "max_calls"

    # A USD cap below two items' estimated cost keeps one.
    cheap = with_judge(stratified, budget={"max_calls": None, "max_usd": 0.00015})
    summary = run_judging(cheap, warehouse, window_start=W0, window_end=W1, judge_run_key="tj/usd",
                          rubrics=["safety"])
    budget = judge_run(warehouse, "tj/usd")["details"]["budget"]
    assert (summary["planned"], summary["budget_cut"], budget["cut_by"]) == (1, 4, "max_usd")
    assert 0 < budget["est_usd"] <= 0.00015 < 2 * budget["est_usd"]


def test_groundedness_needs_context_and_reads_it_from_the_span_attribute(warehouse, judge_settings):
    context = "Express shipping costs $14.99 and takes 1-2 business days."
    insert_spans(warehouse, [
        span_row("grounded", prompt="How fast is express?", completion="Express takes 1-2 business days.",
                 context=context),
        span_row("invented", prompt="How fast is express?", completion="Express arrives within 6 hours.",
                 context=context),
        span_row("no-context", prompt="How fast is express?", completion="1-2 business days."),
    ])
    summary = run_judging(judge_settings, warehouse, window_start=W0, window_end=W1, judge_run_key="tj/rag",
                          rubrics=["groundedness"])
    assert (summary["planned"], summary["skipped"]) == (2, 1)
    score = {r["span_id"]: r["score"] for r in judge_scores_of(warehouse, "tj/rag")}
    assert score == {ids("grounded")[1]: 5.0, ids("invented")[1]: 1.0}


def test_bad_windows_rubrics_and_endpoints_fail_before_any_call(make_settings):
    settings = make_settings("sqlite://")
    naive = dt.datetime(2026, 11, 28, 9)
    with pytest.raises(RunConfError, match="window_start must be a timezone-aware datetime"):
        run_judging(settings, None, window_start=naive, window_end=W1, judge_run_key="k")
    with pytest.raises(RunConfError, match="must be before window_end"):
        run_judging(settings, None, window_start=W1, window_end=W0, judge_run_key="k")
    with pytest.raises(ConfigError, match=r"unknown rubric\(s\) 'nope'"):
        run_judging(settings, None, window_start=W0, window_end=W1, judge_run_key="k", rubrics=["nope"])
    with pytest.raises(ConfigError, match="pairwise rubric"):
        run_judging(settings, None, window_start=W0, window_end=W1, judge_run_key="k", rubrics=["preference"])
    with pytest.raises(ConfigError, match="unknown endpoint 'elsewhere'"):
        run_judging(with_judge(settings, endpoint="elsewhere"), None, window_start=W0, window_end=W1,
                    judge_run_key="k")


def test_an_empty_window_is_a_successful_run_with_nothing_judged(warehouse, judge_settings):
    insert_spans(warehouse, [span_row("no-content", prompt=None, completion="An answer.")])  # content not captured
    summary = run_judging(judge_settings, warehouse, window_start=W0, window_end=W1, judge_run_key="tj/empty")
    assert (summary["spans_in_window"], summary["planned"], summary["calls"], summary["status"]) == (0, 0, 0, "success")
    run = judge_run(warehouse, "tj/empty")
    assert (run["judged"], run["errors"], run["cost_usd"]) == (0, 0, 0.0)
