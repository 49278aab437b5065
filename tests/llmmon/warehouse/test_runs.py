"""Eval runs: start, land results atomically, fail, find the baseline, record the verdict."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from llmmon.warehouse import WarehouseError
from llmmon.warehouse.schema import eval_results, eval_runs, eval_staging, eval_summaries

from . import hours, table_rows

RUN = "golden_eval/manual__2026-11-01T09:00:00+00:00"


def _run(run_key: str = RUN, **extra) -> dict:
    return {
        "run_key": run_key,
        "dag_id": "golden_eval",
        "dag_run_id": run_key.rpartition("/")[2],
        "suite": "customer_support",
        "suite_version": "3",
        "endpoint": "demo",
        "model": "llmmon-demo-v1",
        "model_version": "v1",
        "stage": "production",
        "trials": 1,
        "started_at": hours(0),
        **extra,
    }


def _result(example_id: str, passed: bool, **extra) -> dict:
    return {
        "example_id": example_id,
        "trial": 0,
        "intent": "refund" if example_id < "c" else "billing",
        "task_type": "classification",
        "scorer": "exact_match",
        "score": 1.0 if passed else 0.0,
        "passed": passed,
        "score_details": {"matched": passed},
        "output": "ok" if passed else "no",
        "expected": "ok",
        "ttft_s": 0.1,
        "latency_s": 0.5,
        "input_tokens": 20,
        "output_tokens": 5,
        "cost_usd": 0.0001,
        "finish_reason": "stop",
        "request_model": "llmmon-demo-v1",
        "response_model": "llmmon-demo-v1",
        "attempts": 1,
        "timing_suspect": False,
        "started_at": hours(0.01),
        **extra,
    }


RESULTS = [_result("a1", True), _result("a2", False), _result("c1", True)]
SUMMARIES = [
    {"dimension": "overall", "value": "all", "n": 3, "n_passed": 2, "n_errors": 0, "pass_rate": 2 / 3},
    {"dimension": "intent", "value": "refund", "n": 2, "n_passed": 1, "n_errors": 0, "pass_rate": 0.5},
    {"dimension": "intent", "value": "billing", "n": 1, "n_passed": 1, "n_errors": 0, "pass_rate": 1.0},
]
RUN_UPDATE = {"n_examples": 3, "n_calls": 3, "n_errors": 0, "n_passed": 2, "pass_rate": 2 / 3, "finished_at": hours(1)}


def _stage(warehouse, keys=("a1#0", "a2#0", "c1#0")) -> None:
    warehouse.write_staging(RUN, 0, [{"key": k, "output": "x"} for k in keys])


def _all(warehouse) -> dict[str, list[dict]]:
    return {t.name: table_rows(warehouse, t) for t in (eval_runs, eval_results, eval_summaries, eval_staging)}


def test_start_eval_run_creates_a_running_row(warehouse):
    row = warehouse.start_eval_run(_run())
    assert row == warehouse.get_eval_run(RUN)
    assert row["status"] == "running"
    assert row["started_at"] == hours(0)
    assert row["finished_at"] is None and row["error"] is None and row["pass_rate"] is None
    assert row["suite_version"] == "3"
    assert warehouse.get_eval_run("golden_eval/unknown") is None


def test_start_eval_run_twice_converges(warehouse):
    warehouse.start_eval_run(_run())
    first = _all(warehouse)
    warehouse.start_eval_run(_run())
    assert _all(warehouse) == first
    assert len(first["eval_runs"]) == 1


def test_start_eval_run_on_a_finished_run_clears_its_results_and_resets_it(warehouse):
    other = "golden_eval/other"
    for key in (RUN, other):
        warehouse.start_eval_run(_run(key))
        warehouse.write_eval_results(key, RESULTS, SUMMARIES, RUN_UPDATE)
    warehouse.set_verdict(RUN, other, "pass", {"delta": 0.0})
    warehouse.write_staging(RUN, 1, [{"key": "a1#0"}])  # a half-finished retry's shard output

    row = warehouse.start_eval_run(_run(started_at=hours(2)))

    assert row["status"] == "running" and row["started_at"] == hours(2)
    assert row["finished_at"] is None and row["pass_rate"] is None and row["n_calls"] is None
    assert row["verdict"] is None and row["baseline_run_key"] is None and row["verdict_details"] is None
    assert warehouse.eval_results(RUN) == [] and warehouse.eval_summaries(RUN) == []
    assert warehouse.staged_keys(RUN) == {"a1#0"}  # kept, so the retry resumes
    # The other run is untouched.
    assert len(warehouse.eval_results(other)) == 3 and len(warehouse.eval_summaries(other)) == 3

    warehouse.start_eval_run(_run(), clear_staging=True)
    assert warehouse.staged_keys(RUN) == set()


def test_start_eval_run_refuses_unknown_and_lifecycle_columns(warehouse):
    with pytest.raises(WarehouseError, match="unknown eval_runs column.*'suite_verison'"):
        warehouse.start_eval_run(_run(suite_verison="3"))
    with pytest.raises(WarehouseError, match="'status' are set by the warehouse"):
        warehouse.start_eval_run(_run(status="success"))
    with pytest.raises(WarehouseError, match="'error' are set by the warehouse"):
        warehouse.start_eval_run(_run(error="leftover"))
    with pytest.raises(WarehouseError, match="run_key must be a non-empty string"):
        warehouse.start_eval_run({"suite": "x"})
    assert table_rows(warehouse, eval_runs) == []
    # Stating what start sets anyway is fine.
    row = warehouse.start_eval_run(_run(status="running", error=None, finished_at=None))
    assert row["status"] == "running"


def test_write_eval_results_lands_everything_and_clears_staging(warehouse):
    warehouse.start_eval_run(_run())
    _stage(warehouse)

    warehouse.write_eval_results(RUN, RESULTS, SUMMARIES, RUN_UPDATE)

    run = warehouse.get_eval_run(RUN)
    assert run["status"] == "success" and run["finished_at"] == hours(1)
    assert (run["n_calls"], run["n_passed"], run["pass_rate"]) == (3, 2, pytest.approx(2 / 3))
    results = warehouse.eval_results(RUN)
    assert [(r["example_id"], r["trial"], r["passed"]) for r in results] == [
        ("a1", 0, True), ("a2", 0, False), ("c1", 0, True)
    ]
    assert results[0] == {"run_key": RUN, "error_type": None, "error": None, **RESULTS[0]}
    assert [(s["dimension"], s["value"], s["n"]) for s in warehouse.eval_summaries(RUN)] == [
        ("overall", "all", 3), ("intent", "billing", 1), ("intent", "refund", 2)
    ]
    assert warehouse.staged_keys(RUN) == set()


def test_write_eval_results_twice_converges(warehouse):
    warehouse.start_eval_run(_run())
    warehouse.write_eval_results(RUN, RESULTS, SUMMARIES, RUN_UPDATE)
    first = _all(warehouse)
    warehouse.write_eval_results(RUN, RESULTS, SUMMARIES, RUN_UPDATE)
    assert _all(warehouse) == first
    assert [len(first[t]) for t in ("eval_runs", "eval_results", "eval_summaries", "eval_staging")] == [1, 3, 3, 0]


def test_write_eval_results_replaces_rows_of_an_earlier_write(warehouse):
    warehouse.start_eval_run(_run())
    warehouse.write_eval_results(RUN, RESULTS, SUMMARIES, RUN_UPDATE)
    warehouse.write_eval_results(RUN, RESULTS[:1], SUMMARIES[:1], {**RUN_UPDATE, "n_calls": 1})
    assert [r["example_id"] for r in warehouse.eval_results(RUN)] == ["a1"]
    assert len(warehouse.eval_summaries(RUN)) == 1
    assert warehouse.get_eval_run(RUN)["n_calls"] == 1


@pytest.mark.parametrize(
    "results, summaries",
    [
        # the third result repeats the key of the first: the insert fails after rows went in
        pytest.param(RESULTS + [_result("a1", True)], SUMMARIES, id="duplicate-result-key"),
        # results all go in, then a summary breaks the dimension CHECK constraint
        pytest.param(RESULTS, SUMMARIES + [{"dimension": "language", "value": "en", "n": 1}], id="bad-summary"),
        # a NOT NULL column missing in the last summary
        pytest.param(RESULTS, SUMMARIES + [{"dimension": "intent", "value": "x", "n": None}], id="null-n"),
    ],
)
def test_write_eval_results_is_atomic(warehouse, results, summaries):
    warehouse.start_eval_run(_run())
    _stage(warehouse)
    before = _all(warehouse)

    with pytest.raises(sa.exc.IntegrityError):
        warehouse.write_eval_results(RUN, results, summaries, RUN_UPDATE)

    assert _all(warehouse) == before
    assert warehouse.get_eval_run(RUN)["status"] == "running"
    assert warehouse.eval_results(RUN) == [] and warehouse.eval_summaries(RUN) == []
    assert len(warehouse.staged_keys(RUN)) == 3


def test_a_failed_rewrite_keeps_the_previous_results(warehouse):
    warehouse.start_eval_run(_run())
    warehouse.write_eval_results(RUN, RESULTS, SUMMARIES, RUN_UPDATE)
    before = _all(warehouse)
    with pytest.raises(sa.exc.IntegrityError):
        warehouse.write_eval_results(RUN, RESULTS + RESULTS, SUMMARIES, {**RUN_UPDATE, "n_calls": 6})
    assert _all(warehouse) == before


def test_write_eval_results_needs_the_run_row_and_matching_run_keys(warehouse):
    with pytest.raises(WarehouseError, match="no eval_runs row; call start_eval_run first"):
        warehouse.write_eval_results(RUN, RESULTS, SUMMARIES, RUN_UPDATE)
    assert table_rows(warehouse, eval_results) == [] and table_rows(warehouse, eval_summaries) == []

    warehouse.start_eval_run(_run())
    with pytest.raises(WarehouseError, match=r"results: row 1 has run_key 'other', expected"):
        warehouse.write_eval_results(RUN, [RESULTS[0], {**RESULTS[1], "run_key": "other"}], [], {})
    with pytest.raises(WarehouseError, match=r"results: row 0 has unknown column\(s\) 'scroe'"):
        warehouse.write_eval_results(RUN, [{**RESULTS[0], "scroe": 1}], [], {})
    with pytest.raises(WarehouseError, match="'status' are set by the warehouse"):
        warehouse.write_eval_results(RUN, RESULTS, SUMMARIES, {"status": "failed"})


def test_fail_eval_run_creates_the_row_when_the_run_never_started(warehouse):
    warehouse.fail_eval_run(RUN, "invalid run conf: trials must be >= 1", finished_at=hours(0), dag_id="golden_eval",
                            endpoint="demo")
    first = table_rows(warehouse, eval_runs)
    row = warehouse.get_eval_run(RUN)
    assert row["status"] == "failed" and row["error"] == "invalid run conf: trials must be >= 1"
    assert row["finished_at"] == hours(0) and row["dag_id"] == "golden_eval" and row["endpoint"] == "demo"
    assert row["started_at"] is None and row["suite"] is None

    warehouse.fail_eval_run(RUN, "invalid run conf: trials must be >= 1", finished_at=hours(0), dag_id="golden_eval",
                            endpoint="demo")
    assert table_rows(warehouse, eval_runs) == first


def test_fail_eval_run_keeps_what_the_started_run_knew(warehouse):
    warehouse.start_eval_run(_run())
    warehouse.fail_eval_run(RUN, "EndpointError: 40% of calls failed", finished_at=hours(1))
    row = warehouse.get_eval_run(RUN)
    assert (row["status"], row["error"], row["finished_at"]) == ("failed", "EndpointError: 40% of calls failed", hours(1))
    assert row["suite"] == "customer_support" and row["started_at"] == hours(0)

    # The retry resets it.
    assert warehouse.start_eval_run(_run())["error"] is None
    with pytest.raises(WarehouseError, match="'status' are set by the warehouse"):
        warehouse.fail_eval_run(RUN, "x", status="success")


# -- baseline -------------------------------------------------------------------------------------------------


def _finished(warehouse, run_key: str, finished: float | None, status: str = "success", **extra) -> None:
    warehouse.start_eval_run(_run(run_key, started_at=hours(-1), **extra))
    if status == "success":
        warehouse.write_eval_results(run_key, [], [], {"finished_at": hours(finished)})
    elif status == "failed":
        warehouse.fail_eval_run(run_key, "boom", finished_at=hours(finished))


@pytest.fixture
def baseline_runs(warehouse):
    """Runs of suite version 3 on endpoint demo, model v1, unless noted; finished at hour N."""
    _finished(warehouse, "r01", 1)
    _finished(warehouse, "r03", 3)  # the expected baseline for `before` = hour 5
    _finished(warehouse, "r04-failed", 4, status="failed")
    _finished(warehouse, "r035-v2", 3.5, model_version="v2")
    _finished(warehouse, "r045-sv2", 4.5, suite_version="2")
    _finished(warehouse, "r045-other-endpoint", 4.5, endpoint="other")
    _finished(warehouse, "r045-other-suite", 4.5, suite="sales")
    _finished(warehouse, "r06", 6)  # after `before`
    _finished(warehouse, "r-running", None, status="running")
    return warehouse


def test_find_baseline_run_picks_the_last_successful_matching_run_before(baseline_runs):
    def key(**kw):
        args = {"suite_version": "3", "endpoint": "demo", "model_version": "v1", "before": hours(5)} | kw
        row = baseline_runs.find_baseline_run(**args)
        return row["run_key"] if row else None

    assert key(suite="customer_support") == "r03"
    assert key() == "r045-other-suite"  # without `suite`, only the suite version must match
    assert key(before=hours(3)) == "r01"  # strictly before
    assert key(before=hours(1)) is None
    assert key(before=hours(7)) == "r06"
    assert key(model_version="v2") == "r035-v2"
    assert key(model_version="v3") is None
    assert key(suite_version="2") == "r045-sv2"
    assert key(endpoint="other") == "r045-other-endpoint"


def test_find_latest_other_version_run_picks_the_last_successful_run_of_another_version(baseline_runs):
    def key(version: str, before: float, **kw):
        row = baseline_runs.find_latest_other_version_run("3", "demo", version, hours(before), **kw)
        return row["run_key"] if row else None

    assert key("v2", 5) == "r045-other-suite"
    assert key("v2", 5, suite="customer_support") == "r03"
    assert key("v1", 5) == "r035-v2"
    assert key("v1", 3.5) is None  # strictly before
    assert key("v9", 7) == "r06"


def test_find_baseline_runs_returns_the_last_n_matching_runs_most_recent_first(baseline_runs):
    def keys(limit: int, **kw):
        args = {"suite_version": "3", "endpoint": "demo", "model_version": "v1", "before": hours(5)} | kw
        return [r["run_key"] for r in baseline_runs.find_baseline_runs(**args, limit=limit)]

    # v1 runs of suite version 3 on demo before hour 5: r045-other-suite (4.5), r03 (3), r01 (1); the failed
    # r04, the other version, suite version and endpoint, and r06 (after) are not candidates
    assert keys(3) == ["r045-other-suite", "r03", "r01"]
    assert keys(20) == ["r045-other-suite", "r03", "r01"]  # fewer exist: all of them
    assert keys(2) == ["r045-other-suite", "r03"]
    assert keys(1) == [baseline_runs.find_baseline_run("3", "demo", "v1", hours(5))["run_key"]]
    assert keys(5, suite="customer_support") == ["r03", "r01"]
    assert keys(5, before=hours(3)) == ["r01"]  # strictly before
    assert keys(5, before=hours(1)) == []
    assert keys(5, before=hours(7)) == ["r06", "r045-other-suite", "r03", "r01"]
    assert keys(5, model_version="v2") == ["r035-v2"]
    for bad in (0, -1, True, 2.0):
        with pytest.raises(WarehouseError, match="limit must be a positive integer"):
            keys(bad)


def test_find_latest_other_version_runs_pools_one_version_only(baseline_runs):
    _finished(baseline_runs, "r02-v2", 2, model_version="v2")
    _finished(baseline_runs, "r025-v3", 2.5, model_version="v3")

    def keys(version: str, before: float, limit: int = 3, **kw):
        rows = baseline_runs.find_latest_other_version_runs("3", "demo", version, hours(before), limit=limit, **kw)
        return [r["run_key"] for r in rows]

    # the latest other-version run before hour 5 is r035-v2: the pool is v2's runs, never v3's r025 between them
    assert keys("v1", 5) == ["r035-v2", "r02-v2"]
    assert keys("v1", 5, limit=1) == ["r035-v2"]
    assert keys("v1", 3) == ["r025-v3"]  # strictly before: now v3 is the latest other version
    assert keys("v2", 5) == ["r045-other-suite", "r03", "r01"]
    assert keys("v2", 5, suite="customer_support") == ["r03", "r01"]
    assert keys("v1", 2) == []


def test_latest_eval_runs_newest_first_with_filters(warehouse):
    warehouse.start_eval_run(_run("r1", started_at=hours(1), deploy_id="dep-a"))
    warehouse.start_eval_run(_run("r3", started_at=hours(3), deploy_id="dep-b", endpoint="other"))
    warehouse.start_eval_run(_run("r2", started_at=hours(2), deploy_id="dep-a"))
    warehouse.fail_eval_run("r4-never-started", "bad conf", finished_at=hours(4), deploy_id="dep-a")

    def keys(**kw):
        return [r["run_key"] for r in warehouse.latest_eval_runs(**kw)]

    assert keys() == ["r4-never-started", "r3", "r2", "r1"]
    assert keys(limit=2) == ["r4-never-started", "r3"]
    assert keys(deploy_id="dep-a", limit=2) == ["r4-never-started", "r2"]
    assert keys(endpoint="other") == ["r3"]
    assert keys(deploy_id="dep-zzz") == []


def test_find_baseline_run_breaks_ties_by_run_key(warehouse):
    _finished(warehouse, "run-a", 2)
    _finished(warehouse, "run-b", 2)
    row = warehouse.find_baseline_run("3", "demo", "v1", hours(5))
    assert row["run_key"] == "run-b"


def test_set_verdict(warehouse):
    warehouse.start_eval_run(_run())
    details = {"pass_rate_delta": -0.12, "p_value": 0.003, "intents": {"refund": {"delta": -0.3, "n": 40}}}
    warehouse.set_verdict(RUN, "golden_eval/base", "regression", details)
    warehouse.set_verdict(RUN, "golden_eval/base", "regression", details)
    row = warehouse.get_eval_run(RUN)
    assert (row["baseline_run_key"], row["verdict"], row["verdict_details"]) == ("golden_eval/base", "regression", details)

    warehouse.set_verdict(RUN, None, "no_baseline", None)
    row = warehouse.get_eval_run(RUN)
    assert (row["baseline_run_key"], row["verdict"], row["verdict_details"]) == (None, "no_baseline", None)

    with pytest.raises(WarehouseError, match="no eval_runs row for run_key 'missing'"):
        warehouse.set_verdict("missing", None, "pass", None)


def test_write_eval_results_inserts_in_one_batch_per_table(warehouse):
    warehouse.start_eval_run(_run())
    inserts: list[tuple[str, int]] = []

    def count(conn, clauseelement, multiparams, params, execution_options):
        if isinstance(clauseelement, sa.Insert):
            inserts.append((clauseelement.table.name, len(multiparams) or 1))

    results = [_result(f"a{i:03d}", i % 3 > 0) for i in range(150)]
    sa.event.listen(warehouse.engine, "before_execute", count)
    warehouse.write_eval_results(RUN, results, SUMMARIES, RUN_UPDATE)
    sa.event.remove(warehouse.engine, "before_execute", count)
    assert inserts == [("eval_results", 150), ("eval_summaries", 3)]
    assert len(warehouse.eval_results(RUN)) == 150
