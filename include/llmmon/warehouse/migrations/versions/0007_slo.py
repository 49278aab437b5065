"""Tables of the slo capability.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

Frozen copy of schema_slo.py at the time (revisions never import llmmon). Timestamps are
DateTime(timezone=True) (schema.UTCDateTime's storage).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401 (used once the tables are declared)
from alembic import op  # noqa: F401

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
