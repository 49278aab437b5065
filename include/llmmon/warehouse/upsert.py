"""Dialect-aware bulk upsert: write rows keyed on some columns so that writing them again converges.

SQLite and PostgreSQL get one ``INSERT .. ON CONFLICT (keys) DO UPDATE`` executed as a batch. Other dialects
get a portable fallback with the same meaning: update the rows whose keys exist, insert the others (a plain
delete-then-insert would reset the columns a caller asked to preserve, so it would not mean the same thing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from llmmon.warehouse.schema import WarehouseError

NATIVE_DIALECTS = ("sqlite", "postgresql")
_FALLBACK_CHUNK = 500  # keys per SELECT .. IN (..): far below every dialect's bound-parameter limit


def plain(value: Any) -> Any:
    """``value`` with numpy scalars turned into Python ones (DB drivers cannot adapt ``numpy.int64``)."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    return value


def normalize_rows(table: sa.Table, rows: Iterable[dict[str, Any]], what: str | None = None) -> list[dict[str, Any]]:
    """Rows as dicts with the same keys (the union of all rows' keys; a missing value is None).

    A batch ``executemany`` needs every row to bind the same columns. Unknown keys are an error naming the
    row and the key: a misspelt column would otherwise vanish silently.
    """
    what = what or table.name
    out: list[dict[str, Any]] = []
    keys: dict[str, None] = {}
    for i, row in enumerate(rows):
        unknown = [k for k in row if k not in table.c]
        if unknown:
            raise WarehouseError(
                f"{what}: row {i} has unknown column(s) {', '.join(map(repr, unknown))}; "
                f"{table.name} columns are: {', '.join(table.c.keys())}"
            )
        out.append({k: plain(v) for k, v in row.items()})
        keys.update(dict.fromkeys(row))
    return [{k: row.get(k) for k in keys} for row in out]


def _dedupe(rows: list[dict[str, Any]], key_columns: Sequence[str], what: str) -> list[dict[str, Any]]:
    # The last row for a key wins, as if the rows were written one after another. PostgreSQL refuses one
    # statement that hits the same row twice ("ON CONFLICT DO UPDATE command cannot affect row a second time").
    by_key: dict[tuple, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        key = tuple(row.get(k) for k in key_columns)
        if any(v is None for v in key):
            raise WarehouseError(f"{what}: row {i} has no value for key column(s) {list(key_columns)}")
        by_key[key] = row
    return list(by_key.values())


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: Iterable[dict[str, Any]],
    key_columns: Sequence[str],
    *,
    preserve: Sequence[str] = (),
) -> int:
    """Insert ``rows`` into ``table``, or update the existing rows with the same ``key_columns``.

    On update, the columns present in the rows are overwritten except those in ``preserve`` (written on
    insert only, e.g. a first-seen timestamp); columns absent from the rows keep their stored values.
    Rows repeating a key within the batch collapse to the last one. Runs inside the caller's transaction;
    returns the number of distinct rows written.
    """
    what = f"upsert into {table.name}"
    for col in (*key_columns, *preserve):
        if col not in table.c:
            raise WarehouseError(f"{what}: {col!r} is not a column of {table.name}")
    batch = _dedupe(normalize_rows(table, rows, what), key_columns, what)
    if not batch:
        return 0
    missing = [k for k in key_columns if k not in batch[0]]
    if missing:
        raise WarehouseError(f"{what}: rows lack key column(s) {missing}")
    update_columns = [c for c in batch[0] if c not in key_columns and c not in preserve]
    if conn.dialect.name in NATIVE_DIALECTS:
        _on_conflict(conn, table, batch, key_columns, update_columns)
    else:
        update_then_insert(conn, table, batch, key_columns, update_columns)
    return len(batch)


def _on_conflict(
    conn: Connection,
    table: sa.Table,
    rows: list[dict[str, Any]],
    key_columns: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(table)
    if update_columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key_columns),
            set_={c: stmt.excluded[c] for c in update_columns},
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key_columns))
    conn.execute(stmt, rows)


def update_then_insert(
    conn: Connection,
    table: sa.Table,
    rows: list[dict[str, Any]],
    key_columns: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    """The portable upsert: find which keys exist, batch-update those rows, batch-insert the rest.

    Public so tests can run it on SQLite and PostgreSQL. Not safe against a concurrent insert of the same
    key between the SELECT and the INSERT: that transaction fails with an integrity error and a retry
    converges.
    """
    key_cols = [table.c[k] for k in key_columns]
    existing: set[tuple] = set()
    for start in range(0, len(rows), _FALLBACK_CHUNK):
        chunk = rows[start : start + _FALLBACK_CHUNK]
        if len(key_cols) == 1:
            cond = key_cols[0].in_([r[key_columns[0]] for r in chunk])
        else:
            cond = sa.or_(*(sa.and_(*(c == r[c.key] for c in key_cols)) for r in chunk))
        existing.update(tuple(r) for r in conn.execute(sa.select(*key_cols).where(cond)))
    to_update = [r for r in rows if tuple(r[k] for k in key_columns) in existing]
    to_insert = [r for r in rows if tuple(r[k] for k in key_columns) not in existing]
    if to_update and update_columns:
        # Bind names must differ from column names in an executemany UPDATE.
        stmt = (
            table.update()
            .where(sa.and_(*(c == sa.bindparam(f"_key_{c.key}") for c in key_cols)))
            .values({c: sa.bindparam(f"_val_{c}") for c in update_columns})
        )
        params = [
            {**{f"_key_{k}": r[k] for k in key_columns}, **{f"_val_{c}": r[c] for c in update_columns}}
            for r in to_update
        ]
        conn.execute(stmt, params)
    if to_insert:
        conn.execute(table.insert(), to_insert)
