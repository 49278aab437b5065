"""Warehouse tables of the judge capability (issue 4), on llmmon's one MetaData."""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401

from llmmon.warehouse.schema import KEY, UTCDateTime, metadata  # noqa: F401

JUDGE_TABLES: tuple[sa.Table, ...] = ()
