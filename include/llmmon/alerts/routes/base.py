"""What every alert route shares: lazy secrets, the retry loop, a leak-proof HTTP POST, scrubbing and text helpers.

A route resolves its secrets at delivery time (a secret rotated in Airflow is picked up without a restart, and a
missing one makes that delivery ``not_configured`` instead of breaking configuration loading for every other
route). Delivery never raises: the rule engine records the :class:`DeliveryResult` and may deliver again later.

HTTP goes through the standard library's ``urllib`` on purpose: ``httpx`` logs every request URL at INFO, and for
Slack and generic webhooks the URL *is* the secret, so it would land in every Airflow task log.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import json
import logging
import math
import random
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmmon import __version__
from llmmon.alerts.model import DeliveryResult, Notification
from llmmon.config import SecretRef, SecretResolver
from llmmon.errors import ConfigError

logger = logging.getLogger("llmmon.alerts.routes")

USER_AGENT = f"llmmon/{__version__}"
MAX_BACKOFF_S = 30.0
"""Longest wait between two attempts (exponential growth stops here)."""
MAX_RETRY_AFTER_S = 60.0
"""Longest ``Retry-After`` a route waits for; a receiver asking for more gets a recorded failure instead."""
_BODY_EXCERPT = 200

Sleep = Callable[[float], None]


# --- secrets and scrubbing --------------------------------------------------------------------------------------


class SecretUnavailable(Exception):
    """A secret could not be resolved at delivery time; the message names the reference, never a value."""


def resolve_secret(resolver: SecretResolver, ref: SecretRef, what: str) -> str:
    """Resolve ``ref`` now, or raise :class:`SecretUnavailable` with a message fit for logs and the warehouse."""
    try:
        value = resolver(ref)
    except ConfigError as exc:
        raise SecretUnavailable(f"{what} ({ref.describe()}) is not available: {exc}") from None
    except Exception as exc:  # a resolver backend failing (e.g. Airflow's metadata DB): its text may hold anything
        raise SecretUnavailable(
            f"{what} ({ref.describe()}) could not be resolved: {type(exc).__name__}"
        ) from None
    if not value:
        raise SecretUnavailable(f"{what} ({ref.describe()}) is empty")
    return value


def secret_variants(value: str) -> list[str]:
    """``value`` and the forms it may take inside an error message (URL-quoted, and for a URL its token parts)."""
    out = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote(value)}
    parts = urllib.parse.urlsplit(value)
    if parts.scheme in ("http", "https") and parts.netloc:
        # The token of a Slack or webhook URL lives in its path, query or password: scrub those on their own too,
        # since an error may quote only part of the URL.
        for piece in (parts.path, parts.query, parts.password):
            if piece and len(piece) >= 6:
                out.add(piece)
    return sorted((v for v in out if v), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (and its variants) replaced by ``***``."""
    # Longest first across all secrets: one secret may contain another (a password inside its AUTH encoding), and
    # replacing the short one first would leave the rest of the long one readable.
    variants = sorted({v for secret in secrets if secret for v in secret_variants(secret)}, key=len, reverse=True)
    for variant in variants:
        text = text.replace(variant, "***")
    return text


# --- the retry loop ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """Outcome of one delivery attempt. ``error`` may hold secrets: the loop scrubs it before anyone sees it."""

    ok: bool
    retryable: bool = False
    error: str | None = None
    retry_after_s: float | None = None
    note: str | None = None  # on success: something worth recording (e.g. recipients refused)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a route tries: ``max_attempts`` in all, waiting ``backoff_s * 2**(n-1)`` (jittered) between them."""

    max_attempts: int = 3
    backoff_s: float = 1.0
    timeout_s: float = 10.0
    max_backoff_s: float = MAX_BACKOFF_S
    max_retry_after_s: float = MAX_RETRY_AFTER_S

    @classmethod
    def from_config(cls, config: Any) -> RetryPolicy:
        return cls(max_attempts=config.max_attempts, backoff_s=config.backoff_s, timeout_s=config.timeout_s)

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Wait after failed attempt number ``attempt`` (1-based): exponential, capped, times a factor in [0.5, 1).

        The jitter keeps many tasks that failed together (a receiver outage) from retrying in lockstep.
        """
        base = min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s)
        return base * (0.5 + 0.5 * rng())


def run_attempts(
    route: str,
    notification: Notification,
    policy: RetryPolicy,
    attempt: Callable[[int], Attempt],
    secrets: Iterable[str],
    *,
    sleep: Sleep = time.sleep,
    rng: Callable[[], float] = random.random,
) -> DeliveryResult:
    """Call ``attempt(n)`` until it succeeds, fails for good, or ``policy.max_attempts`` is used up.

    Retries what the attempt marks retryable (connection errors, timeouts, 5xx, 429, transient SMTP replies);
    waits at least ``Retry-After`` when the receiver sent one. Never raises; every error is scrubbed of ``secrets``.
    """
    secrets = [s for s in secrets if s]
    what = f"{notification.kind} notification for {notification.dedup_key!r}"
    error: str | None = None
    for n in range(1, policy.max_attempts + 1):
        try:
            outcome = attempt(n)
        except Exception as exc:  # a bug or an unforeseen library error must not lose the alert silently
            outcome = Attempt(ok=False, retryable=False, error=f"unexpected {type(exc).__name__}: {exc}")
        if outcome.ok:
            note = scrub(outcome.note, secrets) if outcome.note else None
            logger.info("route %s: delivered %s (attempt %d)%s", route, what, n, f"; {note}" if note else "")
            return DeliveryResult("sent", n, note, route)
        error = scrub(outcome.error or "failed", secrets)
        if not outcome.retryable:
            logger.warning("route %s: %s failed and is not retried: %s", route, what, error)
            return DeliveryResult("failed", n, error, route)
        if n == policy.max_attempts:
            break
        delay = policy.backoff(n, rng)
        if outcome.retry_after_s is not None:
            if outcome.retry_after_s > policy.max_retry_after_s:
                error = (
                    f"{error} (the receiver asked to retry after {outcome.retry_after_s:.0f} s, longer than the "
                    f"{policy.max_retry_after_s:.0f} s this route waits)"
                )
                logger.warning("route %s: %s failed: %s", route, what, error)
                return DeliveryResult("failed", n, error, route)
            delay = max(delay, outcome.retry_after_s)
        logger.warning(
            "route %s: attempt %d of %d for %s failed: %s; retrying in %.2f s",
            route, n, policy.max_attempts, what, error, delay,
        )
        sleep(delay)
    logger.warning("route %s: %s failed after %d attempts: %s", route, what, policy.max_attempts, error)
    return DeliveryResult("failed", policy.max_attempts, error, route)


class BaseRoute:
    """Shared shell of a route: name, retry policy, lazy secrets, and a ``deliver`` that never raises."""

    def __init__(self, config: Any, secrets: SecretResolver, *, sleep: Sleep = time.sleep) -> None:
        self.name: str = config.name
        self.config = config
        self.policy = RetryPolicy.from_config(config)
        self._resolver = secrets
        self._sleep = sleep

    def deliver(self, notification: Notification) -> DeliveryResult:
        """Deliver ``notification``; ``not_configured`` (no attempt made) when a secret cannot be resolved now."""
        try:
            return self._deliver(notification)
        except SecretUnavailable as exc:
            logger.warning("route %s: not configured: %s", self.name, exc)
            return DeliveryResult("not_configured", 0, str(exc), self.name)
        except Exception as exc:  # building the message failed: record it, the alert itself stays in the warehouse
            error = f"could not build the message: {type(exc).__name__}"
            logger.warning("route %s: %s", self.name, error)
            return DeliveryResult("failed", 0, error, self.name)

    def _deliver(self, notification: Notification) -> DeliveryResult:
        raise NotImplementedError

    def _secret(self, ref: SecretRef, what: str) -> str:
        return resolve_secret(self._resolver, ref, what)

    def _run(self, notification: Notification, attempt: Callable[[int], Attempt], secrets: Iterable[str]) -> DeliveryResult:
        return run_attempts(self.name, notification, self.policy, attempt, secrets, sleep=self._sleep)


# --- HTTP -------------------------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST would be replayed as a GET without its body (and may carry a secret URL elsewhere):
    # a 3xx is reported as the failure it is.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def require_http_url(url: str, what: str) -> str:
    """``url`` if it is an http(s) URL with a host; else :class:`SecretUnavailable` (the value is never quoted)."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SecretUnavailable(f"{what} is not an http(s) URL")
    return url.strip()


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def excerpt(text: bytes | str, secrets: Iterable[str] = (), limit: int = _BODY_EXCERPT) -> str:
    """The start of a reply, on one line, scrubbed *before* it is cut (a cut secret would escape scrubbing)."""
    if isinstance(text, bytes):
        text = text[: 1 << 16].decode("utf-8", "replace")
    text = " ".join(scrub(text, secrets).split())
    return text[:limit] + ("…" if len(text) > limit else "")


def http_post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout_s: float,
    *,
    secrets: Iterable[str] = (),
) -> Attempt:
    """POST ``body`` once and classify the outcome: 2xx ok; 429, 408 and 5xx, timeouts and connection errors
    retryable; any other status (4xx, an unfollowed 3xx) final. The receiver's reply, quoted in the error, is
    scrubbed of ``secrets`` here; the retry loop scrubs the whole error again."""
    secrets = list(secrets)
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("User-Agent", USER_AGENT)
    for k, v in headers.items():
        request.add_header(k, v)
    try:
        # A 2xx is success as soon as its status line arrives; the body is not read, so a slow body cannot turn
        # an accepted alert into a "failure" that would be retried and delivered twice.
        with _OPENER.open(request, timeout=timeout_s):
            pass
    except urllib.error.HTTPError as exc:
        with exc:
            status, raw = exc.code, exc.read(1 << 16)
            retry_after = parse_retry_after(exc.headers.get("Retry-After")) if status == 429 else None
        detail = excerpt(raw, secrets)
        error = f"HTTP {status}" + (f": {detail}" if detail else "")
        if 300 <= status < 400:
            return Attempt(ok=False, retryable=False, error=f"{error} (redirects are not followed; configure the final URL)")
        retryable = status in (408, 429) or status >= 500
        return Attempt(ok=False, retryable=retryable, error=error, retry_after_s=retry_after)
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            return Attempt(ok=False, retryable=False, error=f"TLS certificate verification failed: {reason.verify_message}")
        if isinstance(reason, TimeoutError):
            return Attempt(ok=False, retryable=True, error=f"timeout after {timeout_s:g} s")
        if isinstance(reason, OSError):
            return Attempt(ok=False, retryable=True, error=f"connection error: {type(reason).__name__}: {reason.strerror or reason}")
        return Attempt(ok=False, retryable=True, error=f"connection error: {reason}")
    except TimeoutError:
        return Attempt(ok=False, retryable=True, error=f"timeout after {timeout_s:g} s")
    except (http.client.HTTPException, OSError) as exc:
        return Attempt(ok=False, retryable=True, error=f"connection error: {type(exc).__name__}")
    except ValueError as exc:  # malformed URL (urllib's message quotes it, so it is scrubbed by the loop)
        return Attempt(ok=False, retryable=False, error=f"invalid URL: {exc}")
    return Attempt(ok=True)


def json_body(payload: Any) -> bytes:
    """Compact UTF-8 JSON; NaN and infinities are refused (they are not JSON), so callers pass :func:`finite`."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


# --- text shared by the routes ----------------------------------------------------------------------------------


def finite(value: float | None) -> float | None:
    """``value``, or ``None`` for NaN and infinities (JSON has no such numbers)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def as_utc(ts: dt.datetime | None) -> dt.datetime | None:
    """``ts`` as an aware UTC datetime; a naive one is taken to be UTC already (llmmon stores UTC)."""
    if ts is None:
        return None
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)


def rfc3339(ts: dt.datetime | None) -> str | None:
    """UTC RFC 3339 with a ``Z`` (what Alertmanager, PagerDuty and most receivers parse)."""
    utc = as_utc(ts)
    return None if utc is None else utc.isoformat().replace("+00:00", "Z")


def is_resolved(notification: Notification) -> bool:
    return notification.kind == "resolved"


def state_word(notification: Notification) -> str:
    """``RESOLVED`` for a resolved alert; ``FIRING`` for every other kind (firing, renotify, Airflow events)."""
    return "RESOLVED" if is_resolved(notification) else "FIRING"


_KIND_NOTES = {
    "renotify": "Reminder: this alert is still firing.",
    "airflow_failure": "An Airflow task failed.",
    "deadline_missed": "An Airflow deadline was missed.",
}


def kind_note(notification: Notification) -> str | None:
    """One sentence for kinds other than a plain firing/resolved transition."""
    return _KIND_NOTES.get(notification.kind)


def title(notification: Notification) -> str:
    """``[SEVERITY] FIRING: summary`` on one line (every route's headline)."""
    summary = " ".join(notification.summary.split())
    return f"[{notification.severity.upper()}] {state_word(notification)}: {summary}"


def format_value(value: float | None) -> str | None:
    return None if value is None else f"{value:.6g}"


def http_links(notification: Notification) -> dict[str, str]:
    """The notification's links that are http(s) URLs (others cannot be rendered as links safely)."""
    return {
        name: url for name, url in notification.links.items()
        if urllib.parse.urlsplit(url).scheme in ("http", "https")
    }


def details(notification: Notification) -> list[tuple[str, str]]:
    """The facts every human-facing route shows, as (label, text) pairs, in a fixed order."""
    rows = [("Rule", notification.rule), ("Severity", notification.severity)]
    if notification.value is not None:
        rows.append(("Value", format_value(notification.value) or ""))
    if notification.threshold is not None:
        rows.append(("Threshold", format_value(notification.threshold) or ""))
    if notification.started_at is not None:
        rows.append(("Since", rfc3339(notification.started_at) or ""))
    if notification.ended_at is not None:
        rows.append(("Resolved at", rfc3339(notification.ended_at) or ""))
    return rows
