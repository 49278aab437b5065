"""Tables of the slo capability, on the shared MetaData (see schema.py); created by their own Alembic revision."""

from __future__ import annotations

import sqlalchemy as sa

SLO_TABLES: tuple[sa.Table, ...] = ()
