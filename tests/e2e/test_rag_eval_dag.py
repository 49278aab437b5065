"""End to end through Airflow: ``dag.test()`` of rag_eval against the demo server's retriever and judge.

Index v1 is deployed, then the degraded index: its deploy run is a regression (alert pending), the daily run evaluates
what is deployed now, confirms it, and the ``for: 2`` alert fires to a real webhook receiver. Bad conf fails the run
and is recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.helpers import environ, rows

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "rag_eval.py"))
    assert bag.import_errors == {}
    return bag.dags["rag_eval"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, airflow_db):
    from llmmon.demo.runner import WebhookReceiver
    from llmmon.demo.server import DemoServer, DemoServerConfig

    tmp = tmp_path_factory.mktemp("e2e_rag")
    url = f"sqlite:///{tmp / 'warehouse.db'}"
    config = DemoServerConfig(port=0, golden_sets_dir=str(ROOT / "golden_sets"), ttft_ms=2, latency_ms=5, jitter_ms=0)
    with DemoServer(config) as server, WebhookReceiver() as receiver:
        with environ(LLMMON_DEMO_URL=server.base_url, LLMMON_WAREHOUSE_URL=url, LLMMON_ALERT_WEBHOOK_URL=receiver.url):
            yield {"url": url, "server": server, "receiver": receiver}


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def test_degraded_index_regresses_and_the_sustained_alert_fires(dag, stack):
    url = stack["url"]
    dr1 = dag.test(run_conf={"index_version": "v1", "deploy_id": "idx-v1", "stage": "deploy"})
    dr2 = dag.test(run_conf={"index_version": "v2-degraded", "deploy_id": "idx-v2", "stage": "deploy"})
    assert dr1.state == dr2.state == "success"
    runs = {r["index_version"]: r for r in rows(url, "SELECT * FROM retrieval_runs")}
    v1, v2 = runs["v1"], runs["v2-degraded"]
    assert (v1["status"], v1["verdict"], v1["n_queries"], v1["n_failed"]) == ("success", "no_baseline", 64, 0)
    assert (v2["verdict"], v2["baseline_run_key"]) == ("regression", v1["run_key"])
    assert v1["run_key"] == f"rag_eval/{dr1.run_id}" and v1["n_judged"] > 250
    recall = {r["run_key"]: r["mean"] for r in rows(
        url, "SELECT run_key, mean FROM retrieval_summaries WHERE dimension = 'overall' AND metric = 'recall@10'")}
    assert recall[v1["run_key"]] > 0.95 and recall[v2["run_key"]] < 0.7
    assert [a["state"] for a in rows(url, "SELECT * FROM alerts WHERE rule = 'retrieval_regression'")] == ["pending"]

    dr3 = dag.test(run_conf={"stage": "daily"})  # what is deployed now: the degraded index
    assert dr3.state == "success"
    daily = rows(url, "SELECT * FROM retrieval_runs WHERE run_key = :k", k=f"rag_eval/{dr3.run_id}")[0]
    assert (daily["index_version"], daily["verdict"], daily["baseline_run_key"]) == (
        "v2-degraded", "regression", v1["run_key"])
    firing = rows(url, "SELECT * FROM alerts WHERE rule = 'retrieval_regression' AND state = 'firing'")
    assert len(firing) == 1 and _json(firing[0]["labels"])["retriever"] == "demo"
    received = [p for p in stack["receiver"].received if "retrieval_regression" in json.dumps(p)]
    assert received and received[0]["kind"] == "firing"


def test_unknown_retriever_fails_the_run_and_is_recorded(dag, stack):
    dr = dag.test(run_conf={"retriever": "nope", "stage": "manual"})
    assert dr.state == "failed"
    run = rows(stack["url"], "SELECT * FROM retrieval_runs WHERE run_key = :k", k=f"rag_eval/{dr.run_id}")[0]
    assert run["status"] == "failed" and "unknown retriever 'nope'" in run["error"]
    assert not rows(stack["url"], "SELECT 1 FROM retrieval_results WHERE run_key = :k", k=run["run_key"])
