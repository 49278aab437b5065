"""rag_eval: retrieval quality of a RAG retriever on the golden retrieval suite, daily and on every index deploy.

A release pipeline triggers it when a new index or embedding model ships (the REST API, or
``llmmon.deploy_hook.trigger_golden_eval(request, dag_id="rag_eval")``) with conf ``{"retriever": ..., "index_version": ..., "deploy_id": ..., "stage": "deploy"}``; the
daily run evaluates the index deployed last. Steps: validate the suite and conf -> start the run -> retrieve every
golden query and score recall@k, precision@k, hit@k, MRR@k, nDCG@k, MAP and judge context relevance -> compare with
the baseline index version (paired sign-flip tests) -> on daily runs, judge the context relevance of sampled
production RAG spans of the data interval -> evaluate alert rules (sustained: `for: 2`). Logic lives in
``llmmon.retrieval``; XCom carries the run key only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, task

from llmmon_airflow.dag_defaults import default_args
from llmmon_airflow.tasks import record_retrieval_failure_callback

DOC = __doc__
STAGES = ["daily", "deploy", "manual"]


def _spec(context: dict[str, Any], settings, warehouse):
    from llmmon.retrieval.run import resolve_run_spec

    return resolve_run_spec(settings, dict(context["params"]), dag_id=context["dag"].dag_id,
                            dag_run_id=context["run_id"], warehouse=warehouse)


@dag(
    dag_id="rag_eval",
    schedule=CronTriggerTimetable("@daily", timezone="UTC", interval=timedelta(days=1)),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    doc_md=DOC,
    tags=["llmmon", "eval", "retrieval", "rag"],
    default_args=default_args(record_retrieval_failure_callback),
    params={
        "retriever": Param(None, type=["null", "string"], description="Retriever name from retrieval.retrievers"),
        "index_version": Param(None, type=["null", "string"], maxLength=200,
                               description="Index / embedding version under test (default: the last deployed)"),
        "deploy_id": Param(None, type=["null", "string"], maxLength=200, description="Deployment id (deploys)"),
        "stage": Param(None, type=["null", "string"], enum=[None, *STAGES], description="Why this run happens"),
        "suite": Param(None, type=["null", "string"], description="Golden retrieval suite (default from config)"),
        "baseline_index_version": Param(None, type=["null", "string"],
                                        description="Compare with this version (default: the previous one)"),
        "judge": Param(None, type=["null", "boolean"], description="Rate chunks with the LLM judge"),
        # what llmmon.deploy_hook sends: read as retriever and index_version
        "endpoint": Param(None, type=["null", "string"], description="Deploy hook: the retriever name"),
        "model_version": Param(None, type=["null", "string"], description="Deploy hook: the index version"),
    },
)
def rag_eval():
    @task
    def start(**context) -> str:
        from llmmon.retrieval.run import load_suite, run_key_for, start_run
        from llmmon.warehouse import retrieval_store
        from llmmon_airflow.tasks import bad_input_fails_run, settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        warehouse.upgrade()
        run_key = run_key_for(context["dag"].dag_id, context["run_id"])
        params = context["params"]
        known = {"dag_id": context["dag"].dag_id, "dag_run_id": context["run_id"],
                 "retriever": params.get("retriever") or params.get("endpoint") or "?",
                 "index_version": params.get("index_version") or params.get("model_version") or "?",
                 "suite": params.get("suite") or settings.retrieval.suite,
                 "stage": params.get("stage") if params.get("stage") in STAGES else "manual"}

        with bad_input_fails_run(warehouse, run_key, fail=lambda *a, **k: retrieval_store.fail_run(warehouse, *a, **k),
                                 **known):
            spec = _spec(context, settings, warehouse)
            suite = load_suite(settings, spec.suite)
            start_run(settings, warehouse, spec, suite)
        print(f"rag_eval {run_key}: retriever {spec.retriever} index {spec.index_version} on {suite.name}@"
              f"{suite.version} ({len(suite.queries)} queries, stage {spec.stage})")
        return spec.run_key

    @task
    def retrieve_and_score(run_key: str) -> str:
        from llmmon.retrieval.run import retrieve_and_score as run_it
        from llmmon_airflow.connections import airflow_secret_resolver
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        summary = run_it(settings, warehouse, run_key, secrets=airflow_secret_resolver())
        means = summary["means"]
        print(f"{summary['n_queries']} queries, {summary['n_failed']} failed; "
              + ", ".join(f"{m} {means[m]:.3f}" for m in ("recall@5", "recall@10", "ndcg@10", "mrr@10")
                          if means.get(m) is not None)
              + f"; {summary['n_judged']} chunks rated by the judge")
        return run_key

    @task
    def compare(run_key: str) -> str:
        from llmmon.retrieval.compare import compare_with_baseline
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        verdict = compare_with_baseline(settings, warehouse, run_key)
        print(f"verdict: {verdict.verdict} — {verdict.reason}")
        return run_key

    @task
    def judge_traffic(run_key: str, **context) -> dict:
        from llmmon.retrieval.traffic import judge_traffic as judge
        from llmmon.warehouse import retrieval_store
        from llmmon_airflow.connections import airflow_secret_resolver
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        run = retrieval_store.get_run(warehouse, run_key)
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        if run["stage"] != "daily" or not settings.retrieval.context_relevance.enabled or not start or start >= end:
            return {"windows": 0, "skipped": "only daily runs judge production traffic"}
        windows = judge(settings, warehouse, start, end, secrets=airflow_secret_resolver())
        for w in windows:
            mean = "-" if w["mean_relevance"] is None else f"{w['mean_relevance']:.3f}"
            print(f"context relevance {w['window_start']}: {w['rag_spans']} RAG spans, {w['rated']} chunks rated, "
                  f"mean {mean}")
        return {"windows": len(windows), "rated": sum(w["rated"] for w in windows)}

    @task
    def alert(run_key: str, traffic: dict) -> dict:
        from llmmon.alerts.evaluate import evaluate_alerts
        from llmmon_airflow.connections import airflow_secret_resolver
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        report = evaluate_alerts(settings, warehouse, secrets=airflow_secret_resolver())
        return {"run_key": run_key, "transitions": len(report.transitions),
                "failed_deliveries": len(report.failed_deliveries)}

    compared = compare(retrieve_and_score(start()))
    alert(compared, judge_traffic(compared))


rag_eval()
