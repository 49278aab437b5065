"""Tests of llmmon.warehouse on SQLite and PostgreSQL; shared helpers live here, fixtures in conftest.py."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def hours(n: float) -> dt.datetime:
    """T0 plus ``n`` hours: fixtures read better as offsets from one instant."""
    return T0 + dt.timedelta(hours=n)


def table_rows(wh, table: sa.Table) -> list[dict]:
    """Every row of ``table``, ordered by primary key: what convergence tests compare."""
    with wh.engine.connect() as conn:
        result = conn.execute(sa.select(table).order_by(*table.primary_key.columns))
        return [dict(r._mapping) for r in result]
