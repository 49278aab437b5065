"""Email over SMTP: a plain-text message with an HTML alternative, sent with ``smtplib``.

``security``: ``starttls`` (connect, then upgrade with certificate verification; a server that does not offer
STARTTLS is an error, never a silent fall-back to clear text), ``tls`` (implicit TLS, usually port 465) or
``none`` (clear text: only for a relay on the same host or network). Login happens when ``username`` and
``password`` are both configured. Transient SMTP replies (4xx), timeouts and dropped connections are retried;
permanent ones (5xx: unknown recipient, bad credentials) are not. Everything in the HTML part is escaped.
"""

from __future__ import annotations

import base64
import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from llmmon.alerts.model import DeliveryResult, Notification
from llmmon.alerts.routes.base import (
    Attempt,
    BaseRoute,
    details,
    excerpt,
    http_links,
    is_resolved,
    kind_note,
    title,
)
from llmmon.config import EmailRoute

SUBJECT_LIMIT = 250
_COLOUR = {"critical": "#b3261e", "warning": "#b06000", "info": "#1a73e8"}
_RESOLVED_COLOUR = "#188038"


def subject(notification: Notification) -> str:
    """``[llmmon] [SEVERITY] FIRING|RESOLVED: summary`` on one line (a header cannot hold a line break)."""
    text = f"[llmmon] {title(notification)}"
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 1] + "…"


def text_body(notification: Notification) -> str:
    lines = [title(notification), ""]
    if kind_note(notification):
        lines += [kind_note(notification), ""]
    if notification.description.strip():
        lines += [notification.description.strip(), ""]
    width = max(len(label) for label, _ in details(notification)) + 1
    lines += [f"{label + ':':<{width}} {value}" for label, value in details(notification)]
    if notification.labels:
        lines += ["", "Labels:"] + [f"  {k} = {v}" for k, v in sorted(notification.labels.items())]
    links = http_links(notification)
    if links:
        lines += ["", "Links:"] + [f"  {name}: {url}" for name, url in links.items()]
    lines += ["", "-- ", f"Sent by llmmon. Alert {notification.alert_id}, dedup key {notification.dedup_key}."]
    return "\n".join(lines) + "\n"


def html_body(notification: Notification) -> str:
    """The HTML alternative; every value is escaped (alert text may quote prompts or model output)."""
    e = html.escape
    colour = _RESOLVED_COLOUR if is_resolved(notification) else _COLOUR.get(notification.severity, "#b06000")
    parts = [
        "<!DOCTYPE html>",
        '<html><body style="font-family: Arial, Helvetica, sans-serif; font-size: 14px;">',
        f'<h2 style="color: {colour};">{e(title(notification))}</h2>',
    ]
    if kind_note(notification):
        parts.append(f"<p><em>{e(kind_note(notification) or '')}</em></p>")
    if notification.description.strip():
        parts.append(f'<p style="white-space: pre-wrap;">{e(notification.description.strip())}</p>')
    parts.append('<table cellpadding="4" style="border-collapse: collapse;">')
    parts += [
        f'<tr><th align="left">{e(label)}</th><td>{e(value)}</td></tr>' for label, value in details(notification)
    ]
    parts.append("</table>")
    if notification.labels:
        items = "".join(f"<li><code>{e(k)}</code> = <code>{e(v)}</code></li>" for k, v in sorted(notification.labels.items()))
        parts.append(f"<p>Labels:</p><ul>{items}</ul>")
    links = http_links(notification)
    if links:
        items = "".join(f'<li><a href="{e(url)}">{e(name)}</a></li>' for name, url in links.items())
        parts.append(f"<p>Links:</p><ul>{items}</ul>")
    parts.append(
        f'<p style="color: #666; font-size: 12px;">Sent by llmmon. Alert {e(notification.alert_id)}, '
        f"dedup key {e(notification.dedup_key)}.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def email_message(notification: Notification, *, sender: str, recipients: list[str]) -> EmailMessage:
    """The message: plain text first, HTML as the preferred alternative."""
    msg = EmailMessage()
    msg["Subject"] = subject(notification)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    # One Message-ID for the delivery and all its retries, so a receiving server can drop a duplicate.
    msg["Message-ID"] = make_msgid("llmmon", domain=sender.rpartition("@")[2] or "llmmon.invalid")
    msg["X-Llmmon-Dedup-Key"] = " ".join(notification.dedup_key.split())
    msg["X-Llmmon-Status"] = "resolved" if is_resolved(notification) else "firing"
    msg.set_content(text_body(notification))
    msg.add_alternative(html_body(notification), subtype="html")
    return msg


class SmtpEmailRoute(BaseRoute):
    """Send each notification as one email to every recipient."""

    config: EmailRoute

    def _deliver(self, notification: Notification) -> DeliveryResult:
        cfg = self.config
        password = self._secret(cfg.password, "SMTP password") if cfg.password else None
        msg = email_message(notification, sender=cfg.sender, recipients=list(cfg.recipients))
        secrets = []
        if password:
            # The password, and the AUTH PLAIN / LOGIN encodings a server might echo back in an error.
            secrets = [
                password,
                base64.b64encode(password.encode()).decode("ascii"),
                base64.b64encode(f"\0{cfg.username or ''}\0{password}".encode()).decode("ascii"),
            ]
        return self._run(notification, lambda _n: self._send(msg, password, secrets), secrets)

    def _connect(self, context: ssl.SSLContext) -> smtplib.SMTP:
        cfg = self.config
        if cfg.security == "tls":
            return smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=self.policy.timeout_s, context=context)
        return smtplib.SMTP(cfg.host, cfg.port, timeout=self.policy.timeout_s)

    def _send(self, msg: EmailMessage, password: str | None, secrets: list[str]) -> Attempt:
        cfg = self.config

        def said(message: bytes | str) -> str:  # what the server replied, scrubbed before it is cut
            return excerpt(message if isinstance(message, bytes | str) else str(message), secrets)

        context = ssl.create_default_context()
        try:
            smtp = self._connect(context)
            try:
                if cfg.security == "starttls":
                    smtp.ehlo()
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if cfg.username is not None and password is not None:
                    smtp.login(cfg.username, password)
                refused = smtp.send_message(msg, from_addr=cfg.sender, to_addrs=list(cfg.recipients))
            finally:
                _quit(smtp)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            listed = "; ".join(f"{rcpt} ({code} {said(m)})" for rcpt, (code, m) in exc.recipients.items())
            return Attempt(ok=False, retryable=all(400 <= c < 500 for c in codes),
                           error=f"every recipient was refused: {listed}")
        except smtplib.SMTPNotSupportedError as exc:
            return Attempt(ok=False, retryable=False, error=f"SMTP server does not support what is configured: {exc}")
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            return Attempt(ok=False, retryable=400 <= code < 500,
                           error=f"SMTP {code}: {said(exc.smtp_error)} ({type(exc).__name__})")
        except smtplib.SMTPServerDisconnected as exc:
            return Attempt(ok=False, retryable=True, error=f"SMTP server disconnected: {exc}")
        except smtplib.SMTPException as exc:
            return Attempt(ok=False, retryable=False, error=f"SMTP error: {type(exc).__name__}: {exc}")
        except ssl.SSLCertVerificationError as exc:
            return Attempt(ok=False, retryable=False, error=f"TLS certificate verification failed: {exc.verify_message}")
        except ssl.SSLError as exc:
            return Attempt(ok=False, retryable=False, error=f"TLS error: {exc.reason or type(exc).__name__}")
        except TimeoutError:
            return Attempt(ok=False, retryable=True, error=f"timeout after {self.policy.timeout_s:g} s")
        except OSError as exc:
            return Attempt(ok=False, retryable=True, error=f"connection error: {type(exc).__name__}: {exc.strerror or exc}")
        if refused:
            listed = "; ".join(f"{rcpt} ({code} {said(m)})" for rcpt, (code, m) in refused.items())
            return Attempt(ok=True, note=f"sent, but some recipients were refused: {listed}")
        return Attempt(ok=True)


def _quit(smtp: smtplib.SMTP) -> None:
    # The message is already accepted (or the attempt already failed): a QUIT that goes wrong must not turn a
    # delivered email into a failure, which would be retried and arrive twice.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
