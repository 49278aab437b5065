"""Synthetic ``llm_spans`` rows for the drift tests: hand-controlled prompts, lengths, templates and timings."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from llmmon.warehouse.schema import metadata

T0 = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
QUESTIONS = (
    "Where is my order {n}? It was due on Monday.",
    "I was charged twice for invoice {n}, please refund one charge.",
    "How do I reset the password of account {n}?",
    "Can I change the shipping address of order {n}?",
    "My package {n} arrived damaged, what should I do?",
    "Please cancel my subscription {n} at the end of the month.",
)


def span_rows(
    n: int, start: dt.datetime, *, seed: int, prompt: Callable[[random.Random, int], str | None] | None = None,
    template: Callable[[random.Random], str | None] | None = None, latency: float = 1.0, ttft: float | None = 0.2,
    segment: str | None = None, span: dt.timedelta = dt.timedelta(hours=1), endpoint: str = "demo",
    extra: Callable[[random.Random, int], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """``n`` spans spread over ``span`` from ``start``; each part overridable per row."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        t = start + span * (i / n)
        text = prompt(rng, i) if prompt else rng.choice(QUESTIONS).format(n=rng.randint(100, 999))
        duration = latency * (0.8 + 0.4 * rng.random())
        row = {
            "trace_id": f"{seed:08x}{i:024x}", "span_id": f"{i:016x}", "start_time": t,
            "end_time": t + dt.timedelta(seconds=duration), "duration_s": duration,
            "ttft_s": None if ttft is None else ttft * (0.8 + 0.4 * rng.random()), "status": "ok",
            "endpoint": endpoint, "operation": "chat", "request_model": "m", "response_model": "m",
            "model_version": "v1", "input_tokens": None if text is None else len(text.split()) + 20,
            "output_tokens": rng.randint(20, 60), "cost_known": False,
            "prompt_template": template(rng) if template else rng.choice(("support", "support", "billing")),
            "user_segment": segment or rng.choice(("free", "plus")), "prompt": text, "completion": "ok",
            "source": "test", "ingest_batch_id": "test", "ingested_at": T0,
        }
        if extra:
            row.update(extra(rng, i))
        rows.append(row)
    return rows


def insert_spans(warehouse, rows: list[dict[str, Any]]) -> None:
    spans = metadata.tables["llm_spans"]
    with warehouse.engine.begin() as conn:
        conn.execute(sa.insert(spans), rows)
