"""Slack incoming-webhook route against a real HTTP receiver: the exact message, resolved marking, escaping."""

from __future__ import annotations

from llmmon.alerts.routes import build_route
from llmmon.alerts.routes.slack import fit, mrkdwn_escape
from llmmon.config import SlackRoute

from .conftest import make_notification, resolver

TOKEN_PATH = "/services/T0001/B0002/sl4ckT0kenXYZ"


def _route(receiver, **kw):
    config = SlackRoute(type="slack", name="oncall-slack", webhook_url={"env": "SLACK_URL"}, backoff_s=0.001, **kw)
    return build_route(config, resolver({"SLACK_URL": receiver.url(TOKEN_PATH)}))


def test_firing_message_is_posted_with_exact_shape(http_receiver):
    result = _route(http_receiver).deliver(make_notification())

    assert (result.status, result.attempts, result.error, result.route) == ("sent", 1, None, "oncall-slack")
    [req] = http_receiver.requests
    assert (req.method, req.path) == ("POST", TOKEN_PATH)
    assert req.headers["content-type"] == "application/json; charset=utf-8"
    headline = "[CRITICAL] FIRING: pass rate 91.0% -&gt; 84.5% on prod (customer_support)"
    assert req.json() == {
        "text": f":rotating_light: {headline}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f":rotating_light: *{headline}*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "McNemar p=0.003, drop 6.5 points (CI 3.1 to 9.8)."}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Rule*\ngolden_pass_rate_drop"},
                    {"type": "mrkdwn", "text": "*Severity*\ncritical"},
                    {"type": "mrkdwn", "text": "*Value*\n0.845"},
                    {"type": "mrkdwn", "text": "*Threshold*\n0.88"},
                    {"type": "mrkdwn", "text": "*Since*\n2026-11-02T09:30:00Z"},
                ],
            },
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "endpoint=prod, suite=customer_support"},
                    {"type": "mrkdwn", "text": "<http://airflow.example/dags/golden_eval/runs/r1|run>"},
                ],
            },
        ],
    }


def test_resolved_message_is_marked_resolved(http_receiver):
    result = _route(http_receiver).deliver(make_notification("resolved"))

    assert result.status == "sent"
    msg = http_receiver.requests[0].json()
    assert msg["text"] == ":white_check_mark: [CRITICAL] RESOLVED: pass rate 91.0% -&gt; 84.5% on prod (customer_support)"
    assert msg["blocks"][0]["text"]["text"].startswith(":white_check_mark: *[CRITICAL] RESOLVED:")
    assert {"type": "mrkdwn", "text": "*Resolved at*\n2026-11-02T13:45:00Z"} in msg["blocks"][2]["fields"]
    assert "FIRING" not in http_receiver.requests[0].body.decode()


def test_renotify_says_it_is_a_reminder(http_receiver):
    _route(http_receiver).deliver(make_notification("renotify", description=""))

    blocks = http_receiver.requests[0].json()["blocks"]
    assert blocks[0]["text"]["text"].startswith(":rotating_light: *[CRITICAL] FIRING:")
    assert blocks[1]["text"]["text"] == "Reminder: this alert is still firing."


def test_markup_in_alert_text_is_escaped(http_receiver):
    n = make_notification(
        summary="<script>alert(1)</script> & <!channel>",
        description="a <b>bold</b> & <@U123> claim",
        labels={"endpoint": "a<b>&c"},
    )
    _route(http_receiver).deliver(n)

    raw = http_receiver.requests[0].body.decode()
    msg = http_receiver.requests[0].json()
    assert msg["text"] == ":rotating_light: [CRITICAL] FIRING: &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt;"
    assert msg["blocks"][1]["text"]["text"] == "a &lt;b&gt;bold&lt;/b&gt; &amp; &lt;@U123&gt; claim"
    assert msg["blocks"][3]["elements"][0]["text"] == "endpoint=a&lt;b&gt;&amp;c"
    for unsafe in ("<script", "<!channel>", "<@U123>", "<b>"):
        assert unsafe not in raw


def test_fit_never_cuts_an_entity():
    assert mrkdwn_escape("a&b<c>") == "a&amp;b&lt;c&gt;"
    assert fit("&&&&", 10) == "&amp;…"  # "&amp;&amp;" would be exactly 10 but needs the ellipsis room
    assert fit("abc", 3) == "abc"
    assert len(fit("x" * 5000, 3000)) == 3000
