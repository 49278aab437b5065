"""The golden-eval steps against the demo server and a real warehouse (SQLite and PostgreSQL).

Covers: a v1 -> v2 deploy detected as a regression; every step run twice converging to the same rows; a killed
shard resuming without repeating finished calls; repeated trials; the error budget; bad input failing before any
model call.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from llmmon import golden_eval as ge
from llmmon.config import env_secret_resolver
from llmmon.errors import GoldenSetError, RunConfError

SECRETS = env_secret_resolver({})


def run_all(settings, wh, run_id: str, conf: dict, secrets=SECRETS) -> str:
    spec = ge.resolve_run_spec(settings, conf, dag_id="test", dag_run_id=run_id, warehouse=wh)
    suite = ge.load_and_validate(settings, spec.suite)
    shards = ge.prepare_run(settings, wh, spec, suite)
    for shard in shards:
        ge.run_shard(settings, wh, spec.run_key, shard, len(shards), secrets=secrets)
    ge.score_run(settings, wh, spec.run_key)
    ge.compare_with_baseline(settings, wh, spec.run_key)
    ge.evaluate_alerts(settings, wh, secrets=secrets)
    return spec.run_key


def conf(version: str, deploy_id: str, **extra) -> dict:
    return {"model": f"llmmon-demo-{version}", "model_version": version, "deploy_id": deploy_id, **extra}


def table(wh, name: str, drop=()) -> list[dict]:
    with wh.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {name}"))]
    out = [{k: v for k, v in r.items() if k not in drop} for r in rows]
    return sorted(out, key=lambda r: tuple(str(v) for v in r.values()))


def test_v2_deploy_is_a_regression_against_v1(make_settings, warehouse):
    settings = make_settings(warehouse.engine.url.render_as_string(hide_password=False))
    k1 = run_all(settings, warehouse, "r1", conf("v1", "d1"))
    k2 = run_all(settings, warehouse, "r2", conf("v2", "d2"))
    r1, r2 = warehouse.get_eval_run(k1), warehouse.get_eval_run(k2)
    assert r1["verdict"] == "no_baseline" and r2["baseline_run_key"] == k1
    assert r2["verdict"] == "regression"
    # the stored pass rate is what the per-example rows say
    results = warehouse.eval_results(k2)
    assert len(results) == 240 and r2["n_passed"] == sum(r["passed"] for r in results)
    assert r2["pass_rate"] == pytest.approx(r2["n_passed"] / 240)
    per_intent = {s["value"]: s for s in warehouse.eval_summaries(k2) if s["dimension"] == "intent"}
    assert set(per_intent) == {"order_status", "refund", "billing", "shipping", "account_access",
                               "technical_issue", "product_info", "cancellation"}
    assert all(s["n"] == 30 for s in per_intent.values())
    refund = [r for r in results if r["intent"] == "refund"]
    assert per_intent["refund"]["pass_rate"] == pytest.approx(sum(r["passed"] for r in refund) / len(refund))
    # Alerts are sustained (`for: 2`): the deploy's regression is pending; the next run of v2 confirms it.
    pending = {a["rule"]: a for a in warehouse.alerts_for_point(k2)}
    assert pending["golden_regression"]["state"] == "pending"
    assert warehouse.alert_deliveries(pending["golden_regression"]["alert_id"]) == []
    k3 = run_all(settings, warehouse, "r3", {"model": "llmmon-demo-v2", "model_version": "v2"})
    assert warehouse.get_eval_run(k3)["verdict"] == "regression"
    firing = {a["rule"]: a for a in warehouse.alerts_for_point(k3)}
    assert firing["golden_regression"]["state"] == "firing"
    assert firing["golden_regression"]["alert_id"] == pending["golden_regression"]["alert_id"]  # one episode
    deliveries = warehouse.alert_deliveries(firing["golden_regression"]["alert_id"])
    # no webhook URL in this environment: recorded as not delivered (and retried later), never dropped
    assert [(d["kind"], d["route"], d["status"]) for d in deliveries] == [("firing", "webhook", "not_configured")]
    # cost is derived from tokens and the price table (v2: 0.40 / 1.20 USD per million tokens)
    expected_cost = sum(r["input_tokens"] * 0.40e-6 + r["output_tokens"] * 1.20e-6 for r in results)
    assert r2["cost_usd"] == pytest.approx(expected_cost)


def test_every_step_run_twice_converges(make_settings, warehouse, demo_server):
    from llmmon.demo.runner import WebhookReceiver

    receiver = WebhookReceiver().__enter__()
    settings = make_settings(warehouse.engine.url.render_as_string(hide_password=False))
    secrets = env_secret_resolver({"LLMMON_ALERT_WEBHOOK_URL": receiver.url})
    run_all(settings, warehouse, "base", conf("v1", "d1"), secrets)
    run_all(settings, warehouse, "cand0", conf("v2", "d2"), secrets)
    key = run_all(settings, warehouse, "cand", conf("v2", "d3"), secrets)
    timing = ("ttft_s", "latency_s", "started_at", "finished_at", "written_at", "recorded_at", "created_at",
              "updated_at", "notified_at", "ttft_p50_s", "ttft_p95_s", "latency_p50_s", "latency_p95_s",
              "loop_lag_p95_ms", "timing_suspect_share", "timing_suspect", "deployed_at", "latency_p99_s",
              "fired_at", "resolved_at", "last_point_at", "last_notified_at", "at", "claimed_at", "delivered_at")
    tables = ("deployments", "eval_runs", "eval_results", "eval_summaries", "eval_staging", "alerts",
              "alert_events", "alert_deliveries")
    before = {t: table(warehouse, t, drop=timing) for t in tables}
    calls_before = demo_server.stats()["requests"]

    # Retry each later step on its own: nothing changes and no model call is repeated.
    ge.run_shard(settings, warehouse, key, 0, 4, secrets=SECRETS)
    ge.score_run(settings, warehouse, key)
    ge.compare_with_baseline(settings, warehouse, key)
    ge.evaluate_alerts(settings, warehouse, secrets=secrets)
    assert demo_server.stats()["requests"] == calls_before
    assert {t: table(warehouse, t, drop=timing) for t in tables} == before

    # Clear the whole run (prepare again): it re-evaluates and converges to the same rows.
    run_all(settings, warehouse, "cand", conf("v2", "d3"), secrets)
    assert {t: table(warehouse, t, drop=timing) for t in tables} == before
    assert before["eval_staging"] == []
    # the firing regressions (overall and the degraded intents), each delivered exactly once
    assert {d["status"] for d in before["alert_deliveries"]} == {"sent"}
    assert len(receiver.received) == len(before["alert_deliveries"]) >= 2
    receiver.__exit__(None, None, None)


def test_killed_shard_resumes_without_repeating_calls(make_settings, warehouse, demo_server):
    settings = make_settings(warehouse.engine.url.render_as_string(hide_password=False))
    spec = ge.resolve_run_spec(settings, conf("v1", "d1", max_examples=20), dag_id="test", dag_run_id="k",
                               warehouse=warehouse)
    suite = ge.load_and_validate(settings, spec.suite)
    ge.prepare_run(settings, warehouse, spec, suite)
    ge.run_shard(settings, warehouse, spec.run_key, 0, 1, secrets=SECRETS)
    staged = sorted(warehouse.staged_keys(spec.run_key))
    assert len(staged) == 20
    # A kill before the last batch was written: drop 7 staged results.
    lost = staged[:7]
    with warehouse.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM eval_staging WHERE run_key = :k AND request_key IN :keys")
                     .bindparams(sa.bindparam("keys", expanding=True)), {"k": spec.run_key, "keys": lost})
    calls = demo_server.stats()["requests"]
    summary = ge.run_shard(settings, warehouse, spec.run_key, 0, 1, secrets=SECRETS)
    assert summary["resumed"] == 13
    assert demo_server.stats()["requests"] - calls == 7
    ge.score_run(settings, warehouse, spec.run_key)
    assert len(warehouse.eval_results(spec.run_key)) == 20


def test_score_refuses_an_incomplete_run(make_settings, warehouse):
    settings = make_settings(warehouse.engine.url.render_as_string(hide_password=False))
    spec = ge.resolve_run_spec(settings, conf("v1", "d1", max_examples=8), dag_id="test", dag_run_id="inc",
                               warehouse=warehouse)
    suite = ge.load_and_validate(settings, spec.suite)
    ge.prepare_run(settings, warehouse, spec, suite)
    ge.run_shard(settings, warehouse, spec.run_key, 0, 2, secrets=SECRETS)  # shard 1 never ran
    with pytest.raises(Exception, match="4 of 8 calls have no result"):
        ge.score_run(settings, warehouse, spec.run_key)
    assert warehouse.eval_results(spec.run_key) == []


def test_repeated_trials(make_settings, warehouse):
    settings = make_settings(warehouse.engine.url.render_as_string(hide_password=False))
    key = run_all(settings, warehouse, "t", conf("v1", "d1", max_examples=8, trials=3))
    results = warehouse.eval_results(key)
    assert len(results) == 24
    assert sorted({r["trial"] for r in results}) == [0, 1, 2]
    assert warehouse.get_eval_run(key)["n_examples"] == 8


def test_endpoint_errors_are_rows_and_exceed_the_error_budget(make_settings, warehouse, demo_server,
                                                               tmp_path):
    url = warehouse.engine.url.render_as_string(hide_password=False)
    settings = make_settings(url)
    run_all(settings, warehouse, "base", conf("v1", "d1", max_examples=16))
    no_retry = settings.model_copy(update={"endpoints": [settings.endpoints[0].model_copy(
        update={"max_retries": 0})]})
    demo_server.queue_faults(*(["500"] * 4))
    key = run_all(no_retry, warehouse, "errs", conf("v1", "d3", max_examples=16, shards=1))
    run = warehouse.get_eval_run(key)
    errors = [r for r in warehouse.eval_results(key) if r["error_type"]]
    assert run["n_errors"] == len(errors) == 4
    assert {e["error_type"] for e in errors} == {"server_error"} and not any(e["passed"] for e in errors)
    assert run["verdict"] == "inconclusive"  # 4/16 = 25% > 5% budget: not a "regression"
    moved = {a["rule"]: a["state"] for a in warehouse.alerts_for_point(key)}
    assert moved == {"endpoint_error_share": "pending", "slo_error_rate": "pending"}  # errors, not quality


def test_bad_input_fails_before_any_call(make_settings, tmp_path, demo_server):
    settings = make_settings(f"sqlite:///{tmp_path / 'w.db'}")
    with pytest.raises(RunConfError, match="unknown endpoint 'nope'"):
        ge.resolve_run_spec(settings, {"endpoint": "nope"}, dag_id="t", dag_run_id="x")
    with pytest.raises(RunConfError, match="unknown key.*colour"):
        ge.resolve_run_spec(settings, {"colour": "red"}, dag_id="t", dag_run_id="x")
    with pytest.raises(RunConfError, match="'trials': 0 must be an integer from 1 to 20"):
        ge.resolve_run_spec(settings, {"trials": 0}, dag_id="t", dag_run_id="x")
    with pytest.raises(RunConfError, match="'stage'"):
        ge.resolve_run_spec(settings, {"stage": "yolo"}, dag_id="t", dag_run_id="x")
    with pytest.raises(GoldenSetError, match="no_such_suite"):
        ge.load_and_validate(settings, "no_such_suite")


def test_scheduled_run_evaluates_the_latest_deployment(make_settings, warehouse):
    import datetime as dt

    settings = make_settings(warehouse.engine.url.render_as_string(hide_password=False))
    spec = ge.resolve_run_spec(settings, {}, dag_id="t", dag_run_id="s1", warehouse=warehouse)
    assert (spec.model, spec.model_version, spec.stage) == ("llmmon-demo-v1", "v1", "daily")
    warehouse.record_deployment("dx", endpoint="demo", model="llmmon-demo-v2", model_version="v2",
                                deployed_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC), stage="deploy")
    spec = ge.resolve_run_spec(settings, {}, dag_id="t", dag_run_id="s2", warehouse=warehouse)
    assert (spec.model, spec.model_version) == ("llmmon-demo-v2", "v2")
