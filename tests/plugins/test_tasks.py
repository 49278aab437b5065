"""golden_eval's run conf when a provider-side model change (recorded by traffic ingestion) triggers it."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from llmmon import golden_eval as ge
from llmmon.config import env_secret_resolver

T0 = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def _provider_change(warehouse, deploy_id="provider:demo:llmmon-demo-v2:fp_v2"):
    warehouse.record_deployment(
        deploy_id, endpoint="demo", model="llmmon-demo-v2", model_version="fp_v2", deployed_at=T0,
        source="provider", stage="deploy",
        details={"request_model": "llmmon-demo-v1", "response_model": "llmmon-demo-v2", "system_fingerprint": "fp_v2"},
    )
    return deploy_id


def _context(params=None, deploy_ids=()):
    from airflow.sdk import Asset

    from llmmon_airflow.tasks import PROVIDER_CHANGES_URI

    events = {Asset(PROVIDER_CHANGES_URI): [SimpleNamespace(extra={"deploy_ids": list(deploy_ids)})]} if deploy_ids \
        else {}
    return {"params": {"stage": "daily", "trials": 1, **(params or {})}, "triggering_asset_events": events}


def test_conf_from_a_provider_change(make_settings, warehouse):
    from llmmon_airflow.tasks import golden_eval_conf

    settings = make_settings(warehouse.engine.url.render_as_string(hide_password=False))
    deploy_id = _provider_change(warehouse)
    conf = golden_eval_conf(_context(deploy_ids=[deploy_id]), settings, warehouse)
    # the app's requested model is evaluated; the fingerprint is the version; the change is the deployment
    assert (conf["endpoint"], conf["model"], conf["model_version"], conf["deploy_id"], conf["stage"]) == (
        "demo", "llmmon-demo-v1", "fp_v2", deploy_id, "deploy")
    # scheduled and explicit runs keep their own conf
    assert golden_eval_conf(_context(), settings, warehouse)["stage"] == "daily"
    explicit = golden_eval_conf(_context({"model_version": "v9"}, deploy_ids=[deploy_id]), settings, warehouse)
    assert explicit["model_version"] == "v9" and "deploy_id" not in explicit
    # a change on an endpoint llmmon does not evaluate is ignored
    other = "provider:elsewhere:m:fp"
    warehouse.record_deployment(other, endpoint="elsewhere", model="m", model_version="fp", deployed_at=T0,
                                source="provider", stage="deploy", details={})
    assert "deploy_id" not in golden_eval_conf(_context(deploy_ids=[other]), settings, warehouse)


def test_provider_triggered_eval_keeps_the_recorded_change_and_compares_with_earlier_runs(make_settings, warehouse):
    settings = make_settings(warehouse.engine.url.render_as_string(hide_password=False))
    secrets = env_secret_resolver({})

    def run(run_id, conf):
        spec = ge.resolve_run_spec(settings, conf, dag_id="test", dag_run_id=run_id, warehouse=warehouse)
        suite = ge.load_and_validate(settings, spec.suite)
        for shard in ge.prepare_run(settings, warehouse, spec, suite):
            ge.run_shard(settings, warehouse, spec.run_key, shard, 4, secrets=secrets)
        ge.score_run(settings, warehouse, spec.run_key)
        ge.compare_with_baseline(settings, warehouse, spec.run_key)
        return spec.run_key

    base = run("before", {"model": "llmmon-demo-v1", "model_version": "v1", "deploy_id": "d1"})
    deploy_id = _provider_change(warehouse)
    before = warehouse.get_deployment(deploy_id)
    key = run("after", {"endpoint": "demo", "model": "llmmon-demo-v1", "model_version": "fp_v2",
                        "deploy_id": deploy_id, "stage": "deploy"})
    assert warehouse.get_deployment(deploy_id) == before  # source "provider" and first-seen time kept
    # the previous deployment (d1, v1) has runs: they are the baseline
    assert warehouse.get_eval_run(key)["baseline_run_key"] == base


def test_failure_callbacks_fail_a_running_run_and_leave_a_finished_one(warehouse, monkeypatch):
    from llmmon.warehouse import retrieval_store
    from llmmon.warehouse.schema_retrieval import retrieval_runs
    from llmmon_airflow.tasks import record_retrieval_failure_callback

    monkeypatch.setenv("LLMMON_WAREHOUSE_URL", warehouse.engine.url.render_as_string(hide_password=False))
    for key in ("rag_eval/manual__1", "rag_eval/manual__2"):
        retrieval_store.start_run(warehouse, {"run_key": key, "retriever": "demo", "index_version": "v1",
                                              "suite": "rag_support", "stage": "manual"})
    with warehouse.engine.begin() as conn:  # the second run finished before a later task failed
        conn.execute(retrieval_runs.update()
                     .where(retrieval_runs.c.run_key == "rag_eval/manual__2").values(status="success"))

    def context(run_id):
        return {"dag": SimpleNamespace(dag_id="rag_eval"), "run_id": run_id,
                "task_instance": SimpleNamespace(task_id="retrieve_and_score"), "exception": TimeoutError("slow")}

    record_retrieval_failure_callback(context("manual__1"))
    record_retrieval_failure_callback(context("manual__2"))
    failed = retrieval_store.get_run(warehouse, "rag_eval/manual__1")
    assert failed["status"] == "failed"
    assert "task retrieve_and_score failed: TimeoutError: slow" in failed["error"]
    assert retrieval_store.get_run(warehouse, "rag_eval/manual__2")["status"] == "success"


def test_bad_input_records_through_the_given_writer(warehouse):
    from airflow.sdk.exceptions import AirflowFailException

    from llmmon.errors import RunConfError
    from llmmon.warehouse import retrieval_store
    from llmmon_airflow.tasks import bad_input_fails_run

    known = {"retriever": "demo", "index_version": "?", "suite": "rag_support", "stage": "manual"}
    with pytest.raises(AirflowFailException, match="unknown retriever"), \
            bad_input_fails_run(warehouse, "rag_eval/manual__3",
                                fail=lambda *a, **k: retrieval_store.fail_run(warehouse, *a, **k), **known):
        raise RunConfError("unknown retriever 'nope'")
    row = retrieval_store.get_run(warehouse, "rag_eval/manual__3")
    assert (row["status"], row["error"]) == ("failed", "RunConfError: unknown retriever 'nope'")
