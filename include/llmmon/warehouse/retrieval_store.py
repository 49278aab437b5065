"""Reads and writes of the retrieval capability (tables in ``schema_retrieval``).

A run's rows are written in one transaction that first deletes whatever the run held (``write_run_results``), so a
retried or cleared run converges to the same rows and a killed run leaves either all of them or none. Traffic
context ratings are replaced window by window (``replace_context_window``). Functions take a
:class:`~llmmon.warehouse.Warehouse`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from llmmon.warehouse.schema import WarehouseError, metadata, to_utc
from llmmon.warehouse.schema_retrieval import (
    retrieval_context,
    retrieval_queries,
    retrieval_results,
    retrieval_runs,
    retrieval_summaries,
)
from llmmon.warehouse.upsert import normalize_rows, upsert

if TYPE_CHECKING:
    from llmmon.warehouse import Warehouse

_LIFECYCLE = ("status", "error", "finished_at")
_RESULT_COLUMNS = ("verdict", "verdict_reason", "verdict_details", "baseline_run_key", "n_failed", "error_share",
                   "n_judged", "context_relevance")
_CHUNK = 5000  # rows per executemany batch


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _one(warehouse: Warehouse, q: sa.Select) -> dict[str, Any] | None:
    rows = warehouse.select_rows(q.limit(1))
    return rows[0] if rows else None


def _insert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], what: str) -> None:
    batch = normalize_rows(table, rows, what)
    for s in range(0, len(batch), _CHUNK):
        conn.execute(sa.insert(table), batch[s : s + _CHUNK])


# -- retrieval_runs ------------------------------------------------------------------------------------------------


def start_run(warehouse: Warehouse, run: dict[str, Any]) -> dict[str, Any]:
    """Create or reset the run ``run["run_key"]`` as running (its old queries, results and summaries are deleted,
    verdict and totals cleared, in one transaction); returns the row."""
    run_key = run.get("run_key")
    if not isinstance(run_key, str) or not run_key:
        raise WarehouseError(f"start_run: run_key must be a non-empty string, got {run_key!r}")
    row = dict.fromkeys(retrieval_runs.c.keys())
    row.update({k: v for k, v in run.items() if k not in _LIFECYCLE})
    row.update(status="running", started_at=run.get("started_at") or _now())
    with warehouse.engine.begin() as conn:
        upsert(conn, retrieval_runs, [row], ["run_key"])
        for table in (retrieval_queries, retrieval_results, retrieval_summaries):
            conn.execute(sa.delete(table).where(table.c.run_key == run_key))
    return get_run(warehouse, run_key)  # type: ignore[return-value]


def get_run(warehouse: Warehouse, run_key: str) -> dict[str, Any] | None:
    """The ``retrieval_runs`` row of ``run_key``, or None."""
    return _one(warehouse, sa.select(retrieval_runs).where(retrieval_runs.c.run_key == run_key))


def fail_run(warehouse: Warehouse, run_key: str, error: str, **known: Any) -> None:
    """Mark the run failed with ``error``; creates the row from ``known`` columns when it does not exist (a run can
    fail before it started, on bad run conf). Requires retriever, index_version, suite and stage for a new row."""
    row = {**known, "run_key": run_key, "status": "failed", "error": error, "finished_at": _now()}
    with warehouse.engine.begin() as conn:
        c = retrieval_runs.c
        if conn.execute(sa.select(c.run_key).where(c.run_key == run_key)).first() is not None:
            # an UPDATE, not an upsert: the insert half of an upsert would need every NOT NULL column
            conn.execute(retrieval_runs.update().where(c.run_key == run_key).values(
                {k: v for k, v in row.items() if k != "run_key"}))
            return
        row = {"retriever": "?", "index_version": "?", "suite": "?", "stage": "manual", **row}
        row.setdefault("started_at", row["finished_at"])
        upsert(conn, retrieval_runs, [row], ["run_key"])


def write_run_results(
    warehouse: Warehouse,
    run_key: str,
    *,
    queries: Sequence[dict[str, Any]],
    results: Sequence[dict[str, Any]],
    summaries: Sequence[dict[str, Any]],
    run_update: dict[str, Any],
) -> None:
    """Replace the run's queries, results and summaries and update its row, in one transaction."""
    for name, rows in (("queries", queries), ("results", results), ("summaries", summaries)):
        for i, r in enumerate(rows):
            if r.get("run_key", run_key) != run_key:
                raise WarehouseError(f"write_run_results({run_key!r}): {name} row {i} belongs to {r['run_key']!r}")
    unknown = [k for k in run_update if k not in retrieval_runs.c]
    if unknown:
        raise WarehouseError(f"write_run_results: unknown retrieval_runs column(s) {unknown}")
    with warehouse.engine.begin() as conn:
        if conn.execute(sa.select(retrieval_runs.c.run_key).where(retrieval_runs.c.run_key == run_key)).first() is None:
            raise WarehouseError(f"retrieval run {run_key!r} does not exist (start_run first)")
        for table in (retrieval_queries, retrieval_results, retrieval_summaries):
            conn.execute(sa.delete(table).where(table.c.run_key == run_key))
        _insert(conn, retrieval_queries, [{**r, "run_key": run_key} for r in queries], "retrieval_queries")
        _insert(conn, retrieval_results, [{**r, "run_key": run_key} for r in results], "retrieval_results")
        _insert(conn, retrieval_summaries, [{**r, "run_key": run_key} for r in summaries], "retrieval_summaries")
        conn.execute(sa.update(retrieval_runs).where(retrieval_runs.c.run_key == run_key).values(**run_update))


def set_verdict(warehouse: Warehouse, run_key: str, *, baseline_run_key: str | None, verdict: str, reason: str,
                details: dict[str, Any]) -> None:
    """Store the run's comparison with its baseline."""
    with warehouse.engine.begin() as conn:
        conn.execute(sa.update(retrieval_runs).where(retrieval_runs.c.run_key == run_key).values(
            baseline_run_key=baseline_run_key, verdict=verdict, verdict_reason=reason, verdict_details=details))


def find_baseline_run(
    warehouse: Warehouse, run: dict[str, Any], *, index_version: str | None = None
) -> dict[str, Any] | None:
    """The most recent successful run of the same retriever and suite version on another index version (or on
    ``index_version`` when given), finished before ``run`` started; None when there is none."""
    c = retrieval_runs.c
    q = (sa.select(retrieval_runs)
         .where(c.retriever == run["retriever"], c.suite_version == run["suite_version"], c.status == "success",
                c.finished_at.is_not(None), c.finished_at < run["started_at"], c.run_key != run["run_key"])
         .order_by(c.finished_at.desc(), c.run_key.desc()))
    if index_version is not None:
        q = q.where(c.index_version == index_version)
    else:
        q = q.where(c.index_version != run["index_version"])
    return _one(warehouse, q)


def latest_deploy(warehouse: Warehouse, retriever: str) -> dict[str, Any] | None:
    """The retriever's most recent deploy run (any status: a deploy that failed to evaluate is still deployed)."""
    c = retrieval_runs.c
    return _one(warehouse, sa.select(retrieval_runs).where(c.retriever == retriever, c.stage == "deploy")
                .order_by(c.started_at.desc(), c.run_key.desc()))


def list_runs(warehouse: Warehouse, *, retriever: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest runs (newest first)."""
    c = retrieval_runs.c
    q = sa.select(retrieval_runs).order_by(c.started_at.desc(), c.run_key.desc()).limit(limit)
    if retriever:
        q = q.where(c.retriever == retriever)
    return warehouse.select_rows(q)


# -- per-query rows ------------------------------------------------------------------------------------------------


def run_results(warehouse: Warehouse, run_key: str, metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """``retrieval_results`` rows of a run (optionally of some metrics), by query and metric."""
    c = retrieval_results.c
    q = sa.select(retrieval_results).where(c.run_key == run_key).order_by(c.query_id, c.metric)
    if metrics is not None:
        q = q.where(c.metric.in_(list(metrics)))
    return warehouse.select_rows(q)


def run_queries(warehouse: Warehouse, run_key: str) -> list[dict[str, Any]]:
    """``retrieval_queries`` rows of a run, by query id."""
    c = retrieval_queries.c
    return warehouse.select_rows(sa.select(retrieval_queries).where(c.run_key == run_key).order_by(c.query_id))


def run_summaries(warehouse: Warehouse, run_key: str) -> list[dict[str, Any]]:
    """``retrieval_summaries`` rows of a run."""
    c = retrieval_summaries.c
    q = sa.select(retrieval_summaries).where(c.run_key == run_key).order_by(c.dimension, c.value, c.metric)
    return warehouse.select_rows(q)


# -- production context relevance ---------------------------------------------------------------------------------------


def replace_context_window(warehouse: Warehouse, window_start: dt.datetime, rows: Sequence[dict[str, Any]]) -> int:
    """Replace every ``retrieval_context`` row of the window starting at ``window_start``, in one transaction."""
    start = to_utc(window_start)
    for i, r in enumerate(rows):
        if to_utc(r["window_start"]) != start:
            raise WarehouseError(f"replace_context_window: row {i} is of window {r['window_start']}, not {start}")
    with warehouse.engine.begin() as conn:
        conn.execute(sa.delete(retrieval_context).where(retrieval_context.c.window_start == start))
        _insert(conn, retrieval_context, rows, "retrieval_context")
    return len(rows)


def context_rows(warehouse: Warehouse, *, start: dt.datetime | None = None,
                 end: dt.datetime | None = None) -> list[dict[str, Any]]:
    """``retrieval_context`` rows with ``start <= window_start < end``."""
    c = retrieval_context.c
    q = sa.select(retrieval_context).order_by(c.window_start, c.trace_id, c.span_id, c.rank)
    if start is not None:
        q = q.where(c.window_start >= to_utc(start))
    if end is not None:
        q = q.where(c.window_start < to_utc(end))
    return warehouse.select_rows(q)


def _spans_table() -> sa.Table:
    spans = metadata.tables.get("llm_spans")
    if spans is None:
        raise WarehouseError("table llm_spans is not in llmmon's schema (it belongs to the traffic capability)")
    return spans


def rag_candidates(warehouse: Warehouse, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Ids and slice of the answered spans with retrieved document ids and ``start <= start_time < end`` (what
    sampling needs: a busy window costs little memory)."""
    c = _spans_table().c
    q = (sa.select(c.trace_id, c.span_id, c.prompt_template, c.user_segment)
         .where(c.start_time >= to_utc(start), c.start_time < to_utc(end), c.status == "ok",
                c.retrieved_doc_ids.is_not(None), c.prompt.is_not(None))
         .order_by(c.trace_id, c.span_id))
    return warehouse.select_rows(q)


def rag_span_contents(warehouse: Warehouse, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Prompt, retrieval and attributes of the spans ``keys`` (trace_id, span_id), read in chunks."""
    c = _spans_table().c
    out: dict[tuple[str, str], dict[str, Any]] = {}
    keys = list(keys)
    for i in range(0, len(keys), 500):
        q = (sa.select(c.trace_id, c.span_id, c.endpoint, c.model_version, c.prompt_template, c.user_segment,
                       c.prompt, c.retrieved_doc_ids, c.retrieval_scores, c.attributes)
             .where(sa.tuple_(c.trace_id, c.span_id).in_(keys[i : i + 500])))
        for row in warehouse.select_rows(q):
            out[(row["trace_id"], row["span_id"])] = row
    return out
