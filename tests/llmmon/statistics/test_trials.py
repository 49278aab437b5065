"""Per-example aggregation over k trials and flaky examples."""

from __future__ import annotations

from fractions import Fraction

import pytest

from llmmon.statistics.trials import aggregate_trials, flaky_examples, max_trials, pool_runs


def row(eid, trial, passed, score=None, error=None, intent="refund"):
    return {"example_id": eid, "trial": trial, "intent": intent, "passed": passed,
            "score": float(passed) if score is None else score, "error_type": error}


def test_aggregates_each_example_over_its_trials():
    rows = [row("a", 0, True, 0.9), row("a", 1, False, 0.2), row("a", 2, True, 1.0),
            row("b", 0, True), row("b", 1, True), row("b", 2, False, 0.0, error="timeout")]
    out = aggregate_trials(rows)
    a, b = out["a"], out["b"]
    assert (a.trials, a.valid, a.passes, a.errors) == (3, 3, 2, 0)
    assert a.pass_share == Fraction(2, 3) and a.mean_score == pytest.approx(2.1 / 3)
    assert a.flaky and a.intent == "refund"
    # the errored trial is neither a pass nor a fail: b passed both of its valid trials
    assert (b.trials, b.valid, b.passes, b.errors) == (3, 2, 2, 1)
    assert b.pass_share == 1 and b.mean_score == 1.0 and not b.flaky


def test_a_repeated_row_counts_once_last_wins():
    out = aggregate_trials([row("a", 0, False), row("a", 0, True)])
    assert (out["a"].trials, out["a"].passes) == (1, 1)


def test_all_trials_errored():
    out = aggregate_trials([row("a", 0, False, error="server_error"), row("a", 1, False, error="timeout")])
    assert out["a"].valid == 0 and out["a"].pass_share is None and out["a"].mean_score is None
    assert not out["a"].flaky


def test_missing_trial_means_trial_zero_and_missing_score_follows_passed():
    out = aggregate_trials([{"example_id": 7, "passed": True}])
    assert out["7"].trials == 1 and out["7"].mean_score == 1.0 and out["7"].intent is None


def test_flaky_examples_in_either_run():
    base = aggregate_trials([row("a", 0, True), row("a", 1, False), row("b", 0, True), row("b", 1, True)])
    cand = aggregate_trials([row("a", 0, True), row("a", 1, True), row("b", 0, False), row("b", 1, True),
                             row("c", 0, False), row("c", 1, False)])
    assert flaky_examples(base) == ["a"]
    assert flaky_examples(cand) == ["b"]
    assert flaky_examples(cand, base) == ["a", "b"]
    assert max_trials(cand, base) == 2 and max_trials() == 0


def test_single_trial_is_never_flaky():
    out = aggregate_trials([row("a", 0, True), row("b", 0, False)])
    assert flaky_examples(out) == []


def test_row_without_example_id_is_named():
    with pytest.raises(ValueError, match="candidate results: row 1 has no 'example_id'"):
        aggregate_trials([row("a", 0, True), {"trial": 0, "passed": True}], source="candidate results")


def test_pool_runs_reindexes_trials_so_runs_never_collide():
    newest = [row("a", 0, True), row("a", 1, False), row("b", 0, True)]  # 2 trial slots (k = 2)
    older = [row("a", 0, False, intent="old-intent"), row("b", 0, True), row("b", 1, True, error="timeout")]
    oldest = [row("a", 0, True)]
    pooled = pool_runs([newest, iter(older), oldest])  # any iterables
    assert [(r["example_id"], r["trial"], r["passed"]) for r in pooled] == [
        ("a", 0, True), ("a", 1, False), ("b", 0, True),  # run 0: trials 0..1
        ("a", 2, False), ("b", 2, True), ("b", 3, True),  # run 1: trials 2..3
        ("a", 4, True),  # run 2: trial 4
    ]
    assert newest[1]["trial"] == 1  # the callers' rows are not modified
    out = aggregate_trials(pooled)
    # a: passed in 2 of its 4 pooled trials; b: 2 of 2 valid, its third trial errored
    assert (out["a"].trials, out["a"].passes, out["a"].pass_share) == (4, 2, Fraction(1, 2))
    assert (out["b"].trials, out["b"].valid, out["b"].errors) == (3, 2, 1)
    assert out["a"].intent == "refund"  # read from the first (most recent) run
    assert out["a"].flaky and not out["b"].flaky


def test_pool_runs_of_one_run_is_that_run_and_of_none_is_empty():
    run = [row("a", 0, True), row("a", 1, False)]
    assert pool_runs([run]) == run
    assert pool_runs([]) == [] and pool_runs([[], []]) == []
