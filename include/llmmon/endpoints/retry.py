"""Which failures are worth retrying, how long to wait, and how a failure is named in a CallResult.

Retried: 429 (``rate_limited``), 408 and timeouts (``timeout``), 5xx and error events in a stream
(``server_error``), connection failures (``connection``) and streams that end early (``broken_stream``).
Not retried: every other 4xx (``bad_request``, ``auth``, ``forbidden``, ``not_found``, ``client_error``).
Waits use exponential backoff with full jitter, unless the server sent ``Retry-After`` (seconds, an HTTP date,
or OpenAI's ``retry-after-ms``), which is honoured up to ``backoff_max_s``.
"""

from __future__ import annotations

import email.utils
import math
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import httpx2
import openai

from llmmon.endpoints.stream import StreamProtocolError

RETRYABLE = frozenset({"rate_limited", "server_error", "timeout", "connection", "broken_stream"})

_STATUS_TYPES = {400: "bad_request", 401: "auth", 403: "forbidden", 404: "not_found", 408: "timeout",
                 413: "bad_request", 422: "bad_request", 429: "rate_limited"}


@dataclass(frozen=True)
class Failure:
    """One failed attempt: its type, a short message, and the server's requested wait (if any)."""

    error_type: str
    message: str
    retry_after_s: float | None = None
    status: int | None = None

    @property
    def retryable(self) -> bool:
        return self.error_type in RETRYABLE


def classify(exc: BaseException, *, in_body: bool = False) -> Failure | None:
    """Name a failed attempt; None when ``exc`` is no endpoint failure (a bug, to be raised).

    ``in_body``: the response headers had arrived, so the failure hit the body (the stream).
    """
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        kind = _STATUS_TYPES.get(status) or ("server_error" if status >= 500 else "client_error")
        return Failure(kind, _status_message(exc), parse_retry_after(exc.response.headers), status)
    if isinstance(exc, StreamProtocolError):
        return Failure(exc.error_type, str(exc))
    chain = _chain(exc)
    if any(isinstance(e, TimeoutError) for e in chain):
        return Failure("timeout", "timed out" + (" while reading the stream" if in_body else ""))
    if in_body:
        return Failure("broken_stream", f"stream broken: {_describe(chain)}")
    if any(isinstance(e, OSError | aiohttp.ClientConnectionError | httpx2.NetworkError) for e in chain):
        return Failure("connection", f"connection failed: {_describe(chain)}")
    if isinstance(exc, openai.APITimeoutError):
        return Failure("timeout", "timed out")
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError | aiohttp.ClientError):
        return Failure("connection", f"connection failed: {_describe(chain)}")
    if isinstance(exc, openai.OpenAIError | httpx2.HTTPError):
        return Failure("client_error", f"{type(exc).__name__}: {exc}"[:200])
    return None


def backoff_delay(
    retry_number: int, base_s: float, max_s: float, retry_after_s: float | None, rng: random.Random
) -> float:
    """Seconds to wait before retry ``retry_number`` (1 for the first retry).

    Full jitter (uniform between 0 and ``base * 2**(n-1)``, capped at ``max_s``) spreads retries of many
    concurrent calls so they do not return in lockstep; a server's ``Retry-After`` wins, capped at ``max_s``.
    """
    if retry_after_s is not None:
        return min(max(retry_after_s, 0.0), max_s)
    ceiling = min(max_s, base_s * (2.0 ** min(retry_number - 1, 60)))
    return rng.uniform(0.0, ceiling)


def parse_retry_after(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, ``retry-after`` seconds, or an HTTP date."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
            if math.isfinite(value):
                return max(value, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
        return max(value, 0.0) if math.isfinite(value) else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


_SECRETS = re.compile(r"(?i)(\bbearer\s+|\bapi[_-]?key[\"'=:\s]+|\bsk-)[A-Za-z0-9._\-]{4,}")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with the given secrets and anything that looks like a bearer token or API key masked."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return _SECRETS.sub(lambda m: m.group(1) + "***", text)


def _status_message(exc: openai.APIStatusError) -> str:
    detail = ""
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        detail = str(err.get("message") or "") if isinstance(err, dict) else str(err)
    elif body is not None:
        detail = str(body)
    reason = exc.response.reason_phrase or ""
    text = f"HTTP {exc.status_code} {reason}".rstrip()
    return f"{text}: {detail[:200]}" if detail else text


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _describe(chain: list[BaseException]) -> str:
    # The innermost exception names the real cause (e.g. "Cannot connect to host ... [Connection refused]").
    inner = chain[-1]
    text = str(inner) or type(inner).__name__
    return f"{type(inner).__name__}: {text}"[:200]
