"""Warehouse reads and writes of the traffic tables: ``llm_spans``, its quarantine and ``ingest_batches``.

An ingestion writes through one :class:`BatchWriter`: spans, quarantine records, provider deployments and the
``ingest_batches`` row go in ONE transaction, so a failed or killed ingestion leaves nothing behind. Spans are
written with the bulk path of each dialect — SQLite: one ``executemany`` of plain tuples; PostgreSQL: ``COPY``
into a temporary table, then ``INSERT .. SELECT .. ON CONFLICT DO NOTHING``; others: SQLAlchemy's portable
upsert — and a span whose (trace_id, span_id) is already stored is left as it is (the first ingestion wins, so
re-ingesting a file changes nothing, and a reference joined later is never overwritten).
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from llmmon.warehouse.schema import deployments
from llmmon.warehouse.schema_traffic import ingest_batches, llm_served_models, llm_spans, llm_spans_quarantine
from llmmon.warehouse.store import READ_ONLY, Warehouse, _one, _rows
from llmmon.warehouse.upsert import update_then_insert, upsert

# SQLite page cache during a bulk load (KiB, as a negative PRAGMA value): the primary-key index of a large
# table no longer fits the 2 MB default, and random inserts into it would thrash.
SQLITE_LOAD_CACHE_KIB = 65536
SQLITE_ROWS_PER_CALL = 10_000
_PG_LOAD_TABLE = "llmmon_llm_spans_load"


def _ns_array(when: dt.datetime) -> Any:
    import pyarrow as pa

    micros = (when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    return pa.array([micros * 1000], pa.int64())


def _ts_text(ns_column: Any) -> Any:
    """Integer nanoseconds as UTC text with microseconds, ``YYYY-MM-DD HH:MM:SS.ffffff`` — exactly what
    SQLAlchemy's SQLite DateTime stores (a cast: ten times faster than strftime)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ts = pc.cast(pc.cast(ns_column, pa.timestamp("ns")), pa.timestamp("us"), safe=False)
    return pc.cast(ts, pa.string())


def _pg_ts(ns_column: Any) -> Any:
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(_ts_text(ns_column), "+00", "")


def _output_table(table: Any, batch_id: str, ingested_at: dt.datetime, ts: Any, constants: bool = True) -> Any:
    """The working table's valid rows as llm_spans columns, in table order; ``ts`` formats timestamps.

    Without ``constants`` the columns that are the same for the whole batch (ingest_batch_id, ingested_at)
    are left out: the SQLite path writes them as literals instead of binding them on every row.
    """
    import pyarrow as pa

    from llmmon.traffic.canonical import SPAN_COLUMNS

    n = table.num_rows
    computed = {"start_time": ts(table.column("start_ns")), "end_time": ts(table.column("end_ns"))}
    if constants:
        ingested_ns = _ns_array(ingested_at)
        computed["ingest_batch_id"] = pa.array([batch_id] * n, pa.string())
        computed["ingested_at"] = pa.array([ts(ingested_ns)[0].as_py()] * n, pa.string())
    names = [c for c in SPAN_COLUMNS if constants or c not in ("ingest_batch_id", "ingested_at")]
    columns = [computed[c] if c in computed else table.column(c) for c in names]
    return pa.table(columns, names=names)


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class BatchWriter:
    """Writes one ingestion in one transaction: ``with BatchWriter(wh, batch_id) as w: ...`` commits on exit,
    rolls back on an exception."""

    def __init__(self, warehouse: Warehouse, batch_id: str, *, ingested_at: dt.datetime) -> None:
        self.warehouse = warehouse
        self.batch_id = batch_id
        self.ingested_at = ingested_at
        self.conn: Connection | None = None
        self._trans: Any = None
        self._sqlite_cache: int | None = None
        self._pg_ready = False
        self.commit_seconds = 0.0

    def __enter__(self) -> BatchWriter:
        self.conn = self.warehouse.engine.connect()
        self._trans = self.conn.begin()
        self.dialect = self.conn.dialect.name
        if self.dialect == "sqlite":
            cur = self._dbapi().cursor()
            self._sqlite_cache = cur.execute("PRAGMA cache_size").fetchone()[0]
            cur.execute(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}")
            cur.close()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                started = time.perf_counter()
                self._trans.commit()
                self.commit_seconds = time.perf_counter() - started
            else:
                self._trans.rollback()
        finally:
            if self._sqlite_cache is not None:
                cur = self._dbapi().cursor()
                cur.execute(f"PRAGMA cache_size={int(self._sqlite_cache)}")
                cur.close()
            self.conn.close()

    def _dbapi(self) -> Any:
        return self.conn.connection.driver_connection

    # -- spans
    def insert_spans(self, table: Any) -> int:
        """Insert the valid rows of a working table (costs computed); returns how many were new."""
        if table.num_rows == 0:
            return 0
        if self.dialect == "sqlite":
            return self._insert_sqlite(table)
        if self.dialect == "postgresql":
            return self._insert_postgresql(table)
        return self._insert_portable(table)

    def _insert_sqlite(self, table: Any) -> int:
        out = _output_table(table, self.batch_id, self.ingested_at, _ts_text, constants=False)
        # Columns null on every row are left to their default (NULL): fewer parameters to bind per row.
        names = [name for name in out.column_names
                 if name in ("trace_id", "span_id") or out.column(name).null_count < out.num_rows]
        ingested = _ts_text(_ns_array(self.ingested_at))[0].as_py()
        sql = (
            f"INSERT INTO {llm_spans.name} ({', '.join(names)}, ingest_batch_id, ingested_at) "
            f"VALUES ({', '.join('?' * len(names))}, {_sql_literal(self.batch_id)}, {_sql_literal(ingested)}) "
            "ON CONFLICT (trace_id, span_id) DO NOTHING"
        )
        cur = self._dbapi().cursor()
        inserted = 0
        try:
            # Python objects for a slice at a time: memory stays bounded whatever the record batch size.
            for start in range(0, out.num_rows, SQLITE_ROWS_PER_CALL):
                part = out.slice(start, SQLITE_ROWS_PER_CALL)
                columns = [part.column(name).to_pylist() for name in names]
                cur.executemany(sql, zip(*columns, strict=True))
                inserted += cur.rowcount
            return inserted
        finally:
            cur.close()

    def _insert_postgresql(self, table: Any) -> int:
        import pyarrow.csv as pacsv

        out = _output_table(table, self.batch_id, self.ingested_at, _pg_ts)
        names = ", ".join(out.column_names)
        cur = self._dbapi().cursor()
        try:
            if not self._pg_ready:
                # Session-private and dropped at commit; no constraints but NOT NULL: the real table checks.
                cur.execute(f"CREATE TEMP TABLE {_PG_LOAD_TABLE} (LIKE {llm_spans.name}) ON COMMIT DROP")
                self._pg_ready = True
            buf = io.BytesIO()
            pacsv.write_csv(out, buf, pacsv.WriteOptions(include_header=False))
            buf.seek(0)
            cur.copy_expert(f"COPY {_PG_LOAD_TABLE} ({names}) FROM STDIN WITH (FORMAT csv)", buf)
            cur.execute(
                f"INSERT INTO {llm_spans.name} ({names}) SELECT {names} FROM {_PG_LOAD_TABLE} "
                "ON CONFLICT (trace_id, span_id) DO NOTHING"
            )
            inserted = cur.rowcount
            cur.execute(f"TRUNCATE {_PG_LOAD_TABLE}")
            return inserted
        finally:
            cur.close()

    def _insert_portable(self, table: Any) -> int:
        import json

        from llmmon.traffic.canonical import JSON_COLUMNS, SPAN_COLUMNS

        rows = []
        for r in table.to_pylist():
            row = {c: r.get(c) for c in SPAN_COLUMNS if c in r}
            for c in JSON_COLUMNS:
                row[c] = json.loads(r[c]) if r.get(c) is not None else None
            row.update(
                start_time=dt.datetime.fromtimestamp(r["start_ns"] / 1e9, dt.UTC),
                end_time=dt.datetime.fromtimestamp(r["end_ns"] / 1e9, dt.UTC),
                ingest_batch_id=self.batch_id, ingested_at=self.ingested_at,
            )
            rows.append(row)
        before = self.conn.execute(sa.select(sa.func.count()).select_from(llm_spans)).scalar_one()
        update_then_insert(self.conn, llm_spans, _first_per_key(rows), ["trace_id", "span_id"], [])
        return self.conn.execute(sa.select(sa.func.count()).select_from(llm_spans)).scalar_one() - before

    # -- quarantine, batches, deployments
    def clear_quarantine(self) -> None:
        """Forget the quarantine of an earlier run of this batch (it is written again)."""
        self.conn.execute(sa.delete(llm_spans_quarantine).where(llm_spans_quarantine.c.batch_id == self.batch_id))

    def quarantine(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            stamped = [{**r, "batch_id": self.batch_id, "quarantined_at": self.ingested_at} for r in rows]
            self.conn.execute(llm_spans_quarantine.insert(), stamped)

    def served_rows(self, pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """The llm_served_models rows of the (endpoint, request_model) ``pairs``."""
        if not pairs:
            return []
        c = llm_served_models.c
        q = sa.select(llm_served_models).where(c.endpoint.in_(sorted({p[0] for p in pairs})),
                                               c.request_model.in_(sorted({p[1] for p in pairs})))
        wanted = set(pairs)
        return [r for r in _rows(self.conn.execute(q)) if (r["endpoint"], r["request_model"]) in wanted]

    def upsert_served(self, rows: Sequence[dict[str, Any]]) -> None:
        upsert(self.conn, llm_served_models, rows,
               ["endpoint", "request_model", "response_model", "system_fingerprint"])

    def existing_deployments(self, deploy_ids: Sequence[str]) -> set[str]:
        if not deploy_ids:
            return set()
        q = sa.select(deployments.c.deploy_id).where(deployments.c.deploy_id.in_(sorted(set(deploy_ids))))
        return {r[0] for r in self.conn.execute(q)}

    def record_deployments(self, rows: Sequence[dict[str, Any]]) -> None:
        """Upsert provider deployments by deploy_id (``recorded_at`` keeps its first value)."""
        upsert(self.conn, deployments, [{**r, "recorded_at": self.ingested_at} for r in rows], ["deploy_id"],
               preserve=["recorded_at"])

    def finish(self, row: dict[str, Any]) -> None:
        """Write the batch's ingest_batches row (status success)."""
        upsert(self.conn, ingest_batches, [{**row, "batch_id": self.batch_id, "status": "success", "error": None}],
               ["batch_id"])


def _first_per_key(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        seen.setdefault((r["trace_id"], r["span_id"]), r)
    return list(seen.values())


def record_failed_batch(warehouse: Warehouse, row: dict[str, Any]) -> None:
    """Record a failed ingestion (its own transaction); a batch that already succeeded keeps its row."""
    with warehouse.engine.begin() as conn:
        status = conn.execute(
            sa.select(ingest_batches.c.status).where(ingest_batches.c.batch_id == row["batch_id"])
        ).scalar_one_or_none()
        if status != "success":
            upsert(conn, ingest_batches, [{**row, "status": "failed"}], ["batch_id"])


# ------------------------------------------------------------------------------------------------ reads
def get_ingest_batch(warehouse: Warehouse, batch_id: str) -> dict[str, Any] | None:
    """The ingest_batches row of ``batch_id``, or None."""
    with warehouse.engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        return _one(conn.execute(sa.select(ingest_batches).where(ingest_batches.c.batch_id == batch_id)))


def quarantined(warehouse: Warehouse, batch_id: str) -> list[dict[str, Any]]:
    """The quarantine records of ``batch_id``, by row reference."""
    q = (sa.select(llm_spans_quarantine).where(llm_spans_quarantine.c.batch_id == batch_id)
         .order_by(llm_spans_quarantine.c.row_ref))
    with warehouse.engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        return _rows(conn.execute(q))


def read_spans(
    warehouse: Warehouse,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    *,
    columns: Sequence[str] | None = None,
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> list[dict[str, Any]]:
    """llm_spans rows with ``start <= start_time < end`` (either bound optional), by start time and ids."""
    c = llm_spans.c
    selected = [c[name] for name in columns] if columns else [llm_spans]
    q = sa.select(*selected).where(*where)
    if start is not None:
        q = q.where(c.start_time >= start)
    if end is not None:
        q = q.where(c.start_time < end)
    q = q.order_by(c.start_time, c.trace_id, c.span_id)
    with warehouse.engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        return _rows(conn.execute(q))


def count_spans(warehouse: Warehouse) -> int:
    """Rows in llm_spans."""
    with warehouse.engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        return conn.execute(sa.select(sa.func.count()).select_from(llm_spans)).scalar_one()
