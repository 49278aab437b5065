"""Tables of the retrieval capability.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

Frozen copy of schema_retrieval.py at the time (revisions never import llmmon). Timestamps are
DateTime(timezone=True) (schema.UTCDateTime's storage).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401 (used once the tables are declared)
from alembic import op  # noqa: F401

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
