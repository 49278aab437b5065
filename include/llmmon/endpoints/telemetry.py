"""OpenTelemetry spans for endpoint calls, named and attributed per the GenAI semantic conventions.

Only ``opentelemetry-api`` is needed: without an SDK configured every span is a cheap no-op. With one (an
exporter to a collector, or the in-memory exporter in tests) each call becomes one ``chat {model}`` span
covering all its attempts, with the usage, timing and cost llmmon measured.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from llmmon.records import CallResult

TRACER_NAME = "llmmon"
PROVIDER = "openai"  # the API the endpoint speaks (OpenAI-compatible), per gen_ai.provider.name


def server_address(base_url: str) -> tuple[str | None, int | None]:
    """(host, port) of an endpoint URL, the port defaulted from the scheme, for ``server.*`` attributes."""
    parts = urlsplit(base_url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.hostname, port


def start_chat_span(
    *,
    model: str,
    max_tokens: int | None,
    temperature: float | None,
    host: str | None,
    port: int | None,
    endpoint_name: str,
    request_key: str,
) -> Span:
    """Start the span for one chat call (not made current: the caller decides)."""
    tracer = trace.get_tracer(TRACER_NAME)
    span = tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT)
    if span.is_recording():
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": PROVIDER,
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.request.model": model,
            "llmmon.endpoint": endpoint_name,
            "llmmon.request.key": request_key,
        }
        if max_tokens is not None:
            attrs["gen_ai.request.max_tokens"] = max_tokens
        if temperature is not None:
            attrs["gen_ai.request.temperature"] = temperature
        if host is not None:
            attrs["server.address"] = host
        if port is not None:
            attrs["server.port"] = port
        span.set_attributes(attrs)
    return span


def end_chat_span(span: Span, result: CallResult) -> None:
    """Record what the call did on its span, mark failures as errors, and end it."""
    if span.is_recording():
        attrs: dict[str, Any] = {"llmmon.attempts": result.attempts, "llmmon.timing_suspect": result.timing_suspect}
        optional = {
            "gen_ai.response.model": result.response_model,
            "gen_ai.usage.input_tokens": result.input_tokens,
            "gen_ai.usage.output_tokens": result.output_tokens,
            "llmmon.ttft_s": result.ttft_s,
            "llmmon.latency_s": result.latency_s,
            "llmmon.cost_usd": result.cost_usd,
            "llmmon.loop_lag_max_ms": result.loop_lag_max_ms,
            "llmmon.server_ttft_s": result.server_ttft_s,
        }
        attrs.update({k: v for k, v in optional.items() if v is not None})
        if result.finish_reason is not None:
            attrs["gen_ai.response.finish_reasons"] = [result.finish_reason]
        if result.error_type is not None:
            attrs["error.type"] = result.error_type
        span.set_attributes(attrs)
        if result.error_type is not None:
            span.set_status(Status(StatusCode.ERROR, result.error or result.error_type))
    span.end()
