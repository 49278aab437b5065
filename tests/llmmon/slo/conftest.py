"""Helpers for the slo tests: spans built by hand (so every figure can be checked by hand), ingested for real."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest

from llmmon.config import DEFAULTS_PATH, load_settings

ROOT = Path(__file__).resolve().parents[3]
T0 = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)  # a window start (prices are effective 2026-01-01)
_ids = itertools.count(1)


def span(start: dt.datetime, *, duration_s: float | None = 1.0, ttft_s: float | None = 0.5, status: str = "ok",
         model: str = "llmmon-demo-v1", **extra: Any) -> dict[str, Any]:
    """One canonical span row (flat Parquet columns, as the traffic ingestion reads them)."""
    i = next(_ids)
    end = start + dt.timedelta(seconds=duration_s if duration_s and duration_s > 0 else 0)
    row = {
        "trace_id": f"{i:032x}", "span_id": f"{i:016x}", "start_time": start, "end_time": end,
        "duration_s": duration_s, "ttft_s": ttft_s, "status": status, "operation": "chat",
        "request_model": model, "response_model": model, "input_tokens": 1000, "output_tokens": 200,
        "endpoint": "demo", "model_version": "v1", "prompt_template": "support_routing", "user_segment": "free",
        "replica": "r-0",
    }
    row.update(extra)
    return row


def arrow(rows: list[dict[str, Any]]):
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    types = {"start_time": ts, "end_time": ts, "ingested_at": ts, "duration_s": pa.float64(), "ttft_s": pa.float64(),
             "cost_usd": pa.float64(), "input_tokens": pa.int64(), "output_tokens": pa.int64()}
    names = list(dict.fromkeys(k for r in rows for k in r))
    return pa.table({n: pa.array([r.get(n) for r in rows], types.get(n, pa.string())) for n in names})


def settings_for(warehouse_url: str, **slo: Any):
    """The embedded defaults on ``warehouse_url``; Great Expectations off (the same rules, vectorised, still run)."""
    settings = load_settings(DEFAULTS_PATH, env={"LLMMON_HOME": str(ROOT), "LLMMON_WAREHOUSE_URL": warehouse_url})
    update = {"traffic": settings.traffic.model_copy(update={"great_expectations": False})}
    if slo:
        update["slo"] = settings.slo.model_copy(update=slo)
    return settings.model_copy(update=update)


def ingest_rows(settings, warehouse, tmp_path: Path, rows: list[dict[str, Any]], batch_id: str):
    """Write ``rows`` as a Parquet file and ingest it as batch ``batch_id`` (the real ingestion path)."""
    import pyarrow.parquet as pq

    from llmmon.traffic.ingest import ingest

    path = tmp_path / f"{batch_id}.parquet"
    pq.write_table(arrow([{k: v for k, v in r.items() if k != "ingested_at"} for r in rows]), path)
    return ingest(settings, warehouse, str(path), batch_id=batch_id, format="parquet")


@pytest.fixture
def slo_settings(warehouse_url):
    return settings_for(warehouse_url)
