"""Slack incoming webhook: a ``text`` fallback plus Block Kit ``blocks``, POSTed as JSON to the secret URL.

Slack answers 200 ``ok``; 4xx with a reason (``invalid_payload``, ``no_service``, ...) is final, 429 carries
``Retry-After``. Every piece of alert text goes through :func:`mrkdwn_escape`: Slack parses ``&``, ``<`` and ``>``
as control characters (links, mentions such as ``<!channel>``), so unescaped alert text could ping a channel.
"""

from __future__ import annotations

from typing import Any

from llmmon.alerts.model import DeliveryResult, Notification
from llmmon.alerts.routes.base import (
    Attempt,
    BaseRoute,
    details,
    http_links,
    http_post,
    is_resolved,
    json_body,
    kind_note,
    require_http_url,
    title,
)
from llmmon.config import SlackRoute

SECTION_LIMIT = 3000  # characters in one section's text (Block Kit)
FIELD_LIMIT = 2000  # characters in one section field
_EMOJI = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}
RESOLVED_EMOJI = ":white_check_mark:"


def mrkdwn_escape(text: str) -> str:
    """Escape Slack's three control characters; nothing else is entity-encoded (Slack would show it verbatim)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """``text`` escaped and cut to at most ``limit`` characters, never in the middle of an entity."""
    escaped = mrkdwn_escape(text)
    if len(escaped) <= limit:
        return escaped
    out, size = [], 0
    for ch in text:
        piece = mrkdwn_escape(ch)
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + "…"


def slack_message(notification: Notification) -> dict[str, Any]:
    """The JSON body for an incoming webhook: fallback ``text`` (used in notifications) and ``blocks``."""
    emoji = RESOLVED_EMOJI if is_resolved(notification) else _EMOJI.get(notification.severity, ":warning:")
    headline = fit(title(notification), SECTION_LIMIT - 40)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} *{headline}*"}}
    ]
    body = "\n".join(t for t in (kind_note(notification), notification.description.strip()) if t)
    if body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": fit(body, SECTION_LIMIT)}})
    blocks.append({
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": f"*{label}*\n{fit(value, FIELD_LIMIT - 40)}"}
            for label, value in details(notification)
        ],
    })
    context = []
    if notification.labels:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(notification.labels.items()))
        context.append({"type": "mrkdwn", "text": fit(labels, SECTION_LIMIT - 100)})
    links = http_links(notification)
    if links:
        # <url|label>: both parts escaped; a '|' in the label would end the URL part early.
        rendered = " · ".join(
            f"<{mrkdwn_escape(url)}|{mrkdwn_escape(name.replace('|', '/'))}>" for name, url in links.items()
        )
        if len(rendered) <= SECTION_LIMIT - 100:  # a cut link is a broken link: drop them all instead
            context.append({"type": "mrkdwn", "text": rendered})
    if context:
        blocks.append({"type": "context", "elements": context})
    return {"text": f"{emoji} {headline}", "blocks": blocks}


class SlackWebhookRoute(BaseRoute):
    """POST to a Slack incoming webhook; the URL is resolved at delivery and never logged."""

    config: SlackRoute

    def _deliver(self, notification: Notification) -> DeliveryResult:
        url = require_http_url(self._secret(self.config.webhook_url, "Slack webhook URL"), "the Slack webhook URL")
        body = json_body(slack_message(notification))

        def attempt(_n: int) -> Attempt:
            return http_post(
                url, body, {"Content-Type": "application/json; charset=utf-8"}, self.policy.timeout_s, secrets=[url]
            )

        return self._run(notification, attempt, [url])
