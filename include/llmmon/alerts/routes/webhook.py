"""Generic JSON webhook: the notification as JSON, signed with HMAC-SHA256 when a signing secret is configured.

Headers on every attempt (the timestamp and signature are fresh per attempt, so a retry is not mistaken for a
replay): ``X-Llmmon-Timestamp`` (unix seconds), ``X-Llmmon-Signature: sha256=<hex>`` where the MAC is over
``"<timestamp>.<raw body>"``, and ``X-Llmmon-Delivery`` (one id per delivery, the same on its retries, so a
receiver can drop duplicates). Receivers verify with :func:`verify_signature` or its few lines (docs/alerts.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import time
import uuid
from typing import Any

from llmmon.alerts.model import DeliveryResult, Notification
from llmmon.alerts.routes.base import (
    Attempt,
    BaseRoute,
    finite,
    http_post,
    json_body,
    require_http_url,
    rfc3339,
    state_word,
)
from llmmon.config import WebhookRoute

PAYLOAD_VERSION = 1
SIGNATURE_HEADER = "X-Llmmon-Signature"
TIMESTAMP_HEADER = "X-Llmmon-Timestamp"
DELIVERY_HEADER = "X-Llmmon-Delivery"
DEFAULT_TOLERANCE_S = 300


def webhook_payload(notification: Notification) -> dict[str, Any]:
    """Every field of the notification (timestamps RFC 3339 UTC), plus ``version`` and ``status``."""
    data = dataclasses.asdict(notification)
    data["started_at"] = rfc3339(notification.started_at)
    data["ended_at"] = rfc3339(notification.ended_at)
    data["value"] = finite(notification.value)
    data["threshold"] = finite(notification.threshold)
    return {"version": PAYLOAD_VERSION, "status": state_word(notification).lower(), **data}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``, the value of the signature header."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """True when ``signature`` matches and ``timestamp`` is within ``tolerance_s`` of ``now`` (replays refused).

    For receivers written in Python; ``body`` must be the raw bytes received, before any JSON parsing.
    """
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class SignedWebhookRoute(BaseRoute):
    """POST the notification to a secret URL, signed when ``hmac_secret`` is configured."""

    config: WebhookRoute

    def _deliver(self, notification: Notification) -> DeliveryResult:
        url = require_http_url(self._secret(self.config.url, "webhook URL"), "the webhook URL")
        key = self._secret(self.config.hmac_secret, "webhook signing secret") if self.config.hmac_secret else None
        body = json_body(webhook_payload(notification))
        delivery = uuid.uuid4().hex

        def attempt(_n: int) -> Attempt:
            headers = {"Content-Type": "application/json; charset=utf-8", DELIVERY_HEADER: delivery}
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            if key is not None:
                headers[SIGNATURE_HEADER] = sign(key, timestamp, body)
            return http_post(url, body, headers, self.policy.timeout_s, secrets=secrets)

        secrets = [url] + ([key] if key else [])
        return self._run(notification, attempt, secrets)
