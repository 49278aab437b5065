"""Delivery behaviour every HTTP route shares, run against each route over real HTTP on 127.0.0.1:
retries on 5xx/429/connection errors, none on other 4xx, Retry-After honoured, secrets resolved lazily and never
seen in results or logs."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from llmmon.alerts.model import Route
from llmmon.alerts.routes import build_route
from llmmon.config import AlertmanagerRoute, PagerDutyRoute, SlackRoute, WebhookRoute

from .conftest import Reply, echo, leaked, make_notification, resolver

SLACK_PATH = "/services/T0001/B0002/sl4ckT0kenXYZ"
HOOK_PATH = "/hooks/wh-T0ken-123456"
PD_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
SIGNING = "whsec_9f8e7d6c5b4a"
AM_PASSWORD = "am-P4ssw0rd-secret"
AM_BASIC = base64.b64encode(f"llmmon:{AM_PASSWORD}".encode()).decode()


@dataclass(frozen=True)
class Case:
    kind: str
    build: Callable[..., Route]  # (base_url, env, **config overrides) -> route
    secrets: tuple[str, ...]  # strings that must never appear in a result or a log line
    ok: Reply


def _slack(base: str, env: dict, **kw) -> Route:
    cfg = SlackRoute(type="slack", name="r-slack", webhook_url={"env": "SLACK_URL"}, **kw)
    return build_route(cfg, resolver({k: v.format(base=base) for k, v in env.items()}))


def _pagerduty(base: str, env: dict, **kw) -> Route:
    cfg = PagerDutyRoute(type="pagerduty", name="r-pd", routing_key={"env": "PD_KEY"}, url=f"{base}/v2/enqueue", **kw)
    return build_route(cfg, resolver(env))


def _webhook(base: str, env: dict, **kw) -> Route:
    cfg = WebhookRoute(type="webhook", name="r-hook", url={"env": "HOOK_URL"}, hmac_secret={"env": "HOOK_SIGNING"}, **kw)
    return build_route(cfg, resolver({k: v.format(base=base) for k, v in env.items()}))


def _alertmanager(base: str, env: dict, **kw) -> Route:
    cfg = AlertmanagerRoute(
        type="alertmanager", name="r-am", url=base, username="llmmon", password={"env": "AM_PASSWORD"}, **kw
    )
    return build_route(cfg, resolver(env))


ENV = {
    "SLACK_URL": "{base}" + SLACK_PATH,
    "PD_KEY": PD_KEY,
    "HOOK_URL": "{base}" + HOOK_PATH,
    "HOOK_SIGNING": SIGNING,
    "AM_PASSWORD": AM_PASSWORD,
}
CASES = [
    Case("slack", _slack, ("sl4ckT0kenXYZ",), Reply(200, "ok")),
    Case("pagerduty", _pagerduty, (PD_KEY,), Reply(202, json.dumps({"status": "success", "dedup_key": "k"}))),
    Case("webhook", _webhook, ("wh-T0ken-123456", SIGNING), Reply(204, b"")),
    Case("alertmanager", _alertmanager, (AM_PASSWORD, AM_BASIC), Reply(200, b"")),
]


@pytest.fixture(params=CASES, ids=[c.kind for c in CASES])
def case(request) -> Case:
    return request.param


def _route(case: Case, receiver, env: dict | None = None, **kw) -> Route:
    receiver.default = case.ok
    kw.setdefault("backoff_s", 0.001)
    return case.build(receiver.base_url, ENV if env is None else env, **kw)


def _clean(text: str | None, case: Case) -> bool:
    return not any(s in (text or "") for s in case.secrets)


def test_receiver_failing_twice_then_accepting_gives_sent_after_3_attempts(case, http_receiver):
    route = _route(case, http_receiver)
    http_receiver.script = [500, 503]
    result = route.deliver(make_notification())

    assert (result.status, result.attempts, result.error, result.route) == ("sent", 3, None, route.name)
    assert len(http_receiver.requests) == 3
    assert len({r.body for r in http_receiver.requests}) == 1  # the same message each time


def test_always_failing_receiver_gives_failed_after_max_attempts_with_a_scrubbed_error(case, http_receiver, caplog):
    caplog.set_level(logging.DEBUG)
    route = _route(case, http_receiver, max_attempts=4)
    http_receiver.default = echo(500)  # the reply quotes the request, secrets and all
    result = route.deliver(make_notification())

    assert (result.status, result.attempts) == ("failed", 4)
    assert len(http_receiver.requests) == 4
    assert result.error.startswith("HTTP 500: ")
    assert "***" in result.error  # the echoed secret was there, and was scrubbed
    assert _clean(result.error, case)
    assert "attempt 3 of 4" in caplog.text and "failed after 4 attempts" in caplog.text
    assert leaked(caplog, *case.secrets) == []


def test_client_error_is_not_retried(case, http_receiver, caplog):
    caplog.set_level(logging.DEBUG)
    route = _route(case, http_receiver)
    http_receiver.script = [echo(403)]
    result = route.deliver(make_notification())

    assert (result.status, result.attempts) == ("failed", 1)
    assert len(http_receiver.requests) == 1
    assert result.error.startswith("HTTP 403") and _clean(result.error, case)
    assert leaked(caplog, *case.secrets) == []


def test_429_retry_after_is_honoured(case, http_receiver):
    route = _route(case, http_receiver)
    http_receiver.script = [Reply(429, "slow down", {"Retry-After": "1"})]
    result = route.deliver(make_notification())

    assert (result.status, result.attempts) == ("sent", 2)
    first, second = http_receiver.requests
    assert second.at - first.at >= 1.0  # backoff_s is 0.001: only Retry-After explains the wait


def test_unresolvable_secret_is_not_configured_and_nothing_is_sent(case, http_receiver, caplog):
    caplog.set_level(logging.DEBUG)
    route = _route(case, http_receiver, env={})
    result = route.deliver(make_notification())

    assert (result.status, result.attempts, result.route) == ("not_configured", 0, route.name)
    assert "env:" in result.error and "is not available" in result.error
    assert http_receiver.requests == []
    assert "not configured" in caplog.text


def test_unreachable_receiver_is_retried_then_failed_without_leaking(case, unused_port, caplog):
    caplog.set_level(logging.DEBUG)
    route = case.build(f"http://127.0.0.1:{unused_port}", ENV, backoff_s=0.001, max_attempts=2)
    result = route.deliver(make_notification("resolved"))

    assert (result.status, result.attempts) == ("failed", 2)
    assert result.error.startswith("connection error") and _clean(result.error, case)
    assert leaked(caplog, *case.secrets) == []


def test_successful_delivery_logs_no_secret(case, http_receiver, caplog):
    caplog.set_level(logging.DEBUG)
    route = _route(case, http_receiver)
    for kind in ("firing", "renotify", "resolved"):
        assert route.deliver(make_notification(kind)).status == "sent"

    assert "delivered firing notification" in caplog.text
    assert leaked(caplog, *case.secrets) == []
