"""Alertmanager v2 route against a real HTTP receiver: the alert list, startsAt/endsAt, identity labels, basic auth."""

from __future__ import annotations

import base64
import datetime as dt

from llmmon.alerts.routes import build_route
from llmmon.alerts.routes.alertmanager import DEFAULT_FIRING_TTL, label_name
from llmmon.config import AlertmanagerRoute

from .conftest import Reply, make_notification, resolver

PASSWORD = "am-P4ssw0rd-secret"
RUN_URL = "http://airflow.example/dags/golden_eval/runs/r1"


def _route(receiver, **kw):
    receiver.default = Reply(200, b"")
    config = AlertmanagerRoute(type="alertmanager", name="am", url=receiver.base_url + "/", backoff_s=0.001, **kw)
    return build_route(config, resolver({"AM_PASSWORD": PASSWORD}))


def _parse(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_firing_alert_list_has_exact_shape_and_ends_in_the_future(http_receiver):
    before = dt.datetime.now(dt.UTC)
    result = _route(http_receiver).deliver(make_notification())
    after = dt.datetime.now(dt.UTC)

    assert (result.status, result.attempts, result.error) == ("sent", 1, None)
    [req] = http_receiver.requests
    assert (req.method, req.path, req.headers["content-type"]) == ("POST", "/api/v2/alerts", "application/json")
    assert "authorization" not in req.headers
    [alert] = req.json()
    ends_at = alert.pop("endsAt")
    assert alert == {
        "labels": {
            "alertname": "golden_pass_rate_drop",
            "severity": "critical",
            "endpoint": "prod",
            "suite": "customer_support",
        },
        "annotations": {
            "summary": "pass rate 91.0% -> 84.5% on prod (customer_support)",
            "description": "McNemar p=0.003, drop 6.5 points (CI 3.1 to 9.8).",
            "value": "0.845",
            "threshold": "0.88",
            "llmmon_alert_id": "a1b2c3d4e5f6a7b8c9d0",
            "llmmon_dedup_key": "golden_pass_rate_drop:prod:customer_support:overall",
            "link_run": RUN_URL,
        },
        "startsAt": "2026-11-02T09:30:00Z",
        "generatorURL": RUN_URL,
    }
    # Still active until llmmon resolves it or goes silent for the TTL (not Alertmanager's 5 m resolve_timeout).
    assert before + DEFAULT_FIRING_TTL - dt.timedelta(seconds=1) <= _parse(ends_at) <= after + DEFAULT_FIRING_TTL


def test_resolved_alert_keeps_its_labels_and_ends_when_it_resolved(http_receiver):
    route = _route(http_receiver)
    route.deliver(make_notification())
    route.deliver(make_notification("resolved"))

    firing, resolved = (r.json()[0] for r in http_receiver.requests)
    assert resolved["labels"] == firing["labels"]  # Alertmanager matches the two by label set
    assert (resolved["startsAt"], resolved["endsAt"]) == ("2026-11-02T09:30:00Z", "2026-11-02T13:45:00Z")


def test_resolved_without_times_still_sends_a_consistent_start(http_receiver):
    before = dt.datetime.now(dt.UTC)
    _route(http_receiver).deliver(make_notification("resolved", started_at=None, ended_at=None, links={}))

    alert = http_receiver.requests[0].json()[0]
    # Alertmanager refuses endsAt < startsAt, and would default a missing startsAt to "now": both set, equal.
    assert alert["startsAt"] == alert["endsAt"]
    assert _parse(alert["endsAt"]) >= before - dt.timedelta(seconds=1)
    assert "generatorURL" not in alert


def test_labels_are_sanitised_and_cannot_override_identity(http_receiver):
    labels = {"model-version": "v2", "9lives": "x", "alertname": "spoof", "severity": "info", "empty": ""}
    _route(http_receiver).deliver(make_notification(labels=labels))

    assert http_receiver.requests[0].json()[0]["labels"] == {
        "model_version": "v2", "_9lives": "x", "alertname": "golden_pass_rate_drop", "severity": "critical",
    }
    assert label_name("ok_name") == "ok_name" and label_name("a.b/c") == "a_b_c"


def test_basic_auth_when_configured(http_receiver):
    route = _route(http_receiver, username="llmmon", password={"env": "AM_PASSWORD"})
    assert route.deliver(make_notification()).status == "sent"

    auth = http_receiver.requests[0].headers["authorization"]
    assert auth.startswith("Basic ")
    assert base64.b64decode(auth.removeprefix("Basic ")).decode() == f"llmmon:{PASSWORD}"


def test_bad_request_is_not_retried(http_receiver):
    route = _route(http_receiver)
    http_receiver.script = [Reply(400, '{"code":400,"message":"start time must be before end time"}')]
    result = route.deliver(make_notification())

    assert (result.status, result.attempts) == ("failed", 1)
    assert "start time must be before end time" in result.error
