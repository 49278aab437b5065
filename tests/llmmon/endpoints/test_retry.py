"""Retry policy: Retry-After parsing, full-jitter backoff, failure names, secret redaction."""

from __future__ import annotations

import email.utils
import random

import pytest

from llmmon.endpoints.retry import RETRYABLE, backoff_delay, parse_retry_after, redact

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),  # OpenAI's millisecond header wins
        ({"retry-after": email.utils.formatdate(NOW + 7, usegmt=True)}, 7.0),
        ({"retry-after": email.utils.formatdate(NOW - 60, usegmt=True)}, 0.0),  # a date in the past: now
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str] | None, expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected


def test_full_jitter_stays_within_the_exponential_ceiling() -> None:
    rng = random.Random(1)
    for retry, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (8, 10.0)]:
        delays = [backoff_delay(retry, 0.5, 10.0, None, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        # Full jitter spreads over the whole range, not just its top quarter.
        assert min(delays) < ceiling * 0.25 and max(delays) > ceiling * 0.75


def test_retry_after_wins_but_is_capped() -> None:
    rng = random.Random(1)
    assert backoff_delay(1, 0.5, 20.0, 3.0, rng) == 3.0
    assert backoff_delay(1, 0.5, 20.0, 600.0, rng) == 20.0


def test_what_is_retried() -> None:
    assert RETRYABLE == {"rate_limited", "server_error", "timeout", "connection", "broken_stream"}


def test_redact_masks_given_secrets_and_token_shapes() -> None:
    text = "upstream said: invalid key sk-live-abcdef123456 (Authorization: Bearer tok_98765xyz) for my-key-42"
    out = redact(text, ("my-key-42",))
    assert "sk-live-abcdef123456" not in out
    assert "tok_98765xyz" not in out
    assert "my-key-42" not in out
    assert "upstream said: invalid key" in out
    assert redact("task-12345 finished") == "task-12345 finished"
