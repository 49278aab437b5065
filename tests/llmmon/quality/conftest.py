"""Helpers for the quality tests: spans and judge scores written straight into a real warehouse."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Any

import pytest
import sqlalchemy as sa

from llmmon.warehouse.schema import metadata
from llmmon.warehouse.upsert import normalize_rows

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)  # a window start (hourly grid)
_ids = itertools.count()


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _hex(n: int, width: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()[:width]


def span(minute: float = 5, **kw: Any) -> dict[str, Any]:
    """An ``llm_spans`` row: an ok chat call of endpoint demo, v1, template faq, segment free (override any column)."""
    n = next(_ids)
    start = at(minute)
    row = {
        "trace_id": _hex(n, 32), "span_id": _hex(n, 16), "start_time": start,
        "end_time": start + dt.timedelta(seconds=1), "duration_s": 1.0, "status": "ok", "cost_known": False,
        "source": "test", "ingest_batch_id": "test", "ingested_at": start, "operation": "chat",
        "request_model": "llmmon-demo-v1", "endpoint": "demo", "model_version": "v1", "prompt_template": "faq",
        "user_segment": "free", "completion": "Refunds take 5 days.", "finish_reason": "stop",
    }
    row.update(kw)
    return row


def insert(wh, table_name: str, rows: list[dict[str, Any]]) -> None:
    table = metadata.tables[table_name]
    with wh.engine.begin() as conn:
        conn.execute(sa.insert(table), normalize_rows(table, rows))


def score(window_start: dt.datetime, value: float | None, *, stratum: str = "faq|free", rubric: str = "helpfulness",
          endpoint: str = "demo", version: str = "r1", run: str | None = None, **kw: Any) -> dict[str, Any]:
    """A ``judge_scores`` row of the hourly judging window starting at ``window_start``."""
    n = next(_ids)
    template, segment = stratum.split("|")
    return {
        "judge_run_key": run or f"traffic_judge/{window_start.isoformat()}", "trace_id": _hex(n, 32),
        "span_id": _hex(n, 16), "rubric": rubric, "rubric_version": version, "kind": "pointwise",
        "stratum": stratum, "prompt_template": template, "user_segment": segment, "window_start": window_start,
        "window_end": window_start + dt.timedelta(hours=1), "endpoint": endpoint, "model_version": "v1",
        "judge_model": "llmmon-judge", "score": value, "judge_calls": 1,
        "judged_at": window_start + dt.timedelta(hours=1, minutes=1), **kw,
    }


@pytest.fixture
def settings_for(tmp_path):
    """Settings from the embedded defaults with a ``quality:`` section, on a given warehouse URL."""
    import yaml

    from llmmon.config import DEFAULTS_PATH, load_settings

    def make(url: str, quality: dict[str, Any] | None = None):
        doc = yaml.safe_load(DEFAULTS_PATH.read_text())
        doc["warehouse"] = {"url": url}
        if quality is not None:
            doc["quality"] = quality
        path = tmp_path / "llmmon.yaml"
        path.write_text(yaml.safe_dump(doc))
        return load_settings(path, env={})

    return make
