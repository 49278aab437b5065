"""The Warehouse: every llmmon read and write of the warehouse tables, each in one transaction.

Writers are idempotent: they upsert by the row's natural key, or delete-then-insert everything a run owns in
one transaction, so a retried or cleared Airflow task converges to the same rows. Audit timestamps are the
only values that may differ after a rewrite, and only where their comment says "last written".

Timestamps in and out are timezone-aware UTC (see ``schema.UTCDateTime``); JSON columns hold plain JSON
(NaN and Infinity are refused on every dialect, because PostgreSQL's json type refuses them).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

from llmmon.warehouse.schema import (
    DELIVERY_STATUSES,
    DEPLOY_SOURCES,
    WarehouseError,
    alert_deliveries,
    alert_events,
    alerts,
    deployments,
    eval_results,
    eval_runs,
    eval_staging,
    eval_summaries,
)
from llmmon.warehouse.upsert import normalize_rows, plain, upsert

READ_ONLY = "llmmon_read_only"  # execution option: this connection only reads
SQLITE_BUSY_TIMEOUT_S = 30.0

# Written by the warehouse itself, never by start_eval_run's caller.
_RUN_LIFECYCLE = ("status", "error", "finished_at")
# Delivery statuses that the next evaluation retries: anything not delivered and not superseded.
RETRY_STATUSES = ("pending", "failed", "not_configured")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _json_default(value: Any) -> Any:
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps_json(value: Any) -> str:
    """The JSON text stored in JSON columns: datetimes become ISO strings, NaN/Infinity are refused."""
    try:
        return json.dumps(value, allow_nan=False, default=_json_default)
    except ValueError as exc:
        raise WarehouseError(
            f"a JSON column value holds NaN or Infinity, which PostgreSQL's json type refuses ({exc}); "
            "store null instead"
        ) from exc


def make_engine(url: str) -> Engine:
    """An engine for the warehouse at ``url``, set up for llmmon's concurrency on each dialect.

    SQLite: WAL journal (readers do not block the writer), a busy timeout, the folder of the file created,
    and write transactions opened with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead of one
    failing with "database is locked" halfway (and so DDL is transactional). PostgreSQL and others:
    ``pool_pre_ping``, so a connection dropped by the server is replaced instead of failing a task.
    """
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return sa.create_engine(u, pool_pre_ping=True, json_serializer=dumps_json)

    database = u.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(u, json_serializer=dumps_json, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module (it emits none before DDL); _on_begin emits our own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        # Switching to WAL needs a moment of exclusive access and SQLite does not always wait for it
        # (two processes opening a new file at once get "database is locked"): retry briefly. WAL is
        # persistent, so once any connection has switched the file, the others find it set.
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
        while True:
            try:
                if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    cursor.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes can
        # fail at once with SQLITE_BUSY if another writer committed in between, busy timeout or not.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _rows(result: sa.CursorResult) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in result]


def _one(result: sa.CursorResult) -> dict[str, Any] | None:
    row = result.first()
    return dict(row._mapping) if row is not None else None


def _check_columns(table: sa.Table, data: dict[str, Any], what: str, exclude: Sequence[str] = ()) -> None:
    unknown = [k for k in data if k not in table.c]
    if unknown:
        raise WarehouseError(
            f"{what}: unknown {table.name} column(s) {', '.join(map(repr, unknown))}; "
            f"columns are: {', '.join(table.c.keys())}"
        )
    refused = [k for k in data if k in exclude]
    if refused:
        raise WarehouseError(f"{what}: column(s) {', '.join(map(repr, refused))} are set by the warehouse")


def _rows_for_run(
    table: sa.Table, run_key: str, rows: Sequence[dict[str, Any]], what: str
) -> list[dict[str, Any]]:
    out = []
    for i, row in enumerate(rows):
        if row.get("run_key", run_key) != run_key:
            raise WarehouseError(f"{what}: row {i} has run_key {row['run_key']!r}, expected {run_key!r}")
        out.append({**row, "run_key": run_key})
    return normalize_rows(table, out, what)


class Warehouse:
    """llmmon's warehouse at a SQLAlchemy URL. The engine is created on first use.

    ``Warehouse("sqlite:///.llmmon/warehouse.db")`` or ``Warehouse("postgresql+psycopg2://user@host/db")``.
    Call :meth:`upgrade` before first use (it is cheap and safe to call on every run).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()  # a shard's staging thread may be the first to touch the engine

    def __repr__(self) -> str:
        return f"Warehouse({make_url(self.url).render_as_string(hide_password=True)!r})"

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = make_engine(self.url)
            return self._engine

    def dispose(self) -> None:
        """Close the pooled connections (the engine is recreated on next use)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            yield conn

    # -- schema ------------------------------------------------------------------------------------------

    def upgrade(self) -> str | None:
        """Migrate the warehouse to the newest revision (a no-op when it is there); returns the revision."""
        from llmmon.warehouse import migrate  # migrate imports this module

        return migrate.upgrade(self.engine)

    def current_revision(self) -> str | None:
        """The schema revision recorded in the warehouse, or None before the first upgrade."""
        from llmmon.warehouse import migrate

        return migrate.current_revision(self.engine)

    # -- deployments -------------------------------------------------------------------------------------

    def record_deployment(
        self,
        deploy_id: str,
        *,
        endpoint: str,
        model: str,
        model_version: str,
        deployed_at: dt.datetime,
        source: str = "manual",
        stage: str | None = None,
        details: dict[str, Any] | None = None,
        recorded_at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """Record a deployment (upsert by ``deploy_id``; ``recorded_at`` keeps its first value). Returns the row."""
        if source not in DEPLOY_SOURCES:
            raise WarehouseError(
                f"record_deployment({deploy_id!r}): source {source!r} is not one of {', '.join(DEPLOY_SOURCES)}"
            )
        row = {
            "deploy_id": deploy_id,
            "endpoint": endpoint,
            "model": model,
            "model_version": model_version,
            "stage": stage,
            "source": source,
            "deployed_at": deployed_at,
            "recorded_at": recorded_at or _now(),
            "details": details,
        }
        with self.engine.begin() as conn:
            upsert(conn, deployments, [row], ["deploy_id"], preserve=["recorded_at"])
            return _one(conn.execute(sa.select(deployments).where(deployments.c.deploy_id == deploy_id)))

    def get_deployment(self, deploy_id: str) -> dict[str, Any] | None:
        """The deployment ``deploy_id``, or None."""
        q = sa.select(deployments).where(deployments.c.deploy_id == deploy_id)
        with self._reading() as conn:
            rows = _rows(conn.execute(q))
        return rows[0] if rows else None

    def latest_deployment(self, endpoint: str, before: dt.datetime | None = None) -> dict[str, Any] | None:
        """The latest deployment of ``endpoint`` deployed at or before ``before`` (default: any time)."""
        q = sa.select(deployments).where(deployments.c.endpoint == endpoint)
        if before is not None:
            q = q.where(deployments.c.deployed_at <= before)
        q = q.order_by(deployments.c.deployed_at.desc(), deployments.c.deploy_id.desc()).limit(1)
        with self._reading() as conn:
            return _one(conn.execute(q))

    def previous_deployment(
        self, endpoint: str, model_version: str, before: dt.datetime
    ) -> dict[str, Any] | None:
        """The latest deployment of ``endpoint`` strictly before ``before`` whose model_version differs.

        "What was serving before this version shipped": pass the new deployment's version and time.
        """
        q = (
            sa.select(deployments)
            .where(
                deployments.c.endpoint == endpoint,
                deployments.c.model_version != model_version,
                deployments.c.deployed_at < before,
            )
            .order_by(deployments.c.deployed_at.desc(), deployments.c.deploy_id.desc())
            .limit(1)
        )
        with self._reading() as conn:
            return _one(conn.execute(q))

    # -- eval runs ---------------------------------------------------------------------------------------

    def start_eval_run(self, run: dict[str, Any], *, clear_staging: bool = False) -> dict[str, Any]:
        """Create or reset the eval run ``run["run_key"]`` as running; returns the row.

        Every column not given is reset to null (metrics, verdict, error), and the run's old results and
        summaries are deleted in the same transaction, so a retried or cleared run starts from the same
        state. Staged call results are kept (a resumed run skips the calls already made) unless
        ``clear_staging``. ``started_at`` defaults to now; status may only be "running", error and
        finished_at only None.
        """
        run_key = run.get("run_key")
        if not isinstance(run_key, str) or not run_key:
            raise WarehouseError(f"start_eval_run: run_key must be a non-empty string, got {run_key!r}")
        what = f"start_eval_run({run_key!r})"
        # Giving the values start sets anyway (status "running", no error, no finish) is harmless.
        settled = [k for k in _RUN_LIFECYCLE if k in run and run[k] != ("running" if k == "status" else None)]
        _check_columns(eval_runs, run, what, exclude=settled)
        row = dict.fromkeys(eval_runs.c.keys())
        row.update(run)
        row.update(status="running", started_at=run.get("started_at") or _now())
        with self.engine.begin() as conn:
            upsert(conn, eval_runs, [row], ["run_key"])
            conn.execute(sa.delete(eval_results).where(eval_results.c.run_key == run_key))
            conn.execute(sa.delete(eval_summaries).where(eval_summaries.c.run_key == run_key))
            if clear_staging:
                conn.execute(sa.delete(eval_staging).where(eval_staging.c.run_key == run_key))
            return _one(conn.execute(sa.select(eval_runs).where(eval_runs.c.run_key == run_key)))

    def fail_eval_run(
        self, run_key: str, error: str, *, finished_at: dt.datetime | None = None, **known: Any
    ) -> None:
        """Mark the run failed with ``error``. Creates the row from ``known`` columns when it does not exist
        (a run can fail before it started, e.g. on invalid run conf); other stored columns are kept."""
        what = f"fail_eval_run({run_key!r})"
        _check_columns(eval_runs, known, what, exclude=("run_key", *_RUN_LIFECYCLE))
        row = {**known, "run_key": run_key, "status": "failed", "error": error, "finished_at": finished_at or _now()}
        with self.engine.begin() as conn:
            upsert(conn, eval_runs, [row], ["run_key"])

    def get_eval_run(self, run_key: str) -> dict[str, Any] | None:
        """The eval_runs row of ``run_key``, or None."""
        with self._reading() as conn:
            return _one(conn.execute(sa.select(eval_runs).where(eval_runs.c.run_key == run_key)))

    def _last_success(self, *conditions: sa.ColumnElement[bool], before: dt.datetime) -> dict[str, Any] | None:
        c = eval_runs.c
        q = (
            sa.select(eval_runs)
            .where(c.status == "success", c.finished_at < before, *conditions)
            .order_by(c.finished_at.desc(), c.run_key.desc())
            .limit(1)
        )
        with self._reading() as conn:
            return _one(conn.execute(q))

    def find_baseline_run(
        self,
        suite_version: str,
        endpoint: str,
        model_version: str,
        before: dt.datetime,
        *,
        suite: str | None = None,
    ) -> dict[str, Any] | None:
        """The last successful run of ``suite_version`` on ``endpoint`` with ``model_version``, finished
        strictly before ``before`` (ties broken by the highest run_key); optionally restricted to ``suite``."""
        c = eval_runs.c
        conditions = [c.suite_version == suite_version, c.endpoint == endpoint, c.model_version == model_version]
        if suite is not None:
            conditions.append(c.suite == suite)
        return self._last_success(*conditions, before=before)

    def find_latest_other_version_run(
        self,
        suite_version: str,
        endpoint: str,
        model_version: str,
        before: dt.datetime,
        *,
        suite: str | None = None,
    ) -> dict[str, Any] | None:
        """Like :meth:`find_baseline_run`, but the run's model_version must *differ* from ``model_version``:
        the stand-in baseline when no earlier deployment of the endpoint is recorded."""
        c = eval_runs.c
        conditions = [c.suite_version == suite_version, c.endpoint == endpoint, c.model_version != model_version]
        if suite is not None:
            conditions.append(c.suite == suite)
        return self._last_success(*conditions, before=before)

    def find_baseline_runs(
        self,
        suite_version: str,
        endpoint: str,
        model_version: str,
        before: dt.datetime,
        *,
        limit: int,
        suite: str | None = None,
    ) -> list[dict[str, Any]]:
        """The last ``limit`` successful runs matching like :meth:`find_baseline_run`, most recent first (the
        first one is :meth:`find_baseline_run`'s); fewer when fewer exist. A pooled baseline is made of these."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise WarehouseError(f"find_baseline_runs: limit must be a positive integer, got {limit!r}")
        c = eval_runs.c
        conditions = [c.suite_version == suite_version, c.endpoint == endpoint, c.model_version == model_version]
        if suite is not None:
            conditions.append(c.suite == suite)
        q = (
            sa.select(eval_runs)
            .where(c.status == "success", c.finished_at < before, *conditions)
            .order_by(c.finished_at.desc(), c.run_key.desc())
            .limit(limit)
        )
        with self._reading() as conn:
            return _rows(conn.execute(q))

    def find_latest_other_version_runs(
        self,
        suite_version: str,
        endpoint: str,
        model_version: str,
        before: dt.datetime,
        *,
        limit: int,
        suite: str | None = None,
    ) -> list[dict[str, Any]]:
        """The stand-in pooled baseline: the last ``limit`` successful runs (most recent first) of the model
        version of :meth:`find_latest_other_version_run`'s run — one version, never a mix of versions."""
        latest = self.find_latest_other_version_run(suite_version, endpoint, model_version, before, suite=suite)
        if latest is None:
            return []
        return self.find_baseline_runs(suite_version, endpoint, latest["model_version"], before, limit=limit,
                                       suite=suite)

    def latest_eval_runs(
        self, limit: int = 10, *, deploy_id: str | None = None, endpoint: str | None = None
    ) -> list[dict[str, Any]]:
        """The ``limit`` most recently started eval runs (any status), newest first; optionally only those
        of one deployment or endpoint. A run that failed before it started counts from its finish time."""
        c = eval_runs.c
        q = sa.select(eval_runs)
        if deploy_id is not None:
            q = q.where(c.deploy_id == deploy_id)
        if endpoint is not None:
            q = q.where(c.endpoint == endpoint)
        started = sa.func.coalesce(c.started_at, c.finished_at)
        q = q.order_by(started.desc().nulls_last(), c.run_key.desc()).limit(limit)
        with self._reading() as conn:
            return _rows(conn.execute(q))

    def set_verdict(
        self, run_key: str, baseline_run_key: str | None, verdict: str, details: dict[str, Any] | None
    ) -> None:
        """Store the comparison of ``run_key`` with its baseline (overwrites an earlier verdict)."""
        stmt = (
            sa.update(eval_runs)
            .where(eval_runs.c.run_key == run_key)
            .values(baseline_run_key=baseline_run_key, verdict=verdict, verdict_details=details)
        )
        with self.engine.begin() as conn:
            if conn.execute(stmt).rowcount == 0:
                raise WarehouseError(f"set_verdict: no eval_runs row for run_key {run_key!r}")

    # -- staging -----------------------------------------------------------------------------------------

    def write_staging(self, run_key: str, shard: int, results: Sequence[dict[str, Any]]) -> int:
        """Stage call results (``CallResult.to_dict()``) of one shard, upserted by their ``key``.

        One batch statement; returns the number of rows written.
        """
        now = _now()
        rows = []
        for i, result in enumerate(results):
            key = result.get("key")
            if not isinstance(key, str) or not key:
                raise WarehouseError(f"write_staging({run_key!r}, shard {shard}): result {i} has no 'key'")
            rows.append(
                {"run_key": run_key, "request_key": key, "shard": shard, "payload": dict(result), "written_at": now}
            )
        with self.engine.begin() as conn:
            return upsert(conn, eval_staging, rows, ["run_key", "request_key"])

    def staged_keys(self, run_key: str) -> set[str]:
        """Request keys already staged for ``run_key`` (a resumed shard skips them)."""
        q = sa.select(eval_staging.c.request_key).where(eval_staging.c.run_key == run_key)
        with self._reading() as conn:
            return set(conn.execute(q).scalars())

    def read_staging(self, run_key: str) -> list[dict[str, Any]]:
        """Staged call results of ``run_key``, ordered by shard and request key."""
        q = (
            sa.select(eval_staging.c.payload)
            .where(eval_staging.c.run_key == run_key)
            .order_by(eval_staging.c.shard, eval_staging.c.request_key)
        )
        with self._reading() as conn:
            return list(conn.execute(q).scalars())

    # -- results -----------------------------------------------------------------------------------------

    def write_eval_results(
        self,
        run_key: str,
        results: Sequence[dict[str, Any]],
        summaries: Sequence[dict[str, Any]],
        run_update: dict[str, Any],
    ) -> None:
        """Land a run's results in ONE transaction: replace its eval_results and eval_summaries rows, set the
        eval_runs row from ``run_update`` with status success, and delete its staging rows.

        Any error (a constraint, a missing run) rolls everything back: no partial rows, the run not success.
        ``finished_at`` defaults to now.
        """
        what = f"write_eval_results({run_key!r})"
        _check_columns(eval_runs, run_update, what, exclude=("run_key", "status", "error"))
        result_rows = _rows_for_run(eval_results, run_key, results, f"{what} results")
        summary_rows = _rows_for_run(eval_summaries, run_key, summaries, f"{what} summaries")
        values = {k: plain(v) for k, v in run_update.items()}
        values.update(status="success", error=None)
        values.setdefault("finished_at", _now())
        with self.engine.begin() as conn:
            updated = conn.execute(sa.update(eval_runs).where(eval_runs.c.run_key == run_key).values(values))
            if updated.rowcount == 0:
                raise WarehouseError(f"{what}: no eval_runs row; call start_eval_run first")
            conn.execute(sa.delete(eval_results).where(eval_results.c.run_key == run_key))
            conn.execute(sa.delete(eval_summaries).where(eval_summaries.c.run_key == run_key))
            if result_rows:
                conn.execute(sa.insert(eval_results), result_rows)
            if summary_rows:
                conn.execute(sa.insert(eval_summaries), summary_rows)
            conn.execute(sa.delete(eval_staging).where(eval_staging.c.run_key == run_key))

    def eval_results(self, run_key: str) -> list[dict[str, Any]]:
        """The eval_results rows of ``run_key``, ordered by example id and trial."""
        q = (
            sa.select(eval_results)
            .where(eval_results.c.run_key == run_key)
            .order_by(eval_results.c.example_id, eval_results.c.trial)
        )
        with self._reading() as conn:
            return _rows(conn.execute(q))

    def eval_summaries(self, run_key: str) -> list[dict[str, Any]]:
        """The eval_summaries rows of ``run_key``: overall first, then intents, then task types, by value."""
        c = eval_summaries.c
        dimension_order = sa.case({"overall": 0, "intent": 1, "task_type": 2}, value=c.dimension, else_=3)
        q = sa.select(eval_summaries).where(c.run_key == run_key).order_by(dimension_order, c.value)
        with self._reading() as conn:
            return _rows(conn.execute(q))

    # -- alerts ------------------------------------------------------------------------------------------
    # The rule engine (llmmon.alerts.engine) decides; these methods only read and write its three tables.

    def select_rows(self, query: sa.Select) -> list[dict[str, Any]]:
        """The rows of a read-only ``query`` as dicts (the alert engine's metric series are such queries)."""
        with self._reading() as conn:
            return _rows(conn.execute(query))

    def latest_alerts(self, rule: str) -> dict[str, dict[str, Any]]:
        """The latest episode of each condition of ``rule``, keyed by ``dedup_key`` (latest: last started)."""
        c = alerts.c
        rank = (
            sa.func.row_number()
            .over(partition_by=c.dedup_key, order_by=(c.started_at.desc(), c.alert_id.desc()))
            .label("_rank")
        )
        inner = sa.select(alerts, rank).where(c.rule == rule).subquery()
        q = sa.select(*(inner.c[name] for name in alerts.c.keys())).where(inner.c._rank == 1)
        with self._reading() as conn:
            return {row["dedup_key"]: row for row in _rows(conn.execute(q))}

    def write_alert_changes(
        self,
        alert_rows: Sequence[dict[str, Any]],
        events: Sequence[dict[str, Any]] = (),
        deliveries: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Persist one evaluation in ONE transaction: upsert ``alert_rows`` by alert_id, insert ``events`` and
        queued ``deliveries`` whose ids are new (an id already stored is left as it is).

        Queuing a notification in the same transaction as the transition that caused it is what makes
        delivery loss-free: a crash after the commit leaves the delivery pending for the next evaluation.
        """
        for i, row in enumerate(alert_rows):
            if not row.get("alert_id"):
                raise WarehouseError(f"write_alert_changes: alert row {i} has no alert_id")
        with self.engine.begin() as conn:
            upsert(conn, alerts, alert_rows, ["alert_id"])
            upsert(conn, alert_events, events, ["event_id"], preserve=[c for c in alert_events.c.keys()
                                                                         if c != "event_id"])
            upsert(conn, alert_deliveries, deliveries, ["delivery_id"],
                   preserve=[c for c in alert_deliveries.c.keys() if c != "delivery_id"])

    def undelivered(self) -> list[dict[str, Any]]:
        """Deliveries not sent yet (pending, failed or not_configured), oldest notification first."""
        c = alert_deliveries.c
        q = (
            sa.select(alert_deliveries)
            .where(c.status.in_(RETRY_STATUSES))
            .order_by(c.queued_at, c.alert_id, c.seq, c.route)
        )
        with self._reading() as conn:
            return _rows(conn.execute(q))

    def claim_delivery(self, delivery_id: str, tries: int, at: dt.datetime) -> bool:
        """Take the delivery for one try: count the try, if no one else tried since ``tries`` was read.

        Optimistic: of two evaluations racing for the same delivery only one claims it, and a process that
        dies after claiming leaves the delivery retryable (its status is unchanged).
        """
        c = alert_deliveries.c
        stmt = (
            sa.update(alert_deliveries)
            .where(c.delivery_id == delivery_id, c.tries == tries, c.status.in_(RETRY_STATUSES))
            .values(tries=c.tries + 1, last_try_at=at)
        )
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def finish_delivery(
        self, delivery_id: str, status: str, *, attempts: int, error: str | None, at: dt.datetime
    ) -> None:
        """Record the outcome of a try: status (sent, failed, not_configured, superseded), attempts added."""
        if status not in DELIVERY_STATUSES or status == "pending":
            raise WarehouseError(
                f"finish_delivery({delivery_id!r}): status {status!r} is not one of "
                f"{', '.join(s for s in DELIVERY_STATUSES if s != 'pending')}"
            )
        c = alert_deliveries.c
        values: dict[str, Any] = {"status": status, "attempts": c.attempts + attempts, "error": error}
        if status == "sent":
            values.update(sent_at=at, error=None)
        with self.engine.begin() as conn:
            if conn.execute(sa.update(alert_deliveries).where(c.delivery_id == delivery_id).values(values)).rowcount == 0:
                raise WarehouseError(f"finish_delivery: no delivery with delivery_id {delivery_id!r}")

    def get_alert(self, alert_id: str) -> dict[str, Any] | None:
        """The alerts row of ``alert_id``, or None."""
        with self._reading() as conn:
            return _one(conn.execute(sa.select(alerts).where(alerts.c.alert_id == alert_id)))

    def get_alerts(self, alert_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The alerts rows of ``alert_ids`` that exist, keyed by alert_id."""
        if not alert_ids:
            return {}
        with self._reading() as conn:
            rows = _rows(conn.execute(sa.select(alerts).where(alerts.c.alert_id.in_(sorted(set(alert_ids))))))
        return {r["alert_id"]: r for r in rows}

    def open_alerts(self) -> list[dict[str, Any]]:
        """Alerts pending or firing: firing first, then by severity (critical first) and start time."""
        c = alerts.c
        state_order = sa.case({"firing": 0, "pending": 1}, value=c.state, else_=2)
        severity_order = sa.case({"critical": 0, "warning": 1, "info": 2}, value=c.severity, else_=3)
        q = (
            sa.select(alerts)
            .where(c.state.in_(("pending", "firing")))
            .order_by(state_order, severity_order, c.started_at, c.alert_id)
        )
        with self._reading() as conn:
            return _rows(conn.execute(q))

    def alert_events(self, alert_id: str) -> list[dict[str, Any]]:
        """The transitions of ``alert_id`` in time order."""
        c = alert_events.c
        order = sa.case({"pending": 0, "firing": 1, "inactive": 2, "resolved": 2}, value=c.to_state, else_=3)
        q = sa.select(alert_events).where(c.alert_id == alert_id).order_by(c.at, order, c.event_id)
        with self._reading() as conn:
            return _rows(conn.execute(q))

    def alert_deliveries(self, alert_id: str) -> list[dict[str, Any]]:
        """The notifications of ``alert_id`` and their delivery state, by notification number and route."""
        c = alert_deliveries.c
        q = sa.select(alert_deliveries).where(c.alert_id == alert_id).order_by(c.seq, c.route)
        with self._reading() as conn:
            return _rows(conn.execute(q))

    def alerts_for_point(self, point_id: str) -> list[dict[str, Any]]:
        """Alerts that changed state at series point ``point_id`` (for run series: the alerts a run moved)."""
        moved = sa.select(alert_events.c.alert_id).where(alert_events.c.point_id == point_id)
        q = sa.select(alerts).where(alerts.c.alert_id.in_(moved)).order_by(alerts.c.started_at, alerts.c.alert_id)
        with self._reading() as conn:
            return _rows(conn.execute(q))
