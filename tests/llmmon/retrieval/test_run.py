"""rag_eval's steps end to end: real HTTP to the demo server's retriever, the demo judge, a real SQLite and
PostgreSQL warehouse. v1 -> v2-degraded is a regression; v1 -> v1-rebuild is not; failures are per query."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from llmmon.errors import GoldenSetError, RunConfError
from llmmon.retrieval import compare, run
from llmmon.retrieval_config import RetrieverConfig
from llmmon.warehouse import retrieval_store
from llmmon.warehouse.schema_retrieval import retrieval_queries, retrieval_results, retrieval_runs

ROOT = Path(__file__).resolve().parents[3]


def _settings(make_settings, url, **retriever):
    s = make_settings(url)
    rcfg = RetrieverConfig(name="demo", endpoint="demo", index_version="v1", **retriever)
    return s.model_copy(update={"retrieval": s.retrieval.model_copy(update={"retrievers": [rcfg]})})


def _eval(settings, wh, run_id, conf):
    spec = run.resolve_run_spec(settings, conf, dag_id="rag_eval", dag_run_id=run_id)
    suite = run.load_suite(settings, spec.suite)
    run.start_run(settings, wh, spec, suite)
    summary = run.retrieve_and_score(settings, wh, spec.run_key)
    verdict = compare.compare_with_baseline(settings, wh, spec.run_key)
    return spec.run_key, summary, verdict


def test_degraded_index_is_a_regression_and_a_rebuild_is_not(make_settings, warehouse, warehouse_url):
    settings = _settings(make_settings, warehouse_url)
    k1, s1, v1 = _eval(settings, warehouse, "r1", {"index_version": "v1", "stage": "deploy", "deploy_id": "idx-1"})
    assert v1.verdict == "no_baseline"
    assert s1["n_failed"] == 0 and s1["means"]["recall@10"] > 0.95
    returned = [q["n_returned"] for q in retrieval_store.run_queries(warehouse, k1)]
    assert s1["n_judged"] == sum(min(5, n) for n in returned) > 250  # top 5 chunks per query, by the demo judge

    k2, s2, v2 = _eval(settings, warehouse, "r2", {"index_version": "v2-degraded", "stage": "deploy"})
    assert v2.verdict == "regression" and v2.baseline_run_key == k1
    overall = {c.metric: c for c in v2.comparisons if c.subject == "overall"}
    assert set(overall) == {"recall@10", "ndcg@10", "mrr@10"}
    assert overall["recall@10"].regressed and overall["recall@10"].drop > 0.3
    assert overall["recall@10"].p_adjusted < 0.001
    assert 0.3 < s1["means"]["context_relevance@5"] < 1.0 and s2["n_judged"] < s1["n_judged"]

    k3, _, v3 = _eval(settings, warehouse, "r3", {"index_version": "v1-rebuild"})
    assert v3.verdict == "no_regression" and v3.baseline_run_key == k2  # latest other version: the degraded one
    k4, _, v4 = _eval(settings, warehouse, "r4", {"index_version": "v1-rebuild", "baseline_index_version": "v1"})
    assert v4.verdict == "no_regression" and v4.baseline_run_key == k1
    assert all(c.worse == 0 and c.better == 0 for c in v4.comparisons)  # same answers: nothing moved

    with warehouse.engine.connect() as conn:
        row = conn.execute(sa.select(retrieval_runs).where(retrieval_runs.c.run_key == k2)).mappings().one()
        assert (row["status"], row["verdict"], row["stage"], row["n_queries"]) == ("success", "regression", "deploy", 64)
        n = conn.execute(sa.select(sa.func.count()).select_from(retrieval_results)
                         .where(retrieval_results.c.run_key == k2)).scalar()
        answered = sum(1 for q in retrieval_store.run_queries(warehouse, k2) if q["n_returned"])
        assert n == 64 * len(settings.retrieval.metric_names) + answered  # + context_relevance@5 where rated
        q = conn.execute(sa.select(retrieval_queries).where(retrieval_queries.c.run_key == k1,
                                                            retrieval_queries.c.query_id == "rq-0001")).mappings().one()
        assert q["status"] == "ok" and q["doc_ids"][0] == "kb-order-01" and q["grades"][0] == 2
        assert len(q["relevance"]) == 5 and q["relevance"][0] >= 4


    # the example queries of docs/warehouse/retrieval.md run and find rows
    doc = (ROOT / "docs" / "warehouse" / "retrieval.md").read_text(encoding="utf-8")
    queries = re.findall(r"^```sql-retrieval\n(.*?)^```", doc, re.S | re.M)
    assert len(queries) == 2
    for sql in queries:
        with warehouse.engine.connect() as conn:
            assert conn.exec_driver_sql(sql.strip().rstrip(";")).fetchall(), sql


def test_a_retry_replaces_the_runs_rows(make_settings, warehouse, warehouse_url):
    settings = _settings(make_settings, warehouse_url)
    spec = run.resolve_run_spec(settings, {"judge": False}, dag_id="rag_eval", dag_run_id="again")
    suite = run.load_suite(settings, spec.suite)
    counts = []
    for _ in range(2):
        run.start_run(settings, warehouse, spec, suite)
        run.retrieve_and_score(settings, warehouse, spec.run_key)
        counts.append(len(retrieval_store.run_results(warehouse, spec.run_key)))
    assert counts[0] == counts[1] == 64 * len(settings.retrieval.metric_names)


def _suite_with(tmp_path, edits: dict[str, str]) -> Path:
    folder = tmp_path / "rag_support"
    shutil.copytree(ROOT / "golden_sets" / "rag_support", folder)
    lines = (folder / "queries.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    for row in rows:
        if row["id"] in edits:
            row["query"] += " " + edits[row["id"]]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return tmp_path


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_timeouts_and_malformed_answers_are_per_query_failures(make_settings, warehouse, warehouse_url, tmp_path):
    sets = _suite_with(tmp_path, {"rq-0001": "[[retriever:timeout]]", "rq-0002": "[[retriever:malformed]]",
                                  "rq-0003": "[[retriever:bad-shape]]"})
    settings = _settings(make_settings, warehouse_url, timeout_s=0.3, max_retries=0)
    settings = settings.model_copy(update={"golden_sets_dir": str(sets), "retrieval": settings.retrieval.model_copy(
        update={"error_budget": 0.1})})
    spec = run.resolve_run_spec(settings, {"judge": False}, dag_id="rag_eval", dag_run_id="faulty")
    run.start_run(settings, warehouse, spec, run.load_suite(settings, "rag_support"))
    summary = run.retrieve_and_score(settings, warehouse, spec.run_key)
    assert summary["n_failed"] == 3
    failed = {q["query_id"]: q for q in retrieval_store.run_queries(warehouse, spec.run_key) if q["status"] == "error"}
    assert {k: v["error_type"] for k, v in failed.items()} == {
        "rq-0001": "timeout", "rq-0002": "malformed", "rq-0003": "malformed"}
    assert "not JSON" in failed["rq-0002"]["error"] and "results" in failed["rq-0003"]["error"]
    assert {r["query_id"] for r in retrieval_store.run_results(warehouse, spec.run_key)}.isdisjoint(failed)
    row = retrieval_store.get_run(warehouse, spec.run_key)
    assert row["status"] == "success" and row["n_failed"] == 3 and row["error_share"] == pytest.approx(3 / 64)


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_past_the_error_budget_the_run_fails_with_its_failures_written(make_settings, warehouse, warehouse_url,
                                                                        tmp_path):
    sets = _suite_with(tmp_path, {f"rq-{i:04d}": "[[retriever:error]]" for i in range(1, 6)})
    settings = _settings(make_settings, warehouse_url, max_retries=0)
    settings = settings.model_copy(update={"golden_sets_dir": str(sets)})
    spec = run.resolve_run_spec(settings, {"judge": False}, dag_id="rag_eval", dag_run_id="broken")
    run.start_run(settings, warehouse, spec, run.load_suite(settings, "rag_support"))
    with pytest.raises(run.RetrievalRunError, match=r"5 of 64 queries failed .*5 http_error"):
        run.retrieve_and_score(settings, warehouse, spec.run_key)
    row = retrieval_store.get_run(warehouse, spec.run_key)
    assert row["status"] == "failed" and "error budget" in row["error"]
    assert retrieval_store.run_results(warehouse, spec.run_key) == []
    assert len(retrieval_store.run_queries(warehouse, spec.run_key)) == 64


def test_bad_run_conf_is_a_clear_error(make_settings, warehouse_url):
    settings = make_settings(warehouse_url)
    with pytest.raises(RunConfError, match="unknown key"):
        run.resolve_run_spec(settings, {"index": "v1"}, dag_id="d", dag_run_id="r")
    with pytest.raises(RunConfError, match="'retriever'.*unknown retriever 'nope'"):
        run.resolve_run_spec(settings, {"retriever": "nope"}, dag_id="d", dag_run_id="r")
    with pytest.raises(RunConfError, match="'stage'"):
        run.resolve_run_spec(settings, {"stage": "canary"}, dag_id="d", dag_run_id="r")
    with pytest.raises(RunConfError, match="'endpoint' .* and 'retriever' .* disagree"):
        run.resolve_run_spec(settings, {"endpoint": "demo", "retriever": "other"}, dag_id="d", dag_run_id="r")
    # the deploy hook's conf (llmmon.deploy_hook.build_conf) names the retriever and version its own way
    hook = run.resolve_run_spec(settings, {"endpoint": "demo", "model_version": "v2-degraded", "deploy_id": "i9",
                                           "stage": "deploy"}, dag_id="d", dag_run_id="r")
    assert (hook.retriever, hook.index_version, hook.stage) == ("demo", "v2-degraded", "deploy")
    spec = run.resolve_run_spec(settings, {"deploy_id": "x"}, dag_id="d", dag_run_id="r")
    assert (spec.stage, spec.index_version, spec.retriever, spec.suite) == ("deploy", "v1", "demo",
                                                                              "rag_support")


def test_a_suite_with_negative_grades_fails_validation_naming_the_row(tmp_path, make_settings, warehouse_url):
    folder = _suite_with(tmp_path, {}) / "rag_support"
    rows = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines()]
    rows[4]["judgements"] = {"kb-order-05": -1}
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    settings = make_settings(warehouse_url).model_copy(update={"golden_sets_dir": str(tmp_path)})
    with pytest.raises(GoldenSetError) as err:
        run.load_suite(settings, "rag_support")
    problems = err.value.problems
    assert {(p["line"], p["example_id"], p["field"]) for p in problems} >= {
        (5, "rq-0005", "judgements.kb-order-05"), (5, "rq-0005", "judgements")}
    assert "negative" in str(err.value)
