"""Alembic environment for the llmmon warehouse, driven by ``llmmon.warehouse.migrate`` (no alembic.ini).

``migrate.py`` opens the connection, takes the migration lock and passes the connection in
``config.attributes["connection"]``; the migrations then run inside that connection's transaction.
Offline mode (``--sql``) renders the SQL for a URL given as the ``sqlalchemy.url`` option.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from llmmon.warehouse.schema import UTCDateTime, metadata

config = context.config
VERSION_TABLE = config.get_main_option("version_table") or "llmmon_alembic_version"


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render llmmon's own column types as plain SQLAlchemy types, so revisions never import llmmon."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": metadata,
        "version_table": VERSION_TABLE,
        "render_item": render_item,
        "compare_type": True,
        # SQLite cannot ALTER most things: autogenerate batch (copy-and-move) operations for it.
        "render_as_batch": dialect_name == "sqlite",
    }


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("offline migrations need the sqlalchemy.url option")
    context.configure(url=url, literal_binds=True, **_options(url.split(":", 1)[0].split("+")[0]))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through llmmon.warehouse.migrate, which supplies the connection")
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
