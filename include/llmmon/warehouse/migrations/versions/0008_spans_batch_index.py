"""Index llm_spans by ingest_batch_id: the SLO job finds the windows an ingestion touched without a table scan.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_llm_spans_ingest_batch_id", "llm_spans", ["ingest_batch_id"])


def downgrade() -> None:
    op.drop_index("ix_llm_spans_ingest_batch_id", table_name="llm_spans")
