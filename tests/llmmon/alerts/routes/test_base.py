"""The shared retry loop, HTTP classification, scrubbing and route building."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest

from llmmon.alerts.routes import (
    AlertmanagerV2Route,
    PagerDutyEventsRoute,
    SignedWebhookRoute,
    SlackWebhookRoute,
    SmtpEmailRoute,
    build_route,
    build_routes,
)
from llmmon.alerts.routes.base import (
    Attempt,
    RetryPolicy,
    excerpt,
    http_post,
    parse_retry_after,
    run_attempts,
    scrub,
)
from llmmon.config import Settings, SlackRoute, WebhookRoute
from llmmon.errors import ConfigError

from .conftest import Reply, make_notification, resolver

POLICY = RetryPolicy(max_attempts=3, backoff_s=1.0)


def _run(outcomes, policy=POLICY, rng=lambda: 0.0):
    """Run the loop over scripted outcomes with a recording sleep (no real waiting)."""
    calls, sleeps = [], []

    def attempt(n):
        calls.append(n)
        return outcomes[n - 1]

    result = run_attempts("r", make_notification(), policy, attempt, ["s3cret"], sleep=sleeps.append, rng=rng)
    return result, calls, sleeps


def test_backoff_doubles_with_jitter_between_half_and_full_and_is_capped():
    policy = RetryPolicy(backoff_s=2.0, max_backoff_s=10.0)
    assert [policy.backoff(n, rng=lambda: 0.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert [policy.backoff(n, rng=lambda: 0.5) for n in (1, 2, 3, 4)] == [1.5, 3.0, 6.0, 7.5]


def test_loop_sleeps_between_attempts_only_and_stops_on_success():
    fail = Attempt(ok=False, retryable=True, error="HTTP 503")
    result, calls, sleeps = _run([fail, fail, Attempt(ok=True)])
    assert (result.status, result.attempts, result.error, result.route) == ("sent", 3, None, "r")
    assert (calls, sleeps) == ([1, 2, 3], [0.5, 1.0])


def test_retry_after_wins_over_a_shorter_backoff_and_not_over_a_longer_one():
    slow = Attempt(ok=False, retryable=True, error="HTTP 429", retry_after_s=7.0)
    quick = Attempt(ok=False, retryable=True, error="HTTP 429", retry_after_s=0.1)
    _, _, sleeps = _run([slow, quick, Attempt(ok=True)])
    assert sleeps == [7.0, 1.0]


def test_retry_after_beyond_the_cap_fails_now_instead_of_blocking():
    result, calls, sleeps = _run([Attempt(ok=False, retryable=True, error="HTTP 429", retry_after_s=3600)])
    assert (result.status, result.attempts, calls, sleeps) == ("failed", 1, [1], [])
    assert "retry after 3600 s, longer than the 60 s" in result.error


def test_final_error_is_the_last_one_and_is_scrubbed():
    outcomes = [Attempt(ok=False, retryable=True, error=f"HTTP 50{i} for s3cret") for i in range(3)]
    result, calls, sleeps = _run(outcomes)
    assert (result.status, result.attempts, result.error) == ("failed", 3, "HTTP 502 for ***")
    assert len(sleeps) == 2


def test_an_exception_inside_an_attempt_is_a_recorded_failure_not_a_crash():
    def attempt(_n):
        raise RuntimeError("boom with s3cret")

    result = run_attempts("r", make_notification(), RetryPolicy(), attempt, ["s3cret"], sleep=lambda s: None)
    assert (result.status, result.attempts, result.error) == ("failed", 1, "unexpected RuntimeError: boom with ***")


def test_scrub_removes_url_quoted_url_and_url_token_parts():
    url = "https://hooks.example/services/T1/B2/tok3n?sig=abc123def"
    text = f"a {url} b {quote(url, safe='')} c /services/T1/B2/tok3n d sig=abc123def"
    assert scrub(text, [url]) == "a *** b *** c *** d ***"
    assert scrub("pw and AUTH cHc=", ["pw", "cHc="]) == "*** and AUTH ***"
    assert scrub("nothing", ["", "zzz"]) == "nothing"


def test_excerpt_scrubs_before_cutting():
    secret = "ABCDEFGHIJ0123456789"
    text = "x" * 190 + secret  # a 200-character cut would keep "ABCDEFGHIJ" if scrubbing came after it
    out = excerpt(text, [secret])
    assert "ABCDEFGHIJ" not in out and out.endswith("***")


def test_parse_retry_after_seconds_and_http_date():
    now = dt.datetime(2026, 11, 2, 9, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Mon, 02 Nov 2026 09:00:30 GMT", now) == 30.0
    assert parse_retry_after("Mon, 02 Nov 2026 08:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_http_timeout_is_retryable(http_receiver):
    http_receiver.script = [Reply(200, "late", delay_s=0.5)]
    attempt = http_post(http_receiver.url("/x"), b"{}", {}, timeout_s=0.1)
    assert (attempt.ok, attempt.retryable, attempt.error) == (False, True, "timeout after 0.1 s")


def test_redirect_is_not_followed(http_receiver):
    http_receiver.script = [Reply(302, "", {"Location": http_receiver.url("/elsewhere")})]
    attempt = http_post(http_receiver.url("/x"), b"{}", {}, timeout_s=2)
    assert (attempt.ok, attempt.retryable) == (False, False)
    assert attempt.error.startswith("HTTP 302") and "redirects are not followed" in attempt.error
    assert [r.path for r in http_receiver.requests] == ["/x"]


def test_408_is_retryable_and_other_4xx_are_not(http_receiver):
    http_receiver.script = [408, 404, 422]
    results = [http_post(http_receiver.url("/x"), b"{}", {}, timeout_s=2) for _ in range(3)]
    assert [(a.retryable, a.error) for a in results] == [(True, "HTTP 408"), (False, "HTTP 404"), (False, "HTTP 422")]


def test_secret_that_is_not_a_url_is_not_configured_and_not_quoted(http_receiver):
    route = build_route(SlackRoute(type="slack", name="s", webhook_url={"env": "U"}), resolver({"U": "not-a-url-xyz"}))
    result = route.deliver(make_notification())
    assert (result.status, result.attempts) == ("not_configured", 0)
    assert "not an http(s) URL" in result.error and "not-a-url-xyz" not in result.error


def test_a_resolver_that_crashes_is_not_configured_with_only_the_error_type():
    def broken(ref):
        raise RuntimeError("db down; dsn=postgres://u:hunter2@db")

    route = build_route(WebhookRoute(type="webhook", name="w", url={"airflow_connection": "hook"}), broken)
    result = route.deliver(make_notification())
    assert (result.status, result.attempts) == ("not_configured", 0)
    assert result.error == "webhook URL (airflow_connection:hook) could not be resolved: RuntimeError"


def test_build_routes_from_settings_builds_one_route_per_type_without_resolving_secrets():
    settings = Settings.model_validate({
        "endpoints": [{"name": "e", "base_url": "http://127.0.0.1:1/v1", "model": "m"}],
        "routes": [
            {"type": "slack", "name": "slack", "webhook_url": {"env": "A"}},
            {"type": "pagerduty", "name": "pd", "routing_key": {"env": "B"}},
            {"type": "webhook", "name": "hook", "url": {"env": "C"}},
            {"type": "alertmanager", "name": "am", "url": "http://am:9093"},
            {"type": "email", "name": "mail", "host": "smtp", "sender": "a@b.c", "recipients": ["d@e.f"]},
        ],
    })
    calls = []
    routes = build_routes(settings.routes, lambda ref: calls.append(ref) or "x")
    assert {name: type(r) for name, r in routes.items()} == {
        "slack": SlackWebhookRoute, "pd": PagerDutyEventsRoute, "hook": SignedWebhookRoute,
        "am": AlertmanagerV2Route, "mail": SmtpEmailRoute,
    }
    assert all(name == r.name for name, r in routes.items())
    assert calls == []  # secrets are resolved at delivery, not at build time
    assert routes["am"].endpoint == "http://am:9093/api/v2/alerts"


def test_build_routes_refuses_duplicate_names():
    cfg = SlackRoute(type="slack", name="dup", webhook_url={"env": "A"})
    with pytest.raises(ConfigError, match="'dup' is declared twice"):
        build_routes([cfg, cfg], resolver({}))
