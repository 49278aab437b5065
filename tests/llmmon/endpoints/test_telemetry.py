"""Every call emits one GenAI-convention span, captured with the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmmon.config import EndpointConfig, Price
from llmmon.demo.server import DemoServer, DemoServerConfig
from llmmon.endpoints import run_requests
from llmmon.endpoints.telemetry import server_address
from llmmon.prices import PriceTable
from llmmon.records import ChatRequest

MODEL = "llmmon-demo-v1"


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    # The global provider can be set once per process: reuse an SDK provider another test installed.
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exp = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exp))
    return exp


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(DemoServerConfig(port=0, ttft_ms=5, latency_ms=20, jitter_ms=0)) as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh(server: DemoServer, exporter: InMemorySpanExporter) -> None:
    server.reset()
    exporter.clear()


def endpoint(server: DemoServer, **overrides: object) -> EndpointConfig:
    fields = {"name": "demo", "base_url": server.base_url, "model": MODEL, "backoff_base_s": 0.01,
              "max_tokens": 64, "temperature": 0.3}
    return EndpointConfig(**{**fields, **overrides})


def chat_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]


def test_successful_call_span(server: DemoServer, exporter: InMemorySpanExporter) -> None:
    prices = PriceTable([Price(model=MODEL, input_per_mtok=1.0, output_per_mtok=4.0,
                               effective_from=dt.date(2020, 1, 1))])
    r = run_requests(endpoint(server), [ChatRequest(key="s1", messages=[{"role": "user", "content": "hi"}])],
                     prices=prices).results[0]
    [span] = chat_spans(exporter)
    a = span.attributes
    assert span.name == f"chat {MODEL}"
    assert span.kind == SpanKind.CLIENT
    assert span.status.status_code != StatusCode.ERROR
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.system"] == a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == a["gen_ai.response.model"] == MODEL
    assert a["gen_ai.request.max_tokens"] == 64
    assert a["gen_ai.request.temperature"] == 0.3
    assert a["gen_ai.usage.input_tokens"] == r.input_tokens
    assert a["gen_ai.usage.output_tokens"] == r.output_tokens
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("stop",)
    assert (a["server.address"], a["server.port"]) == ("127.0.0.1", server.port)
    assert a["llmmon.ttft_s"] == r.ttft_s
    assert a["llmmon.cost_usd"] == pytest.approx(r.input_tokens * 1e-6 + r.output_tokens * 4e-6)
    assert a["llmmon.attempts"] == 1
    assert "error.type" not in a


def test_failed_call_span_is_an_error(server: DemoServer, exporter: InMemorySpanExporter) -> None:
    server.queue_faults("500", "500")
    run_requests(endpoint(server, max_retries=1), [ChatRequest(key="s2", messages=[{"role": "user", "content": "hi"}])])
    [span] = chat_spans(exporter)  # one span for the call, covering both attempts
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "server_error"
    assert span.attributes["llmmon.attempts"] == 2
    assert "gen_ai.usage.input_tokens" not in span.attributes


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8765/v1", ("127.0.0.1", 8765)),
        ("https://api.openai.com/v1", ("api.openai.com", 443)),
        ("http://vllm.internal/v1", ("vllm.internal", 80)),
    ],
)
def test_server_address(url: str, expected: tuple[str, int]) -> None:
    assert server_address(url) == expected
