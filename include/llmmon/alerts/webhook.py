"""Generic JSON webhook route. The URL is a secret (it often embeds a token): it never appears in errors."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class DeliveryResult:
    status: str  # "sent" | "failed"
    attempts: int
    error: str | None = None


def post_webhook(
    url: str,
    payload: dict[str, Any],
    *,
    timeout_s: float = 10.0,
    max_attempts: int = 3,
    backoff_s: float = 0.5,
    sleep=time.sleep,
) -> DeliveryResult:
    """POST ``payload`` as JSON; retry connection errors, timeouts, 429 and 5xx. Never raises."""
    error = None
    for attempt in range(1, max_attempts + 1):
        try:
            resp = httpx.post(url, json=payload, timeout=timeout_s)
        except httpx.TimeoutException:
            error = "timeout"
        except httpx.TransportError as exc:
            error = f"connection error ({type(exc).__name__})"
        else:
            if resp.status_code < 300:
                return DeliveryResult("sent", attempt)
            error = f"HTTP {resp.status_code}"
            if resp.status_code < 500 and resp.status_code != 429:
                return DeliveryResult("failed", attempt, error)
        if attempt < max_attempts:
            sleep(backoff_s * (2 ** (attempt - 1)) * (0.5 + random.random() / 2))
    return DeliveryResult("failed", max_attempts, error)
