"""End to end through Airflow: ``dag.test()`` of golden_eval for v1 then v2 against the demo model server.

Real HTTP to the demo server, a real SQLite warehouse, a real webhook receiver on 127.0.0.1. The degraded v2 must be
judged a regression against the v1 baseline, written to the warehouse, and alerted.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.e2e.helpers import environ, rows

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    # dag.test() on Airflow 3.3.2 fails on DAGs with a DeadlineAlert (see llmmon_airflow.notifiers)
    with environ(LLMMON_GOLDEN_EVAL_DEADLINE="off"):
        bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags["golden_eval"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, airflow_db):
    from llmmon.demo.runner import WebhookReceiver
    from llmmon.demo.server import DemoServer, DemoServerConfig

    tmp = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{tmp / 'warehouse.db'}"
    with DemoServer(DemoServerConfig(port=0, golden_sets_dir=str(ROOT / "golden_sets"))) as server, \
            WebhookReceiver() as receiver:
        with environ(LLMMON_DEMO_URL=server.base_url, LLMMON_WAREHOUSE_URL=url, LLMMON_ALERT_WEBHOOK_URL=receiver.url):
            yield {"url": url, "server": server, "receiver": receiver, "tmp": tmp}


def _conf(version: str, deploy_id: str, **extra) -> dict:
    return {"endpoint": "demo", "model": f"llmmon-demo-{version}", "model_version": version,
            "deploy_id": deploy_id, "stage": "deploy", **extra}


def test_v1_then_v2_regression_detected_written_and_alerted(dag, stack):
    url = stack["url"]
    dr1 = dag.test(run_conf=_conf("v1", "e2e-v1"))
    assert dr1.state == "success"
    dr2 = dag.test(run_conf=_conf("v2", "e2e-v2"))
    assert dr2.state == "success"

    runs = {r["model_version"]: r for r in rows(url, "SELECT * FROM eval_runs WHERE deploy_id LIKE 'e2e-%'")}
    v1, v2 = runs["v1"], runs["v2"]
    assert v1["status"] == v2["status"] == "success"
    assert v1["run_key"] == f"golden_eval/{dr1.run_id}"
    assert v1["n_calls"] == v2["n_calls"] == 240
    assert v1["n_errors"] == 0 and v1["pass_rate"] >= 0.9
    assert v2["baseline_run_key"] == v1["run_key"]
    assert v2["verdict"] == "regression"
    assert v2["pass_rate"] < v1["pass_rate"] - 0.05
    details = json.loads(v2["verdict_details"]) if isinstance(v2["verdict_details"], str) else v2["verdict_details"]
    overall = details["overall"]
    assert overall["p_value"] < 0.05 and overall["regressed"]
    lo, hi = overall["pass_rate_diff_ci"]
    assert lo < hi < 0  # the whole interval of the change is below zero
    # v2 is slower to the first token, and the client measured it
    assert v2["ttft_p50_s"] > v1["ttft_p50_s"]

    n_results = rows(url, "SELECT run_key, COUNT(*) AS n FROM eval_results GROUP BY run_key")
    assert {r["run_key"]: r["n"] for r in n_results} == {v1["run_key"]: 240, v2["run_key"]: 240}
    deployments = rows(url, "SELECT deploy_id, model_version FROM deployments ORDER BY deploy_id")
    assert [(d["deploy_id"], d["model_version"]) for d in deployments] == [("e2e-v1", "v1"), ("e2e-v2", "v2")]

    # Sustained alerting (`for: 2`): the deploy's regression is pending, nothing is sent yet ...
    pending = rows(url, "SELECT * FROM alerts WHERE rule = 'golden_regression'")
    assert [a["state"] for a in pending] == ["pending"]
    assert stack["receiver"].received == []
    # ... the scheduled daily run evaluates what is deployed now (v2), confirms it, and the alert fires.
    dr3 = dag.test(run_conf={"stage": "daily"})
    assert dr3.state == "success"
    v2_daily = rows(url, "SELECT * FROM eval_runs WHERE run_key = :k", k=f"golden_eval/{dr3.run_id}")[0]
    assert (v2_daily["model_version"], v2_daily["verdict"]) == ("v2", "regression")
    firing = rows(url, "SELECT * FROM alerts WHERE state = 'firing'")
    rules = {(a["rule"], json.loads(a["labels"])["subject"] if isinstance(a["labels"], str) else a["labels"]["subject"])
             for a in firing}
    assert ("golden_regression", "overall") in rules
    assert {("golden_intent_regression", "intent:refund"), ("golden_intent_regression", "intent:billing")} <= rules
    sent = rows(url, "SELECT * FROM alert_deliveries WHERE status = 'sent'")
    assert len(sent) == len(firing) == len(stack["receiver"].received)
    assert {p["kind"] for p in stack["receiver"].received} == {"firing"}
    assert not rows(url, "SELECT * FROM eval_staging")  # scratch rows are gone once a run is scored


def test_unknown_endpoint_fails_and_is_recorded(dag, stack):
    dr = dag.test(run_conf={"endpoint": "nope", "deploy_id": "e2e-bad-endpoint"})
    assert dr.state == "failed"
    run = rows(stack["url"], "SELECT * FROM eval_runs WHERE run_key = :k", k=f"golden_eval/{dr.run_id}")[0]
    assert run["status"] == "failed"
    assert "unknown endpoint 'nope'" in run["error"]
    assert not rows(stack["url"], "SELECT 1 FROM eval_results WHERE run_key = :k", k=run["run_key"])


def test_unreachable_endpoint_fails_and_is_recorded(dag, stack, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LLMMON_DEMO_URL", f"http://127.0.0.1:{port}/v1")
    dr = dag.test(run_conf=_conf("v1", "e2e-unreachable", max_examples=8, shards=1))
    assert dr.state == "failed"
    run = rows(stack["url"], "SELECT * FROM eval_runs WHERE run_key = :k", k=f"golden_eval/{dr.run_id}")[0]
    assert run["status"] == "failed"
    assert f"127.0.0.1:{port}" in run["error"] and "unreachable" in run["error"]
    assert not rows(stack["url"], "SELECT 1 FROM eval_results WHERE run_key = :k", k=run["run_key"])


def test_malformed_golden_set_fails_before_any_call(dag, stack, monkeypatch):
    sets = stack["tmp"] / "golden_sets"
    shutil.copytree(ROOT / "golden_sets" / "customer_support", sets / "customer_support")
    cases = sets / "customer_support" / "cases.jsonl"
    lines = cases.read_text().splitlines()
    broken = json.loads(lines[4])
    broken["intent"] = "teleportation"
    lines[4] = json.dumps(broken)
    cases.write_text("\n".join(lines) + "\n")
    config = stack["tmp"] / "llmmon.yaml"
    defaults = (ROOT / "include" / "llmmon" / "defaults" / "llmmon.yaml").read_text()
    config.write_text(defaults.replace("golden_sets_dir: golden_sets", f"golden_sets_dir: {sets}"))
    monkeypatch.setenv("LLMMON_CONFIG", str(config))
    before = stack["server"].stats()["requests"] if hasattr(stack["server"], "stats") else None

    dr = dag.test(run_conf=_conf("v1", "e2e-bad-set"))
    assert dr.state == "failed"
    run = rows(stack["url"], "SELECT * FROM eval_runs WHERE run_key = :k", k=f"golden_eval/{dr.run_id}")[0]
    assert run["status"] == "failed"
    assert "cases.jsonl" in run["error"] and broken["id"] in run["error"] and "intent" in run["error"]
    assert not rows(stack["url"], "SELECT 1 FROM eval_results WHERE run_key = :k", k=run["run_key"])
    if before is not None:
        assert stack["server"].stats()["requests"] == before  # no model call was made


def test_invalid_run_conf_is_rejected_by_the_param_schema(dag):
    from airflow.sdk.definitions.param import ParamValidationError

    with pytest.raises(ParamValidationError):
        dag.test(run_conf={"stage": "yolo"})
