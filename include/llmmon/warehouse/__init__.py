"""llmmon's warehouse: SQLAlchemy Core tables, Alembic migrations and idempotent reads and writes.

``Warehouse(url)`` is the entry point; ``schema`` holds the tables; ``migrate`` runs the migrations.
The schema is documented for analysts in docs/warehouse.md.
"""

from llmmon.warehouse.schema import WarehouseError, metadata
from llmmon.warehouse.store import Warehouse, make_engine

__all__ = ["Warehouse", "WarehouseError", "make_engine", "metadata"]
