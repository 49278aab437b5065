"""Reads and writes of the drift capability: the spans of a window, and the runs and metrics of drift reports.

A run is written whole: its ``drift_runs`` row and all its ``drift_metrics`` rows are replaced in one transaction,
so a retried task or a re-run of the same window and reference converges to the same rows. Functions take a
:class:`~llmmon.warehouse.Warehouse`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from llmmon.warehouse.schema import WarehouseError, metadata, to_utc
from llmmon.warehouse.schema_drift import drift_metrics, drift_runs
from llmmon.warehouse.store import READ_ONLY
from llmmon.warehouse.upsert import normalize_rows

if TYPE_CHECKING:
    from llmmon.warehouse import Warehouse

# What the drift features read from llm_spans (attributes and retrieval columns are not needed).
SPAN_FEATURE_COLUMNS = (
    "start_time", "endpoint", "duration_s", "ttft_s", "input_tokens", "output_tokens", "prompt_template",
    "user_segment", "model_version", "prompt",
)
_STREAM_BATCH = 20_000


def _spans() -> sa.Table:
    table = metadata.tables.get("llm_spans")
    if table is None:
        raise WarehouseError("table llm_spans is not in llmmon's schema (it belongs to the traffic capability)")
    return table


def span_columns(
    warehouse: Warehouse, start: dt.datetime, end: dt.datetime, *, endpoint: str | None = None
) -> dict[str, list[Any]]:
    """The ``SPAN_FEATURE_COLUMNS`` of spans with ``start <= start_time < end`` (of one endpoint, or all), as one
    list per column (columnar: a million spans cost lists, not a million dicts)."""
    spans = _spans()
    q = (sa.select(*(spans.c[name] for name in SPAN_FEATURE_COLUMNS))
         .where(spans.c.start_time >= to_utc(start), spans.c.start_time < to_utc(end))
         .order_by(spans.c.start_time, spans.c.trace_id, spans.c.span_id))
    if endpoint:
        q = q.where(spans.c.endpoint == endpoint)
    out: dict[str, list[Any]] = {name: [] for name in SPAN_FEATURE_COLUMNS}
    appenders = [out[name].append for name in SPAN_FEATURE_COLUMNS]
    with warehouse.engine.connect() as conn:
        conn = conn.execution_options(**{READ_ONLY: True}, yield_per=_STREAM_BATCH)
        for row in conn.execute(q):
            for append, value in zip(appenders, row, strict=True):
                append(value)
    return out


def replace_drift_run(warehouse: Warehouse, run: dict[str, Any], metrics: Sequence[dict[str, Any]]) -> int:
    """Replace the run ``run['run_key']`` (its ``drift_runs`` row and every ``drift_metrics`` row) in one
    transaction; the report link of an earlier write is kept unless ``run`` gives one. Returns metric rows written."""
    run_key = run.get("run_key")
    if not run_key:
        raise WarehouseError("replace_drift_run: the run has no run_key")
    for i, m in enumerate(metrics):
        if m.get("run_key", run_key) != run_key:
            raise WarehouseError(f"replace_drift_run: metric row {i} belongs to run {m.get('run_key')!r}, "
                                 f"not {run_key!r}")
    run_rows = normalize_rows(drift_runs, [run], "replace_drift_run")
    metric_rows = normalize_rows(drift_metrics, [{**m, "run_key": run_key} for m in metrics], "replace_drift_run")
    with warehouse.engine.begin() as conn:
        if "report_uri" not in run:
            old = conn.execute(sa.select(drift_runs.c.report_uri).where(drift_runs.c.run_key == run_key)).first()
            run_rows[0]["report_uri"] = old[0] if old else None
        conn.execute(sa.delete(drift_metrics).where(drift_metrics.c.run_key == run_key))
        conn.execute(sa.delete(drift_runs).where(drift_runs.c.run_key == run_key))
        conn.execute(sa.insert(drift_runs), run_rows)
        if metric_rows:
            conn.execute(sa.insert(drift_metrics), metric_rows)
    return len(metric_rows)


def set_report_uri(warehouse: Warehouse, run_key: str, uri: str | None) -> None:
    """Link the run's HTML report (``drift_runs.report_uri``); the run must exist."""
    with warehouse.engine.begin() as conn:
        result = conn.execute(sa.update(drift_runs).where(drift_runs.c.run_key == run_key).values(report_uri=uri))
        if result.rowcount == 0:
            raise WarehouseError(f"set_report_uri: no drift run {run_key!r}")


def get_drift_run(warehouse: Warehouse, run_key: str) -> dict[str, Any] | None:
    """The ``drift_runs`` row of ``run_key``, or None."""
    rows = warehouse.select_rows(sa.select(drift_runs).where(drift_runs.c.run_key == run_key))
    return rows[0] if rows else None


def drift_metric_rows(warehouse: Warehouse, run_key: str) -> list[dict[str, Any]]:
    """The ``drift_metrics`` rows of a run: decisive rows first, then by feature and method."""
    c = drift_metrics.c
    q = sa.select(drift_metrics).where(c.run_key == run_key).order_by(c.decisive.desc(), c.feature, c.method)
    return warehouse.select_rows(q)


def drift_run_rows(
    warehouse: Warehouse, *, endpoint: str | None = None, since: dt.datetime | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """``drift_runs`` rows, newest window first (of one endpoint — '' for all-endpoint runs — and/or since a time)."""
    c = drift_runs.c
    q = sa.select(drift_runs).order_by(c.window_start.desc(), c.run_key)
    if endpoint is not None:
        q = q.where(c.endpoint == endpoint)
    if since is not None:
        q = q.where(c.window_start >= to_utc(since))
    if limit is not None:
        q = q.limit(limit)
    return warehouse.select_rows(q)
