"""PagerDuty Events API v2: ``trigger`` while an alert fires (and on each re-notify), ``resolve`` when it clears.

Both carry the notification's ``dedup_key``, so PagerDuty folds every trigger of one alert into one incident and
the resolve closes it. PagerDuty answers 202 ``{"status": "success", "dedup_key": ...}``; 400 means the event is
invalid (not retried), 429 throttled and 5xx are retried. The routing key is the secret: it is resolved at
delivery, sent only in the body, and scrubbed from every error and log line.
"""

from __future__ import annotations

import hashlib
from typing import Any

from llmmon.alerts.model import DeliveryResult, Notification
from llmmon.alerts.routes.base import (
    Attempt,
    BaseRoute,
    finite,
    http_links,
    http_post,
    is_resolved,
    json_body,
    kind_note,
    rfc3339,
)
from llmmon.config import PagerDutyRoute

SUMMARY_LIMIT = 1024
DEDUP_KEY_LIMIT = 255
DESCRIPTION_LIMIT = 16_000  # keeps the event far below PagerDuty's 512 KB limit
_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


def pagerduty_dedup_key(dedup_key: str) -> str:
    """The notification's key, or (past PagerDuty's 255 characters) a stable digest of it: same input, same key."""
    if len(dedup_key) <= DEDUP_KEY_LIMIT:
        return dedup_key
    return "llmmon:" + hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pagerduty_event(notification: Notification, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body: a full ``trigger`` event, or a bare ``resolve`` (PagerDuty ignores a payload there)."""
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "resolve" if is_resolved(notification) else "trigger",
        "dedup_key": pagerduty_dedup_key(notification.dedup_key),
    }
    if is_resolved(notification):
        return event
    labels = notification.labels
    custom: dict[str, Any] = {
        "alert_id": notification.alert_id,
        "kind": notification.kind,
        "rule": notification.rule,
        "labels": dict(labels),
    }
    if notification.description:
        custom["description"] = _cut(notification.description, DESCRIPTION_LIMIT)
    if kind_note(notification):
        custom["note"] = kind_note(notification)
    if finite(notification.value) is not None:
        custom["value"] = finite(notification.value)
    if finite(notification.threshold) is not None:
        custom["threshold"] = finite(notification.threshold)
    if notification.started_at is not None:
        custom["started_at"] = rfc3339(notification.started_at)
    payload: dict[str, Any] = {
        # The incident title: PagerDuty shows severity and state itself, so no "[CRITICAL] FIRING" prefix here.
        "summary": _cut(" ".join(notification.summary.split()), SUMMARY_LIMIT),
        # "The unique location of the affected system": the monitored endpoint when the series names one.
        "source": labels.get("endpoint") or labels.get("source") or "llmmon",
        "severity": _SEVERITY.get(notification.severity, "warning"),
        # When the problem was detected; a re-notify is a new event now, which PagerDuty stamps itself.
        "timestamp": None if notification.kind == "renotify" else rfc3339(notification.started_at),
        "component": labels.get("model_version") or labels.get("component"),
        "group": labels.get("suite") or labels.get("group"),
        "class": notification.rule,
        "custom_details": custom,
    }
    event["payload"] = {k: v for k, v in payload.items() if v is not None}
    event["client"] = "llmmon"
    links = http_links(notification)
    if links:
        event["links"] = [{"href": url, "text": name} for name, url in links.items()]
    return event


class PagerDutyEventsRoute(BaseRoute):
    """POST Events API v2 events to ``config.url`` (default ``https://events.pagerduty.com/v2/enqueue``)."""

    config: PagerDutyRoute

    def _deliver(self, notification: Notification) -> DeliveryResult:
        key = self._secret(self.config.routing_key, "PagerDuty routing key")
        body = json_body(pagerduty_event(notification, key))

        def attempt(_n: int) -> Attempt:
            return http_post(
                self.config.url, body, {"Content-Type": "application/json"}, self.policy.timeout_s, secrets=[key]
            )

        return self._run(notification, attempt, [key])
