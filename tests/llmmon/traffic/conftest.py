"""Helpers for the traffic tests: OTLP JSON files written by the OpenTelemetry SDK itself, and settings."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from llmmon.config import DEFAULTS_PATH, load_settings
from llmmon.traffic.otlp import OtlpJsonFileExporter

ROOT = Path(__file__).resolve().parents[3]
T0 = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)  # spans start here (prices are effective 2026-01-01)


def ns(when: dt.datetime) -> int:
    return (when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000


def llm_attributes(**overrides: Any) -> dict[str, Any]:
    """A GenAI chat span's attributes as llmmon's endpoint client and slicing conventions write them."""
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "llmmon-demo-v1",
        "gen_ai.response.model": "llmmon-demo-v1",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 200,
        "gen_ai.response.finish_reasons": ["stop"],
        "llmmon.endpoint": "demo",
        "llmmon.model_version": "v1",
        "llmmon.prompt_template": "support_routing",
        "llmmon.user_segment": "free",
        "llmmon.replica": "r-0",
        "llmmon.ttft_s": 0.25,
    }
    attrs.update(overrides)
    return {k: v for k, v in attrs.items() if v is not None}


class SpanFile:
    """An OTLP JSON file written by the SDK: a private TracerProvider exporting with OtlpJsonFileExporter."""

    def __init__(self, path: Path, resource: dict[str, Any] | None = None) -> None:
        self.path = path
        self.exporter = OtlpJsonFileExporter(path)
        self.provider = TracerProvider(resource=Resource.create(resource or {"service.name": "support-app"}))
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("tests.traffic", "1.0")
        self.spans: list[Any] = []

    def chat(
        self,
        start: dt.datetime = T0,
        duration_s: float = 1.5,
        attributes: dict[str, Any] | None = None,
        prompt: str | None = None,
        completion: str | None = None,
        error: str | None = None,
        parent: Any = None,
        name: str = "chat llmmon-demo-v1",
    ) -> Any:
        """One chat span (prompt and completion as GenAI content events); returns its SpanContext."""
        from opentelemetry import trace

        context = trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracer.start_span(name, kind=SpanKind.CLIENT, start_time=ns(start), context=context,
                                      attributes=llm_attributes() if attributes is None else attributes)
        if prompt is not None:
            span.add_event("gen_ai.content.prompt", {"gen_ai.prompt": prompt}, timestamp=ns(start))
        if completion is not None:
            span.add_event("gen_ai.content.completion", {"gen_ai.completion": completion},
                           timestamp=ns(start + dt.timedelta(seconds=duration_s)))
        if error is not None:
            span.set_attribute("error.type", error)
            span.set_status(Status(StatusCode.ERROR, f"{error} happened"))
        span.end(end_time=ns(start + dt.timedelta(seconds=duration_s)))
        self.spans.append(span)
        return span

    def app_span(self, start: dt.datetime = T0) -> Any:
        """A non-LLM application span (started, not ended: end it with ``.end()``)."""
        return self.tracer.start_span("POST /support", kind=SpanKind.SERVER, start_time=ns(start),
                                      attributes={"http.request.method": "POST"})

    def append_line(self, text: str) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(text + "\n")

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


@pytest.fixture
def span_file(tmp_path: Path) -> SpanFile:
    return SpanFile(tmp_path / "traffic" / "spans.jsonl")


@pytest.fixture
def traffic_settings(warehouse):
    """Settings from the embedded defaults (demo prices) pointing at the test warehouse."""

    def make(**traffic: Any):
        settings = load_settings(DEFAULTS_PATH, env={"LLMMON_HOME": str(ROOT), "LLMMON_WAREHOUSE_URL": warehouse.url})
        if traffic:
            from llmmon.traffic_config import TrafficConfig

            merged = {**settings.traffic.model_dump(), **traffic}
            settings = settings.model_copy(update={"traffic": TrafficConfig.model_validate(merged)})
        return settings

    return make
