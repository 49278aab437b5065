"""Reads and writes of the slo capability: ``slo_windows`` replaced window by window, ``slo_batches`` marks.

Replacing a window deletes every row of it (all models, endpoints and slices) and inserts the new rows in one
transaction: recomputing a window after late or replayed spans converges to the same rows, and a slice that
vanished from the window vanishes from the table. Which windows to recompute comes from the ingestions not yet
marked in ``slo_batches`` (see :func:`pending_batches`). Functions take a :class:`~llmmon.warehouse.Warehouse`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from llmmon.warehouse.schema import WarehouseError, metadata, to_utc
from llmmon.warehouse.schema_slo import slo_batches, slo_windows
from llmmon.warehouse.store import READ_ONLY
from llmmon.warehouse.upsert import normalize_rows, upsert

if TYPE_CHECKING:
    import pyarrow as pa

    from llmmon.warehouse import Warehouse

_IN_CHUNK = 500  # values per IN (...): far below every dialect's bound-parameter limit
_STREAM_BATCH = 20_000
_INSERT_CHUNK = 5_000


def _table(name: str) -> sa.Table:
    table = metadata.tables.get(name)
    if table is None:
        raise WarehouseError(f"table {name} is not in llmmon's schema")
    return table


def _chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


# -- which windows changed ----------------------------------------------------------------------------------------


def pending_batches(warehouse: Warehouse) -> list[str]:
    """Successful ingestions whose spans ``slo_windows`` does not include yet, oldest first.

    Ingestions, not an ``ingested_at`` watermark: an ingestion stamps its spans with its *start* time and commits
    at its end, so a long ingestion can commit after a later one was already seen; a watermark would skip it.
    An ingestion's spans and its ``ingest_batches`` row commit together, so this set is exact.
    """
    batches = _table("ingest_batches")
    b = batches.c
    q = (sa.select(b.batch_id)
         .where(b.status == "success", b.batch_id.not_in(sa.select(slo_batches.c.batch_id)))
         .order_by(b.started_at, b.batch_id))
    return [r["batch_id"] for r in warehouse.select_rows(q)]


def batch_windows(
    warehouse: Warehouse, batch_ids: Sequence[str], window: dt.timedelta
) -> tuple[set[dt.datetime], dict[str, tuple[int, int]]]:
    """The windows (starts) holding spans first written by ``batch_ids``, and each batch's (spans, windows).

    Streams the start times of those spans only: the new spans of a run, not the table."""
    spans = _table("llm_spans")
    starts: set[dt.datetime] = set()
    counts: dict[str, int] = dict.fromkeys(batch_ids, 0)
    per_batch: dict[str, set[dt.datetime]] = {b: set() for b in batch_ids}
    with warehouse.engine.connect() as conn:
        conn = conn.execution_options(**{READ_ONLY: True}, yield_per=_STREAM_BATCH)
        for chunk in _chunks(list(batch_ids)):
            q = sa.select(spans.c.ingest_batch_id, spans.c.start_time).where(spans.c.ingest_batch_id.in_(chunk))
            for batch_id, start in conn.execute(q):
                counts[batch_id] += 1
                per_batch[batch_id].add(floor_time(start, window))
    for windows in per_batch.values():
        starts |= windows
    return starts, {b: (counts[b], len(per_batch[b])) for b in batch_ids}


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def floor_time(t: dt.datetime, window: dt.timedelta) -> dt.datetime:
    """The start of the window of length ``window`` holding ``t`` (windows divide a day: aligned to UTC midnight)."""
    t = to_utc(t)
    return t - (t - _EPOCH) % window


# -- spans in, as Arrow ---------------------------------------------------------------------------------------------

SPAN_READ_COLUMNS = (
    "start_time", "end_time", "duration_s", "ttft_s", "status", "request_model", "response_model", "input_tokens",
    "output_tokens", "cost_usd", "endpoint", "model_version", "prompt_template", "user_segment", "replica",
    "ingested_at",
)


def read_spans(warehouse: Warehouse, ranges: Sequence[tuple[dt.datetime, dt.datetime]]) -> pa.Table:
    """The ``llm_spans`` columns the SLO aggregation reads, for spans with ``start <= start_time < end`` in any of
    ``ranges``, as a pyarrow Table (timestamps in UTC). Streamed in batches, each turned into Arrow at once, so
    memory holds the Arrow columns, not Python objects for every span."""
    import pyarrow as pa

    spans = _table("llm_spans")
    cols = [spans.c[name] for name in SPAN_READ_COLUMNS]
    ts = pa.timestamp("us", tz="UTC")
    types = {"start_time": ts, "end_time": ts, "ingested_at": ts, "duration_s": pa.float64(), "ttft_s": pa.float64(),
             "cost_usd": pa.float64(), "input_tokens": pa.int64(), "output_tokens": pa.int64()}
    schema = pa.schema([(name, types.get(name, pa.string())) for name in SPAN_READ_COLUMNS])
    batches = []
    with warehouse.engine.connect() as conn:
        conn = conn.execution_options(**{READ_ONLY: True}, yield_per=_STREAM_BATCH)
        for start, end in ranges:
            q = sa.select(*cols).where(spans.c.start_time >= to_utc(start), spans.c.start_time < to_utc(end))
            for part in conn.execute(q).partitions():
                columns = list(zip(*part, strict=True))
                batches.append(pa.record_batch(
                    [pa.array(values, field.type) for values, field in zip(columns, schema, strict=True)],
                    schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


# -- slo_windows ----------------------------------------------------------------------------------------------------


def replace_windows(warehouse: Warehouse, window_starts: Iterable[dt.datetime], rows: Any) -> int:
    """Replace every ``slo_windows`` row of the given windows with ``rows`` (dicts, or a pyarrow Table as
    :func:`llmmon.slo.windows.aggregate_windows` returns), in one transaction. A row outside those windows is an
    error (it would survive the next replacement twice)."""
    starts = sorted({to_utc(s) for s in window_starts})
    allowed = set(starts)
    if hasattr(rows, "to_pylist"):  # a pyarrow Table: converted a chunk at a time (memory stays one chunk)
        unknown = [c for c in rows.column_names if c not in slo_windows.c]
        if unknown:
            raise WarehouseError(f"replace_windows: unknown column(s) {unknown}")
        table = rows
        chunks: Iterable[list[dict[str, Any]]] = (
            table.slice(i, _INSERT_CHUNK).to_pylist() for i in range(0, table.num_rows, _INSERT_CHUNK))
    else:
        chunks = _chunks(normalize_rows(slo_windows, rows, "replace_windows"), _INSERT_CHUNK)
    written = 0
    with warehouse.engine.begin() as conn:
        for chunk in _chunks(starts):
            conn.execute(sa.delete(slo_windows).where(slo_windows.c.window_start.in_(chunk)))
        for chunk in chunks:
            for i, row in enumerate(chunk):
                if to_utc(row["window_start"]) not in allowed:
                    raise WarehouseError(f"replace_windows: row {written + i} has window_start "
                                         f"{row['window_start']} outside the windows being replaced")
            if chunk:
                conn.execute(sa.insert(slo_windows), list(chunk))
            written += len(chunk)
    return written


def mark_batches(warehouse: Warehouse, rows: Sequence[dict[str, Any]]) -> int:
    """Record ingestions as included in ``slo_windows`` (upsert by batch_id)."""
    with warehouse.engine.begin() as conn:
        return upsert(conn, slo_batches, rows, ["batch_id"])


def window_rows(
    warehouse: Warehouse,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    dimension: str | None = None,
    model: str | None = None,
    endpoint: str | None = None,
) -> list[dict[str, Any]]:
    """``slo_windows`` rows with ``start <= window_start < end`` (bounds optional), optionally of one dimension,
    model or endpoint, in window and slice order."""
    c = slo_windows.c
    q = sa.select(slo_windows).order_by(c.window_start, c.model, c.endpoint, c.dimension, c.value)
    if start is not None:
        q = q.where(c.window_start >= to_utc(start))
    if end is not None:
        q = q.where(c.window_start < to_utc(end))
    if dimension is not None:
        q = q.where(c.dimension == dimension)
    if model is not None:
        q = q.where(c.model == model)
    if endpoint is not None:
        q = q.where(c.endpoint == endpoint)
    return warehouse.select_rows(q)


def processed_batches(warehouse: Warehouse) -> list[dict[str, Any]]:
    """``slo_batches`` rows, in processing order."""
    return warehouse.select_rows(sa.select(slo_batches).order_by(slo_batches.c.processed_at, slo_batches.c.batch_id))
