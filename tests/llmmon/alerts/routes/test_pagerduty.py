"""PagerDuty Events API v2 route against a real HTTP receiver: trigger, resolve and re-notify share the dedup key."""

from __future__ import annotations

import json

from llmmon.alerts.routes import build_route
from llmmon.alerts.routes.pagerduty import pagerduty_dedup_key
from llmmon.config import PagerDutyRoute

from .conftest import Reply, make_notification, resolver

KEY = "R0UT1NGKEY0123456789abcdefABCDEF"  # 32 characters, like a real integration key
DEDUP = "golden_pass_rate_drop:prod:customer_support:overall"
ACCEPTED = Reply(202, json.dumps({"status": "success", "message": "Event processed", "dedup_key": DEDUP}),
                 {"Content-Type": "application/json"})


def _route(receiver, **kw):
    receiver.default = ACCEPTED
    config = PagerDutyRoute(
        type="pagerduty", name="pd", routing_key={"env": "PD_KEY"}, url=receiver.url("/v2/enqueue"),
        backoff_s=0.001, **kw,
    )
    return build_route(config, resolver({"PD_KEY": KEY}))


def test_trigger_event_has_exact_shape(http_receiver):
    result = _route(http_receiver).deliver(make_notification())

    assert (result.status, result.attempts, result.error) == ("sent", 1, None)
    [req] = http_receiver.requests
    assert (req.method, req.path, req.headers["content-type"]) == ("POST", "/v2/enqueue", "application/json")
    assert req.json() == {
        "routing_key": KEY,
        "event_action": "trigger",
        "dedup_key": DEDUP,
        "payload": {
            "summary": "pass rate 91.0% -> 84.5% on prod (customer_support)",
            "source": "prod",
            "severity": "critical",
            "timestamp": "2026-11-02T09:30:00Z",
            "group": "customer_support",
            "class": "golden_pass_rate_drop",
            "custom_details": {
                "alert_id": "a1b2c3d4e5f6a7b8c9d0",
                "kind": "firing",
                "rule": "golden_pass_rate_drop",
                "labels": {"endpoint": "prod", "suite": "customer_support"},
                "description": "McNemar p=0.003, drop 6.5 points (CI 3.1 to 9.8).",
                "value": 0.845,
                "threshold": 0.88,
                "started_at": "2026-11-02T09:30:00Z",
            },
        },
        "client": "llmmon",
        "links": [{"href": "http://airflow.example/dags/golden_eval/runs/r1", "text": "run"}],
    }


def test_trigger_renotify_and_resolve_use_the_same_dedup_key(http_receiver):
    route = _route(http_receiver)
    for kind in ("firing", "renotify", "resolved"):
        assert route.deliver(make_notification(kind)).status == "sent"

    trigger, again, resolve = (r.json() for r in http_receiver.requests)
    assert (trigger["event_action"], again["event_action"]) == ("trigger", "trigger")
    assert "timestamp" not in again["payload"]  # a re-notify is a new event; PagerDuty stamps it
    assert again["payload"]["custom_details"]["note"] == "Reminder: this alert is still firing."
    assert resolve == {"routing_key": KEY, "event_action": "resolve", "dedup_key": DEDUP}
    assert trigger["dedup_key"] == again["dedup_key"] == resolve["dedup_key"] == DEDUP


def test_warning_and_info_severities_map_and_labels_fill_component(http_receiver):
    route = _route(http_receiver)
    route.deliver(make_notification(severity="warning", labels={"endpoint": "canary", "model_version": "v2"}))
    route.deliver(make_notification(severity="info", labels={}))

    warning, info = (r.json()["payload"] for r in http_receiver.requests)
    assert (warning["severity"], warning["source"], warning["component"]) == ("warning", "canary", "v2")
    assert "group" not in warning
    assert (info["severity"], info["source"]) == ("info", "llmmon")


def test_invalid_event_400_is_not_retried_and_reason_is_kept(http_receiver):
    route = _route(http_receiver)
    http_receiver.script = [Reply(400, json.dumps({"status": "invalid event", "message": "Event object is invalid",
                                                   "errors": ["'payload.source' is missing or blank"]}))]
    result = route.deliver(make_notification())

    assert (result.status, result.attempts) == ("failed", 1)
    assert result.error.startswith('HTTP 400: {"status": "invalid event", "message": "Event object is invalid"')
    assert len(http_receiver.requests) == 1


def test_summary_and_dedup_key_respect_pagerduty_limits(http_receiver):
    long_key = "k" * 300
    _route(http_receiver).deliver(make_notification(summary="s" * 2000, dedup_key=long_key))

    event = http_receiver.requests[0].json()
    assert len(event["payload"]["summary"]) == 1024 and event["payload"]["summary"].endswith("…")
    assert len(event["dedup_key"]) <= 255
    assert event["dedup_key"] == pagerduty_dedup_key(long_key)  # stable: resolve will send the same key
    assert pagerduty_dedup_key(DEDUP) == DEDUP
