"""Warehouse tables of the traffic capability (issue 4), on llmmon's one MetaData."""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401

from llmmon.warehouse.schema import KEY, UTCDateTime, metadata  # noqa: F401

TRAFFIC_TABLES: tuple[sa.Table, ...] = ()
