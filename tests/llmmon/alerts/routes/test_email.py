"""SMTP email route against a real aiosmtpd server on 127.0.0.1 (plain SMTP with AUTH, as a local relay would be)."""

from __future__ import annotations

import base64
import email
import email.policy
import logging

from llmmon.alerts.routes import build_route
from llmmon.config import EmailRoute

from .conftest import SMTP_PASSWORD, SMTP_USER, leaked, make_notification, resolver

SECRETS = (
    SMTP_PASSWORD,
    base64.b64encode(SMTP_PASSWORD.encode()).decode(),
    base64.b64encode(f"\0{SMTP_USER}\0{SMTP_PASSWORD}".encode()).decode(),
)


def _route(smtp, *, password_env="SMTP_PASSWORD", env=None, **kw):
    fields = {
        "type": "email", "name": "mail", "host": smtp.host, "port": smtp.port, "security": "none",
        "username": SMTP_USER, "password": {"env": password_env},
        "sender": "llmmon@example.org", "recipients": ["oncall@example.org", "ml-team@example.org"],
        "backoff_s": 0.001,
    }
    fields.update(kw)
    env = {"SMTP_PASSWORD": SMTP_PASSWORD} if env is None else env
    return build_route(EmailRoute(**fields), resolver(env))


def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_firing_email_has_subject_text_and_html_and_logs_in(smtp_receiver):
    result = _route(smtp_receiver).deliver(make_notification())

    assert (result.status, result.attempts, result.error, result.route) == ("sent", 1, None, "mail")
    [mail] = smtp_receiver.handler.messages
    assert mail.login == SMTP_USER  # AUTH happened with the right password
    assert (mail.mail_from, mail.rcpt_tos) == ("llmmon@example.org", ["oncall@example.org", "ml-team@example.org"])
    msg = _parse(mail.content)
    assert msg["Subject"] == "[llmmon] [CRITICAL] FIRING: pass rate 91.0% -> 84.5% on prod (customer_support)"
    assert (msg["From"], msg["To"]) == ("llmmon@example.org", "oncall@example.org, ml-team@example.org")
    assert msg["X-Llmmon-Dedup-Key"] == "golden_pass_rate_drop:prod:customer_support:overall"
    assert msg["Message-ID"].endswith("@example.org>")
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.iter_parts()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert text.get_content().replace("\r\n", "\n") == (
        "[CRITICAL] FIRING: pass rate 91.0% -> 84.5% on prod (customer_support)\n"
        "\n"
        "McNemar p=0.003, drop 6.5 points (CI 3.1 to 9.8).\n"
        "\n"
        "Rule:      golden_pass_rate_drop\n"
        "Severity:  critical\n"
        "Value:     0.845\n"
        "Threshold: 0.88\n"
        "Since:     2026-11-02T09:30:00Z\n"
        "\n"
        "Labels:\n"
        "  endpoint = prod\n"
        "  suite = customer_support\n"
        "\n"
        "Links:\n"
        "  run: http://airflow.example/dags/golden_eval/runs/r1\n"
        "\n"
        "-- \n"
        "Sent by llmmon. Alert a1b2c3d4e5f6a7b8c9d0, dedup key golden_pass_rate_drop:prod:customer_support:overall.\n"
    )
    body = html.get_content()
    assert "<h2 style=\"color: #b3261e;\">[CRITICAL] FIRING: pass rate 91.0% -&gt; 84.5% on prod (customer_support)</h2>" in body
    assert '<tr><th align="left">Threshold</th><td>0.88</td></tr>' in body
    assert '<li><a href="http://airflow.example/dags/golden_eval/runs/r1">run</a></li>' in body


def test_resolved_email_says_resolved(smtp_receiver):
    _route(smtp_receiver).deliver(make_notification("resolved"))

    msg = _parse(smtp_receiver.handler.messages[0].content)
    assert msg["Subject"] == "[llmmon] [CRITICAL] RESOLVED: pass rate 91.0% -> 84.5% on prod (customer_support)"
    assert "Resolved at: 2026-11-02T13:45:00Z" in msg.get_body(("plain",)).get_content()
    assert "#188038" in msg.get_body(("html",)).get_content()  # green heading


def test_html_part_escapes_everything_and_subject_stays_one_line(smtp_receiver):
    n = make_notification(
        summary="<script>alert(1)</script> & café\nSecond line",
        description='<img src=x onerror="steal()"> & more',
        labels={"endpoint": "<b>prod</b>"},
        links={"run": 'http://x.example/?a=1&b="<2>"', "bad": "javascript:alert(1)"},
    )
    assert _route(smtp_receiver).deliver(n).status == "sent"

    msg = _parse(smtp_receiver.handler.messages[0].content)
    assert msg["Subject"] == "[llmmon] [CRITICAL] FIRING: <script>alert(1)</script> & café Second line"
    html = msg.get_body(("html",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; café Second line" in html
    assert "&lt;img src=x onerror=&quot;steal()&quot;&gt; &amp; more" in html
    assert "<code>&lt;b&gt;prod&lt;/b&gt;</code>" in html
    assert '<a href="http://x.example/?a=1&amp;b=&quot;&lt;2&gt;&quot;">run</a>' in html
    for unsafe in ("<script", "<img", "<b>", "javascript:"):
        assert unsafe not in html


def test_transient_failures_twice_then_accepted(smtp_receiver):
    smtp_receiver.handler.data_script = ["451 4.3.0 Try again later", "451 4.3.0 Try again later"]
    result = _route(smtp_receiver).deliver(make_notification())

    assert (result.status, result.attempts, result.error) == ("sent", 3, None)
    assert len(smtp_receiver.handler.messages) == 1
    assert smtp_receiver.handler.connections == 3


def test_always_transient_failure_gives_failed_with_scrubbed_error(smtp_receiver, caplog):
    caplog.set_level(logging.DEBUG)
    # A server that quotes the credentials back: the error must still not carry them.
    smtp_receiver.handler.data_script = [f"451 4.3.0 busy (auth {SMTP_PASSWORD} {SECRETS[2]})"] * 4
    result = _route(smtp_receiver, max_attempts=4).deliver(make_notification())

    assert (result.status, result.attempts) == ("failed", 4)
    assert result.error.startswith("SMTP 451: 4.3.0 busy (auth *** ***)")
    assert not any(s in result.error for s in SECRETS)
    assert smtp_receiver.handler.messages == []
    assert "attempt 3 of 4" in caplog.text
    assert leaked(caplog, *SECRETS) == []


def test_permanent_recipient_refusal_is_not_retried(smtp_receiver):
    smtp_receiver.handler.rcpt_script = ["550 5.1.1 No such user", "550 5.1.1 No such user"]
    result = _route(smtp_receiver).deliver(make_notification())

    assert (result.status, result.attempts) == ("failed", 1)
    assert result.error.startswith("every recipient was refused: oncall@example.org (550 5.1.1 No such user)")


def test_one_refused_recipient_still_delivers_to_the_others(smtp_receiver):
    smtp_receiver.handler.rcpt_script = ["550 5.1.1 No such user"]
    result = _route(smtp_receiver).deliver(make_notification())

    assert (result.status, result.attempts) == ("sent", 1)
    assert result.error == "sent, but some recipients were refused: oncall@example.org (550 5.1.1 No such user)"
    assert smtp_receiver.handler.messages[0].rcpt_tos == ["ml-team@example.org"]


def test_wrong_password_is_not_retried_and_not_leaked(smtp_receiver, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-Pa55word"
    result = _route(smtp_receiver, env={"SMTP_PASSWORD": wrong}).deliver(make_notification())

    assert (result.status, result.attempts) == ("failed", 1)
    assert result.error.startswith("SMTP 535") and wrong not in result.error
    assert smtp_receiver.handler.auth_attempts[-1][1] is False
    assert leaked(caplog, wrong, base64.b64encode(f"\0{SMTP_USER}\0{wrong}".encode()).decode()) == []


def test_unresolvable_password_is_not_configured_and_no_connection_is_made(smtp_receiver):
    result = _route(smtp_receiver, password_env="MISSING").deliver(make_notification())

    assert (result.status, result.attempts) == ("not_configured", 0)
    assert "SMTP password (env:MISSING)" in result.error
    assert smtp_receiver.handler.connections == 0


def test_starttls_is_required_when_configured(smtp_receiver):
    # This server offers no STARTTLS: the route must fail, not fall back to sending the password in clear text.
    result = _route(smtp_receiver, security="starttls").deliver(make_notification())

    assert (result.status, result.attempts) == ("failed", 1)
    assert "STARTTLS" in result.error
    assert smtp_receiver.handler.auth_attempts == [] and smtp_receiver.handler.messages == []


def test_no_login_without_username(smtp_receiver):
    result = _route(smtp_receiver, username=None, password=None).deliver(make_notification())

    assert result.status == "sent"
    assert smtp_receiver.handler.messages[0].login is None


def test_unreachable_server_is_retried_then_failed(unused_port):
    route = build_route(
        EmailRoute(type="email", name="mail", host="127.0.0.1", port=unused_port, security="none",
                   sender="a@example.org", recipients=["b@example.org"], backoff_s=0.001, max_attempts=2),
        resolver({}),
    )
    result = route.deliver(make_notification())

    assert (result.status, result.attempts) == ("failed", 2)
    assert result.error.startswith("connection error: ConnectionRefusedError")
