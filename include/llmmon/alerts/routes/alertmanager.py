"""Prometheus Alertmanager v2: ``POST {url}/api/v2/alerts`` with a JSON list holding one alert.

Alertmanager identifies an alert by its label set, so the labels are the alert's identity (``alertname`` = rule,
``severity``, then the alert's own labels) and must not change between firing and resolve; everything else is an
annotation. Timing (see docs/alerts.md): Alertmanager expects a client to re-send an active alert, and resolves
an alert whose ``endsAt`` has passed — or, when ``endsAt`` is omitted, ``resolve_timeout`` (5 m by default) after
it was last received. llmmon sends an alert only on transitions and re-notifies, hours apart, so a firing alert
carries ``endsAt = now + firing_ttl`` (48 h by default, longer than the re-notify interval) and a resolved one
``endsAt`` = the time it resolved; ``startsAt`` is always sent, because Alertmanager refuses ``endsAt`` before it.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import time
from typing import Any

from llmmon.alerts.model import DeliveryResult, Notification
from llmmon.alerts.routes.base import (
    Attempt,
    BaseRoute,
    Sleep,
    as_utc,
    finite,
    format_value,
    http_links,
    http_post,
    is_resolved,
    json_body,
    kind_note,
    rfc3339,
)
from llmmon.config import AlertmanagerRoute, SecretResolver

DEFAULT_FIRING_TTL = dt.timedelta(hours=48)
_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME_BAD_CHARS = re.compile(r"[^A-Za-z0-9_]")


def label_name(name: str) -> str:
    """A valid Prometheus label name for ``name`` (invalid characters become ``_``)."""
    if _NAME_OK.match(name):
        return name
    cleaned = _NAME_BAD_CHARS.sub("_", name) or "_"
    return cleaned if not cleaned[0].isdigit() else "_" + cleaned


def alertmanager_alerts(
    notification: Notification, *, now: dt.datetime, firing_ttl: dt.timedelta = DEFAULT_FIRING_TTL
) -> list[dict[str, Any]]:
    """The request body: a list with this notification's alert."""
    labels = {label_name(k): v for k, v in sorted(notification.labels.items()) if v != ""}
    # Set last so an alert label called "alertname" or "severity" cannot change the alert's identity.
    labels["alertname"] = notification.rule
    labels["severity"] = notification.severity
    annotations = {"summary": " ".join(notification.summary.split())}
    description = "\n".join(t for t in (kind_note(notification), notification.description.strip()) if t)
    if description:
        annotations["description"] = description
    if finite(notification.value) is not None:
        annotations["value"] = format_value(notification.value) or ""
    if finite(notification.threshold) is not None:
        annotations["threshold"] = format_value(notification.threshold) or ""
    annotations["llmmon_alert_id"] = notification.alert_id
    annotations["llmmon_dedup_key"] = notification.dedup_key
    links = http_links(notification)
    for name, url in links.items():
        annotations[label_name(f"link_{name}")] = url

    starts = notification.started_at
    if is_resolved(notification):
        ends = as_utc(notification.ended_at) or now
        starts = as_utc(starts) or ends
        ends = max(ends, starts)
    else:
        ends = now + firing_ttl
    alert: dict[str, Any] = {"labels": labels, "annotations": annotations, "endsAt": rfc3339(ends)}
    if starts is not None:
        alert["startsAt"] = rfc3339(starts)
    if links:
        alert["generatorURL"] = next(iter(links.values()))
    return [alert]


class AlertmanagerV2Route(BaseRoute):
    """POST alerts to Alertmanager's v2 API, with HTTP basic auth when ``username`` or ``password`` is set."""

    config: AlertmanagerRoute

    def __init__(
        self,
        config: AlertmanagerRoute,
        secrets: SecretResolver,
        *,
        firing_ttl: dt.timedelta = DEFAULT_FIRING_TTL,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(config, secrets, sleep=sleep)
        self.firing_ttl = firing_ttl
        self.endpoint = config.url.rstrip("/") + "/api/v2/alerts"

    def _deliver(self, notification: Notification) -> DeliveryResult:
        headers = {"Content-Type": "application/json"}
        secrets: list[str] = []
        if self.config.username is not None or self.config.password is not None:
            password = self._secret(self.config.password, "Alertmanager password") if self.config.password else ""
            token = base64.b64encode(f"{self.config.username or ''}:{password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
            secrets = [password, token]
        now = dt.datetime.now(dt.UTC)
        body = json_body(alertmanager_alerts(notification, now=now, firing_ttl=self.firing_ttl))

        def attempt(_n: int) -> Attempt:
            return http_post(self.endpoint, body, headers, self.policy.timeout_s, secrets=secrets)

        return self._run(notification, attempt, secrets)
