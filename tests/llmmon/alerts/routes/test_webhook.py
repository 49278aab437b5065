"""Signed JSON webhook route against a real HTTP receiver that verifies the HMAC signature itself."""

from __future__ import annotations

import hashlib
import hmac
import time

from llmmon.alerts.routes import build_route, verify_signature
from llmmon.config import WebhookRoute

from .conftest import make_notification, resolver

PATH = "/hooks/llmmon/wh-T0ken-123456"
SIGNING = "whsec_9f8e7d6c5b4a"


def _route(receiver, signed=True, **kw):
    config = WebhookRoute(
        type="webhook", name="hook", url={"env": "HOOK_URL"},
        hmac_secret={"env": "HOOK_SIGNING"} if signed else None, backoff_s=0.001, **kw,
    )
    return build_route(config, resolver({"HOOK_URL": receiver.url(PATH), "HOOK_SIGNING": SIGNING}))


def _receiver_accepts(req) -> bool:
    """What a receiver does, written independently of llmmon's code: recompute the MAC over the raw body."""
    timestamp = req.headers["x-llmmon-timestamp"]
    expected = "sha256=" + hmac.new(SIGNING.encode(), f"{timestamp}.".encode() + req.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, req.headers["x-llmmon-signature"]) and abs(time.time() - int(timestamp)) < 300


def test_payload_is_the_notification_as_json_and_signature_verifies(http_receiver):
    result = _route(http_receiver).deliver(make_notification())

    assert (result.status, result.attempts, result.error) == ("sent", 1, None)
    [req] = http_receiver.requests
    assert (req.method, req.path) == ("POST", PATH)
    assert req.headers["content-type"] == "application/json; charset=utf-8"
    assert req.json() == {
        "version": 1,
        "status": "firing",
        "kind": "firing",
        "alert_id": "a1b2c3d4e5f6a7b8c9d0",
        "dedup_key": "golden_pass_rate_drop:prod:customer_support:overall",
        "rule": "golden_pass_rate_drop",
        "severity": "critical",
        "summary": "pass rate 91.0% -> 84.5% on prod (customer_support)",
        "description": "McNemar p=0.003, drop 6.5 points (CI 3.1 to 9.8).",
        "labels": {"endpoint": "prod", "suite": "customer_support"},
        "value": 0.845,
        "threshold": 0.88,
        "started_at": "2026-11-02T09:30:00Z",
        "ended_at": None,
        "links": {"run": "http://airflow.example/dags/golden_eval/runs/r1"},
    }
    assert _receiver_accepts(req)
    assert len(req.headers["x-llmmon-delivery"]) == 32


def test_resolved_payload_has_status_and_end_time(http_receiver):
    _route(http_receiver).deliver(make_notification("resolved", value=float("nan")))

    body = http_receiver.requests[0].json()
    assert (body["status"], body["kind"], body["ended_at"]) == ("resolved", "resolved", "2026-11-02T13:45:00Z")
    assert body["value"] is None  # NaN is not JSON


def test_each_retry_is_signed_afresh_under_one_delivery_id(http_receiver):
    http_receiver.script = [503, 502]
    result = _route(http_receiver).deliver(make_notification())

    assert (result.status, result.attempts) == ("sent", 3)
    assert all(_receiver_accepts(r) for r in http_receiver.requests)
    assert len({r.headers["x-llmmon-delivery"] for r in http_receiver.requests}) == 1
    assert len({r.body for r in http_receiver.requests}) == 1


def test_unsigned_when_no_signing_secret_is_configured(http_receiver):
    _route(http_receiver, signed=False).deliver(make_notification())

    req = http_receiver.requests[0]
    assert "x-llmmon-signature" not in req.headers
    assert req.headers["x-llmmon-timestamp"].isdigit()


def test_missing_signing_secret_is_not_configured_and_nothing_is_sent_unsigned(http_receiver):
    config = WebhookRoute(type="webhook", name="hook", url={"env": "HOOK_URL"}, hmac_secret={"env": "NOPE"})
    result = build_route(config, resolver({"HOOK_URL": http_receiver.url(PATH)})).deliver(make_notification())

    assert (result.status, result.attempts) == ("not_configured", 0)
    assert "env:NOPE" in result.error
    assert http_receiver.requests == []


def test_verify_signature_accepts_fresh_and_refuses_tampered_old_or_foreign():
    body = b'{"a":1}'
    now = 1_800_000_000
    good = "sha256=" + hmac.new(b"k", b"1800000000." + body, hashlib.sha256).hexdigest()
    assert verify_signature("k", "1800000000", body, good, now=now + 299)
    assert not verify_signature("k", "1800000000", body, good, now=now + 301)  # replayed too late
    assert not verify_signature("k", "1800000000", b'{"a":2}', good, now=now)  # body changed
    assert not verify_signature("other", "1800000000", body, good, now=now)  # wrong secret
    assert not verify_signature("k", "1800000001", body, good, now=now)  # timestamp changed
    assert not verify_signature("k", "soon", body, good, now=now)
