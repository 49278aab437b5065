"""Shared setup of the judge tests: llm_spans rows written directly (as ingestion would), judge settings."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
W0 = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
W1 = W0 + dt.timedelta(hours=1)
V1, V2 = "llmmon-demo-v1", "llmmon-demo-v2"


def golden_cases() -> list[dict]:
    with (ROOT / "golden_sets" / "customer_support" / "cases.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def reference_text(reference) -> str:
    return reference if isinstance(reference, str) else json.dumps(reference, sort_keys=True)


def ids(name: str) -> tuple[str, str]:
    """A deterministic (trace_id, span_id) for a test span name: 32 and 16 hex digits."""
    h = hashlib.sha256(name.encode()).hexdigest()
    return h[:32], h[32:48]


def span_row(name: str, *, prompt: str | None, completion: str | None, model_version: str = "v1",
             template: str = "qa", segment: str = "free", reference: str | None = None,
             context: str | None = None, status: str = "ok", at: dt.datetime | None = None) -> dict:
    """One llm_spans row with every NOT NULL column, as the ingestion writes it."""
    trace_id, span_id = ids(name)
    start = at or W0 + dt.timedelta(minutes=5)
    model = V1 if model_version == "v1" else V2
    return {
        "trace_id": trace_id, "span_id": span_id, "name": f"chat {model}", "operation": "chat",
        "start_time": start, "end_time": start + dt.timedelta(seconds=1), "duration_s": 1.0, "status": status,
        "request_model": model, "response_model": model, "input_tokens": 10, "output_tokens": 5,
        "cost_usd": None, "cost_known": False, "endpoint": "demo", "model_version": model_version,
        "prompt_template": template, "user_segment": segment, "prompt": prompt, "completion": completion,
        "reference": reference, "attributes": {"llmmon.retrieval.context": context} if context else {},
        "source": "test", "ingest_batch_id": "test-batch", "ingested_at": W1,
    }


def insert_spans(warehouse, rows: list[dict]) -> None:
    from llmmon.warehouse.schema_traffic import llm_spans
    from llmmon.warehouse.upsert import upsert

    with warehouse.engine.begin() as conn:
        upsert(conn, llm_spans, rows, ["trace_id", "span_id"])


def with_judge(settings, **judge):
    """``settings`` with ``judge`` fields replaced (nested models given as dicts are merged)."""
    current = settings.judge
    update = {}
    for key, value in judge.items():
        sub = getattr(current, key)
        update[key] = sub.model_copy(update=value) if isinstance(value, dict) else value
    return settings.model_copy(update={"judge": current.model_copy(update=update)})


@pytest.fixture
def judge_settings(make_settings, warehouse):
    """Settings on the test warehouse, the judge endpoint on the demo server; every span sampled, no caps."""
    settings = make_settings(warehouse.url)
    return with_judge(settings, sampling={"mode": "uniform", "rate": 1.0, "min_per_stratum": 0},
                      budget={"max_calls": None, "max_usd": None}, concurrency=8)
