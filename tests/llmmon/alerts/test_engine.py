"""The alert engine on a real warehouse (SQLite and PostgreSQL): pending/firing/resolved with `for: 2`,
hysteresis, re-notify, dedup across episodes, no-data points, and deliveries that fail, are recorded and retried."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from llmmon.alerts.engine import (
    alert_history,
    build_notification,
    dedup_key,
    evaluate_rules,
    open_alerts,
    validate_rules,
)
from llmmon.alerts.model import DeliveryResult, Notification
from llmmon.config import AlertRule
from llmmon.errors import ConfigError
from llmmon.warehouse.schema import alert_deliveries, alert_events, alerts, eval_runs

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def add_run(wh, n: int, errors: int | None, *, calls: int = 100, endpoint: str = "prod", hours: float | None = None):
    """A successful eval run finished at T0 + n hours whose error share is errors / calls (None: no calls)."""
    row = {"run_key": f"golden_eval/r{n:02d}", "status": "success", "suite": "cs", "endpoint": endpoint,
           "model_version": "v2", "n_calls": calls if errors is not None else 0, "n_errors": errors or 0,
           "finished_at": at(n if hours is None else hours)}
    with wh.engine.begin() as conn:
        conn.execute(sa.insert(eval_runs), [row])
    return row["run_key"]


def rule(**kw) -> AlertRule:
    spec = {"name": "errors", "metric": "eval.error_share", "condition": {"op": ">", "value": 0.10},
            "resolve": {"op": "<", "value": 0.05}, "for": 2, "severity": "critical", "labels": {"team": "ml"},
            "routes": ["rec"], "renotify": "4h", "description": "Too many endpoint errors."}
    return AlertRule.model_validate({**spec, **kw})


class Recorder:
    """An in-test route: records each notification; fails while ``failures`` is positive."""

    def __init__(self, name: str = "rec", failures: int = 0) -> None:
        self.name, self.failures, self.sent = name, failures, []

    def deliver(self, notification: Notification) -> DeliveryResult:
        if self.failures > 0:
            self.failures -= 1
            return DeliveryResult("failed", 2, "HTTP 503", route=self.name)
        self.sent.append(notification)
        return DeliveryResult("sent", 1, route=self.name)


def rows(wh, table) -> list[dict]:
    with wh.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]


def snapshot(wh) -> dict:
    return {t.name: rows(wh, t) for t in (alerts, alert_events, alert_deliveries)}


def kinds(route: Recorder) -> list[tuple[str, str]]:
    return [(n.kind, n.alert_id) for n in route.sent]


def transitions(report) -> list[tuple[str, str, str]]:
    return [(e["from_state"], e["to_state"], e["point_id"]) for e in report.transitions]


def test_for_2_pending_firing_renotify_hysteresis_resolved_and_a_new_episode(warehouse):
    r, rec = rule(), Recorder()
    key = "errors{endpoint=prod,model_version=v2,suite=cs}"

    # One breach: pending, nothing sent.
    add_run(warehouse, 1, 20)
    rep = evaluate_rules(warehouse, [r], now=at(1), routes={"rec": rec})
    assert transitions(rep) == [("inactive", "pending", "golden_eval/r01")]
    [alert] = open_alerts(warehouse)
    assert (alert["state"], alert["breach_count"], alert["value"], alert["dedup_key"]) == ("pending", 1, 0.2, key)
    assert alert["labels"] == {"team": "ml", "endpoint": "prod", "suite": "cs", "model_version": "v2"}
    assert rec.sent == [] and rep.queued == []

    # Two consecutive breaches: firing, one firing notification.
    add_run(warehouse, 2, 30)
    rep = evaluate_rules(warehouse, [r], now=at(2), routes={"rec": rec})
    assert transitions(rep) == [("pending", "firing", "golden_eval/r02")]
    first = alert["alert_id"]
    assert kinds(rec) == [("firing", first)]
    n = rec.sent[0]
    assert (n.dedup_key, n.rule, n.severity, n.value, n.threshold, n.started_at) == (key, "errors", "critical", 0.3,
                                                                                      0.1, at(1))
    assert n.summary == ("[critical] errors firing: eval.error_share = 0.3 (> 0.1) on endpoint=prod, "
                         "model_version=v2, suite=cs, team=ml")

    # The same data and the same now: nothing changes, nothing is sent twice.
    before = snapshot(warehouse)
    rep = evaluate_rules(warehouse, [r], now=at(2), routes={"rec": rec})
    assert (rep.transitions, rep.queued, rep.deliveries) == ([], [], [])
    assert snapshot(warehouse) == before and len(rec.sent) == 1

    # Re-notify after the interval (4h from the firing notification at 02:00), not before.
    evaluate_rules(warehouse, [r], now=at(5.99), routes={"rec": rec})
    assert len(rec.sent) == 1
    evaluate_rules(warehouse, [r], now=at(6), routes={"rec": rec})
    assert kinds(rec)[1:] == [("renotify", first)]
    evaluate_rules(warehouse, [r], now=at(6), routes={"rec": rec})
    assert len(rec.sent) == 2

    # Hysteresis: 0.08 is under the condition (> 0.10) but not under resolve (< 0.05): still firing.
    add_run(warehouse, 7, 8)
    rep = evaluate_rules(warehouse, [r], now=at(7), routes={"rec": rec})
    assert rep.transitions == [] and len(rec.sent) == 2
    assert warehouse.get_alert(first)["state"] == "firing"
    assert warehouse.get_alert(first)["value"] == 0.08

    # Under resolve: resolved, one resolved notification with its end time.
    add_run(warehouse, 8, 2)
    rep = evaluate_rules(warehouse, [r], now=at(8), routes={"rec": rec})
    assert transitions(rep) == [("firing", "resolved", "golden_eval/r08")]
    assert kinds(rec)[2:] == [("resolved", first)]
    assert (rec.sent[2].ended_at, rec.sent[2].started_at) == (at(8), at(1))
    stored = warehouse.get_alert(first)
    assert (stored["state"], stored["fired_at"], stored["resolved_at"], stored["notify_count"]) == (
        "resolved", at(2), at(8), 3)
    assert open_alerts(warehouse) == []
    # No re-notify for a resolved alert, however long after.
    evaluate_rules(warehouse, [r], now=at(30), routes={"rec": rec})
    assert len(rec.sent) == 3

    # A new breach later is a new episode: a new alert_id, the same dedup_key.
    add_run(warehouse, 31, 50)
    add_run(warehouse, 32, 50)
    rep = evaluate_rules(warehouse, [r], now=at(32), routes={"rec": rec})
    assert transitions(rep) == [("inactive", "pending", "golden_eval/r31"), ("pending", "firing", "golden_eval/r32")]
    second = rep.transitions[0]["alert_id"]
    assert second != first and warehouse.get_alert(second)["dedup_key"] == key
    assert kinds(rec)[3:] == [("firing", second)]

    history = alert_history(warehouse, first)
    assert [(e["from_state"], e["to_state"], e["at"]) for e in history["events"]] == [
        ("inactive", "pending", at(1)), ("pending", "firing", at(2)), ("firing", "resolved", at(8))]
    assert [(d["seq"], d["kind"], d["route"], d["status"], d["queued_at"], d["sent_at"]) for d in
            history["deliveries"]] == [(1, "firing", "rec", "sent", at(2), at(2)),
                                       (2, "renotify", "rec", "sent", at(6), at(6)),
                                       (3, "resolved", "rec", "sent", at(8), at(8))]
    assert alert_history(warehouse, "nope") is None


def test_pending_that_recovers_never_notifies(warehouse):
    rec = Recorder()
    add_run(warehouse, 1, 20)
    add_run(warehouse, 2, 0)
    rep = evaluate_rules(warehouse, [rule()], now=at(3), routes={"rec": rec})
    assert transitions(rep) == [("inactive", "pending", "golden_eval/r01"), ("pending", "inactive", "golden_eval/r02")]
    assert rec.sent == [] and rep.queued == [] and open_alerts(warehouse) == []
    [row] = rows(warehouse, alerts)
    assert (row["state"], row["notify_count"], row["last_point_id"]) == ("inactive", 0, "golden_eval/r02")
    # Walking the same history in steps gives the same rows as walking it at once.
    before = snapshot(warehouse)
    assert evaluate_rules(warehouse, [rule()], now=at(3), routes={"rec": rec}).transitions == []
    assert snapshot(warehouse) == before


def test_evaluating_point_by_point_equals_evaluating_at_once(warehouse):
    errors = [20, 0, 20, 30, 8, None, 12, 2, 15, None, 40]
    for i, e in enumerate(errors, start=1):
        add_run(warehouse, i, e)
    r = rule(routes=[])
    evaluate_rules(warehouse, [r], now=at(len(errors)))
    at_once = [(e["alert_id"], e["from_state"], e["to_state"], e["point_id"]) for e in rows(warehouse, alert_events)]
    with warehouse.engine.begin() as conn:
        for t in (alerts, alert_events):
            conn.execute(sa.delete(t))
    for i in range(1, len(errors) + 1):
        evaluate_rules(warehouse, [r], now=at(i))
    stepwise = [(e["alert_id"], e["from_state"], e["to_state"], e["point_id"]) for e in rows(warehouse, alert_events)]
    assert stepwise == at_once
    by_point = sorted((p, f, t) for _, f, t, p in at_once)
    assert by_point == [("golden_eval/r01", "inactive", "pending"), ("golden_eval/r02", "pending", "inactive"),
                        ("golden_eval/r03", "inactive", "pending"), ("golden_eval/r04", "pending", "firing"),
                        ("golden_eval/r08", "firing", "resolved"), ("golden_eval/r09", "inactive", "pending"),
                        ("golden_eval/r11", "pending", "firing")]  # r10 has no data: the count holds


def test_no_data_neither_breaches_nor_resolves(warehouse):
    rec = Recorder()
    add_run(warehouse, 1, 20)
    add_run(warehouse, 2, None)  # no calls: error share None
    rep = evaluate_rules(warehouse, [rule()], now=at(2), routes={"rec": rec})
    assert transitions(rep) == [("inactive", "pending", "golden_eval/r01")]
    [alert] = open_alerts(warehouse)
    assert (alert["breach_count"], alert["value"], alert["last_point_id"]) == (1, 0.2, "golden_eval/r02")
    add_run(warehouse, 3, 20)
    add_run(warehouse, 4, None)
    rep = evaluate_rules(warehouse, [rule()], now=at(4), routes={"rec": rec})
    assert transitions(rep) == [("pending", "firing", "golden_eval/r03")]
    assert open_alerts(warehouse)[0]["state"] == "firing" and kinds(rec) == [("firing", alert["alert_id"])]


def test_for_1_fires_on_the_first_breach_and_default_resolve_is_the_negation(warehouse):
    rec = Recorder()
    r = rule(**{"for": 1, "resolve": None})
    add_run(warehouse, 1, 11)
    add_run(warehouse, 2, 10)  # 0.10 is not > 0.10: resolves at once without a resolve condition
    rep = evaluate_rules(warehouse, [r], now=at(2), routes={"rec": rec})
    assert transitions(rep) == [("inactive", "firing", "golden_eval/r01"), ("firing", "resolved", "golden_eval/r02")]
    assert [k for k, _ in kinds(rec)] == ["firing", "resolved"]


def test_a_failing_route_is_recorded_and_retried_on_the_next_evaluation(warehouse):
    rec, ok = Recorder(failures=1), Recorder("ok")
    r = rule(routes=["rec", "ok", "missing"])
    add_run(warehouse, 1, 20)
    add_run(warehouse, 2, 20)
    rep = evaluate_rules(warehouse, [r], now=at(2), routes={"rec": rec, "ok": ok})
    assert {(d["route"], d["status"], d["error"]) for d in rep.deliveries} == {
        ("rec", "failed", "HTTP 503"), ("ok", "sent", None), ("missing", "not_configured", "route 'missing' is not configured")}
    assert rec.sent == [] and len(ok.sent) == 1

    # The next evaluation, with no new data, retries what was not delivered, and only that.
    rep = evaluate_rules(warehouse, [r], now=at(3), routes={"rec": rec, "ok": ok, "missing": Recorder("missing")})
    assert {(d["route"], d["status"]) for d in rep.deliveries} == {("rec", "sent"), ("missing", "sent")}
    assert len(rec.sent) == 1 and len(ok.sent) == 1 and rec.sent[0].kind == "firing"
    by_route = {d["route"]: d for d in rows(warehouse, alert_deliveries)}
    assert {k: (d["status"], d["tries"], d["attempts"], d["error"], d["last_try_at"], d["sent_at"])
            for k, d in by_route.items()} == {
        "rec": ("sent", 2, 3, None, at(3), at(3)),
        "ok": ("sent", 1, 1, None, at(2), at(2)),
        "missing": ("sent", 2, 1, None, at(3), at(3)),
    }
    assert evaluate_rules(warehouse, [r], now=at(3), routes={"rec": rec, "ok": ok}).deliveries == []


def test_without_routes_notifications_wait_in_the_outbox(warehouse):
    add_run(warehouse, 1, 20)
    add_run(warehouse, 2, 20)
    rep = evaluate_rules(warehouse, [rule()], now=at(2))
    assert [(q["kind"], q["route"], q["status"]) for q in rep.queued] == [("firing", "rec", "pending")]
    assert rep.deliveries == []
    rec = Recorder()
    rep = evaluate_rules(warehouse, [rule()], now=at(2.5), routes={"rec": rec})
    assert [d["status"] for d in rep.deliveries] == ["sent"] and rec.sent[0].kind == "firing"


def test_a_renotify_of_an_alert_that_resolved_meanwhile_is_superseded(warehouse):
    down = Recorder(failures=10)
    add_run(warehouse, 1, 20)
    add_run(warehouse, 2, 20)
    evaluate_rules(warehouse, [rule()], now=at(2), routes={"rec": down})
    evaluate_rules(warehouse, [rule()], now=at(6), routes={"rec": down})  # renotify queued, fails
    add_run(warehouse, 7, 0)
    up = Recorder()
    rep = evaluate_rules(warehouse, [rule()], now=at(7), routes={"rec": up})
    assert [(d["kind"], d["status"]) for d in rep.deliveries] == [
        ("firing", "sent"), ("renotify", "superseded"), ("resolved", "sent")]
    assert [n.kind for n in up.sent] == ["firing", "resolved"]


def test_where_filters_series_by_label_value_or_pattern(warehouse):
    add_run(warehouse, 1, 20, endpoint="prod")
    add_run(warehouse, 2, 20, endpoint="staging", hours=1.5)
    add_run(warehouse, 3, 20, endpoint="prod")
    add_run(warehouse, 4, 20, endpoint="staging")
    rules = [rule(name="prod_only", where={"endpoint": "prod"}, routes=[]),
             rule(name="all_stag", where={"endpoint": "stag*"}, routes=[]),
             rule(name="everything", routes=[])]
    rep = evaluate_rules(warehouse, rules, now=at(4))
    assert rep.series == 4
    firing = {(a["rule"], a["labels"]["endpoint"]) for a in open_alerts(warehouse) if a["state"] == "firing"}
    assert firing == {("prod_only", "prod"), ("all_stag", "staging"), ("everything", "prod"),
                      ("everything", "staging")}


def test_unknown_metric_or_label_is_a_config_error_naming_the_rule():
    with pytest.raises(ConfigError, match=r"alert rule 'errors': unknown metric 'eval.error_rate'; known metrics: "
                                          r".*eval.error_share, .*golden.regression"):
        validate_rules([rule(metric="eval.error_rate")])
    with pytest.raises(ConfigError, match=r"alert rule 'errors': 'where' filters on subject, which metric "
                                          r"'eval.error_share' does not have; its labels are: endpoint, suite"):
        validate_rules([rule(where={"subject": "overall"})])
    with pytest.raises(ConfigError, match="alert rule 'errors' is declared twice"):
        validate_rules([rule(), rule()])


def test_unknown_metric_fails_before_anything_is_written(warehouse):
    add_run(warehouse, 1, 20)
    with pytest.raises(ConfigError, match="unknown metric 'nope'"):
        evaluate_rules(warehouse, [rule(name="fine", **{"for": 1}), rule(metric="nope")], now=at(1))
    assert rows(warehouse, alerts) == []


def test_notifications_carry_no_secrets_and_errors_are_scrubbed(warehouse):
    class Leaky(Recorder):
        def deliver(self, notification):
            return DeliveryResult("failed", 1, "POST https://hooks.example/T0/s3cr3t-token failed")

    add_run(warehouse, 1, 20)
    add_run(warehouse, 2, 20)
    rep = evaluate_rules(warehouse, [rule()], now=at(2), routes={"rec": Leaky()},
                         secrets=["https://hooks.example/T0/s3cr3t-token"])
    assert rep.deliveries[0]["error"] == "POST *** failed"
    assert "s3cr3t" not in json.dumps(snapshot(warehouse), default=str)


def test_a_route_that_raises_is_recorded_as_failed(warehouse):
    class Broken(Recorder):
        def deliver(self, notification):
            raise RuntimeError("https://secret.example/x")

    add_run(warehouse, 1, 20)
    add_run(warehouse, 2, 20)
    rep = evaluate_rules(warehouse, [rule()], now=at(2), routes={"rec": Broken()})
    assert [(d["status"], d["error"]) for d in rep.deliveries] == [("failed", "route raised RuntimeError")]


def test_notification_text_for_each_kind():
    row = {"alert_id": "a1", "dedup_key": "errors{endpoint=prod}", "rule": "errors", "metric": "eval.error_share",
           "severity": "warning", "labels": {"endpoint": "prod"}, "value": 0.0123456, "threshold": 0.01,
           "started_at": at(1), "fired_at": at(2), "resolved_at": at(3), "last_point_id": "golden_eval/r03"}
    n = build_notification("resolved", row, rule())
    assert n.summary == "[warning] errors resolved: eval.error_share = 0.01235 (> 0.01) on endpoint=prod"
    rollup = build_notification("firing", {**row, "labels": {"endpoint": "prod", "value": ""}}, rule())
    assert rollup.summary.endswith(" on endpoint=prod") and rollup.labels == {"endpoint": "prod", "value": ""}
    assert n.description.splitlines() == [
        "Too many endpoint errors.",
        "Fires after 2 consecutive points with value > 0.1; resolves when value < 0.05.",
        "First breach 2026-11-01T10:00:00+00:00, firing since 2026-11-01T11:00:00+00:00, resolved "
        "2026-11-01T12:00:00+00:00; latest point golden_eval/r03.",
    ]
    assert (n.ended_at, n.started_at) == (at(3), at(1))
    assert build_notification("renotify", row).summary.startswith("[warning] errors still firing: ")
    assert build_notification("renotify", row).ended_at is None


def test_dedup_key_is_sorted_labels_and_stays_short():
    assert dedup_key("r", {"b": "2", "a": "1"}) == "r{a=1,b=2}"
    long = dedup_key("r", {"subject": "x" * 300})
    assert len(long) <= 255 and long.startswith("r#")


@pytest.fixture()
def receiver():
    state = {"bodies": [], "statuses": [503]}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            state["bodies"].append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(state["statuses"].pop(0) if state["statuses"] else 200)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/hook/s3cr3t-token"
    yield state
    server.shutdown()
    server.server_close()


def test_delivery_over_real_http_fails_then_is_retried(warehouse, receiver):
    from llmmon.alerts.routes import build_route
    from llmmon.config import SecretRef, WebhookRoute, env_secret_resolver

    hook = build_route(WebhookRoute(name="hook", type="webhook", url=SecretRef(env="HOOK"), max_attempts=1,
                                    backoff_s=0), env_secret_resolver({"HOOK": receiver["url"]}))

    def Webhook():  # noqa: N802 (reads like the class it stood for)
        return hook

    r = rule(routes=["hook"])
    add_run(warehouse, 1, 20)
    add_run(warehouse, 2, 20)
    rep = evaluate_rules(warehouse, [r], now=at(2), routes={"hook": Webhook()})
    assert [d["status"] for d in rep.deliveries] == ["failed"] and "503" in rep.deliveries[0]["error"]
    rep = evaluate_rules(warehouse, [r], now=at(3), routes={"hook": Webhook()})
    assert [d["status"] for d in rep.deliveries] == ["sent"]
    assert [b["kind"] for b in receiver["bodies"]] == ["firing", "firing"]
    assert receiver["bodies"][1]["dedup_key"] == "errors{endpoint=prod,model_version=v2,suite=cs}"
    assert "s3cr3t" not in json.dumps(snapshot(warehouse), default=str)


# -- shipped defaults and configured rules ---------------------------------------------------------------------

CONFIG = """
endpoints:
  - {name: prod, base_url: "http://127.0.0.1:9/v1", model: m}
routes:
  - {name: oncall, type: webhook, url: {env: HOOK_URL}}
alert_rules:
  - name: slo_ttft_p95            # a default's name: replaces it
    metric: eval.ttft_p95_s
    where: {endpoint: prod}
    condition: {op: ">", value: 2.0}
    for: 3
    routes: [oncall]
  - name: refund_pass_rate
    metric: golden.pass_rate
    where: {subject: "intent:refund"}
    condition: {op: "<", value: 0.8}
    resolve: {op: ">=", value: 0.85}
    severity: critical
    renotify: 12h
"""


def test_defaults_cover_regression_errors_and_the_slo_examples():
    from llmmon.alerts.defaults import DEFAULT_RULES, merge_rules
    from llmmon.drift.rules import RULES as DRIFT
    from llmmon.retrieval.rules import RULES as RETRIEVAL
    from llmmon.slo.rules import RULES as SLO

    merged = merge_rules([])
    validate_rules(merged)
    assert merged == list(DEFAULT_RULES)
    capability = [*DRIFT, *RETRIEVAL, *SLO]  # tested beside their capabilities
    assert merged[len(merged) - len(capability):] == capability
    slo = {r.name: (r.metric, r.condition.op, r.condition.value, r.for_) for r in merged[:len(merged) - len(capability)]}
    assert slo == {
        "golden_regression": ("golden.regression", ">=", 1.0, 2),
        "golden_intent_regression": ("golden.regression", ">=", 1.0, 2),
        "endpoint_error_share": ("eval.error_share", ">", 0.05, 2),
        "slo_error_rate": ("eval.error_share", ">", 0.005, 2),  # error rate < 0.5%
        "slo_ttft_p95": ("eval.ttft_p95_s", ">", 1.5, 2),  # TTFT p95 < 1.5 s
        "slo_latency_p99": ("eval.latency_p99_s", ">", 8.0, 2),  # e2e p99 < 8 s
        "judge_score_shift": ("judge.score_shift", ">=", 1.0, 2),
        "traffic_refusal_jump": ("traffic.refusal_rate_increase", ">", 0.05, 2),
        "judge_agreement": ("judge.agreement_alarm", ">=", 1.0, 1),
    }
    assert all(r.routes == [] for r in merged)
    assert {r.name for r in merge_rules([], default_routes=["oncall"]) if r.routes == ["oncall"]} == {r.name for r in merged}


def test_configured_rules_replace_defaults_of_the_same_name(tmp_path):
    from llmmon.alerts.defaults import DEFAULT_RULES, rules_from_settings
    from llmmon.config import load_settings

    path = tmp_path / "llmmon.yaml"
    path.write_text(CONFIG)
    settings = load_settings(path, env={})
    rules = {r.name: r for r in rules_from_settings(settings, default_routes=["oncall"])}
    assert list(rules)[-1] == "refund_pass_rate" and len(rules) == len(DEFAULT_RULES) + 1  # one redeclared, one new
    assert (rules["slo_ttft_p95"].condition.value, rules["slo_ttft_p95"].for_, rules["slo_ttft_p95"].resolve) == (
        2.0, 3, None)
    assert rules["golden_regression"].routes == ["oncall"]
    assert rules["refund_pass_rate"].routes == []  # default routes are for the defaults only
    assert rules["refund_pass_rate"].renotify == dt.timedelta(hours=12)
    with pytest.raises(ConfigError, match=r"default alert route\(s\) \['pager'\] are not declared"):
        rules_from_settings(settings, default_routes=["pager"])

    path.write_text(CONFIG.replace("metric: golden.pass_rate", "metric: golden.passrate"))
    with pytest.raises(ConfigError, match="alert rule 'refund_pass_rate': unknown metric 'golden.passrate'"):
        rules_from_settings(load_settings(path, env={}))
