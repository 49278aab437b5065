"""Programmatic Alembic for the warehouse: no alembic.ini, the migrations ship inside the package.

``upgrade(url)`` brings a database to the newest revision and is safe to call before every run: when the
database is already there it reads one row and changes nothing. Two processes may call it at once: the whole
upgrade runs in one transaction that first takes a lock (PostgreSQL: a transaction-level advisory lock;
SQLite: ``BEGIN IMMEDIATE``, the database write lock), so the second waits, then finds the head revision
recorded and does nothing. Both dialects have transactional DDL, so a failed migration leaves nothing behind.

The revision is recorded in ``llmmon_alembic_version`` (not Alembic's default ``alembic_version``), so
llmmon can share a database with an application that runs its own Alembic migrations.

Command line, for maintainers (the user-facing command is ``llmmon warehouse upgrade``)::

    python -m llmmon.warehouse.migrate upgrade  --url sqlite:///.llmmon/warehouse.db
    python -m llmmon.warehouse.migrate current  --url ...
    python -m llmmon.warehouse.migrate revision --url ... -m "add slo_windows table"
"""

from __future__ import annotations

import argparse
import threading
import zlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from llmmon.warehouse.store import READ_ONLY, make_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "llmmon_alembic_version"
# Advisory locks are per database; the key only has to differ from other applications' keys.
ADVISORY_LOCK_KEY = zlib.crc32(b"llmmon.warehouse.migrate")

# Alembic keeps the running migration in module-level proxies (alembic.context, alembic.op): two upgrades in
# threads of one process would step on each other, so they take turns.
_PROCESS_LOCK = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged migrations; ``env.py`` uses ``connection`` if given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision shipped with this version of llmmon."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # only possible with an empty versions/ folder, i.e. a broken install
        raise RuntimeError(f"no Alembic revisions found in {MIGRATIONS_DIR / 'versions'}")
    return head


def _with_engine(target: str | Engine):
    """(engine, dispose_after): an engine for ``target``, which is a URL or an engine we must not dispose."""
    if isinstance(target, Engine):
        return target, False
    return make_engine(target), True


def lock_for_migration(conn: Connection) -> None:
    """Serialise migrations across processes for the rest of ``conn``'s transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    # SQLite: engines from make_engine open every write transaction with BEGIN IMMEDIATE, which already
    # holds the database's single write lock. Other dialects: concurrent first upgrades may race; run
    # `llmmon warehouse upgrade` once at install time there.


def upgrade(target: str | Engine, revision: str = "head") -> str | None:
    """Upgrade the warehouse at ``target`` (URL or Engine) to ``revision``; returns the revision now current."""
    engine, dispose = _with_engine(target)
    try:
        with _PROCESS_LOCK, engine.begin() as conn:
            lock_for_migration(conn)
            command.upgrade(alembic_config(conn), revision)
        return current_revision(engine)
    finally:
        if dispose:
            engine.dispose()


def downgrade(target: str | Engine, revision: str) -> str | None:
    """Downgrade the warehouse to ``revision`` (``"base"`` drops every llmmon table). For maintainers."""
    engine, dispose = _with_engine(target)
    try:
        with _PROCESS_LOCK, engine.begin() as conn:
            lock_for_migration(conn)
            command.downgrade(alembic_config(conn), revision)
        return current_revision(engine)
    finally:
        if dispose:
            engine.dispose()


def current_revision(target: str | Engine) -> str | None:
    """The revision recorded in the warehouse, or None when it was never upgraded."""
    engine, dispose = _with_engine(target)
    try:
        with engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return ctx.get_current_revision()
    finally:
        if dispose:
            engine.dispose()


def revision(target: str | Engine, message: str, autogenerate: bool = True) -> Path:
    """Write a new revision file into ``migrations/versions`` (for maintainers; see docs/warehouse.md).

    With ``autogenerate`` the file holds the operations that turn the database at ``target`` (upgrade it
    to head first) into ``schema.metadata``; read and edit it before committing. Revision ids are numbered
    after the current head: 0001, 0002, ...
    """
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    rev_id = f"{int(head or 0) + 1:04d}"
    engine, dispose = _with_engine(target)
    try:
        with _PROCESS_LOCK, engine.connect() as conn:
            script = command.revision(
                alembic_config(conn), message=message, autogenerate=autogenerate, rev_id=rev_id
            )
            conn.commit()
    finally:
        if dispose:
            engine.dispose()
    scripts = script if isinstance(script, list) else [script]
    return Path(scripts[0].path)


def main(argv: list[str] | None = None) -> int:
    """``python -m llmmon.warehouse.migrate {upgrade,current,revision} --url URL``."""
    parser = argparse.ArgumentParser(prog="python -m llmmon.warehouse.migrate", description=main.__doc__)
    parser.add_argument("action", choices=["upgrade", "current", "revision"])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of the warehouse")
    parser.add_argument("-m", "--message", help="revision message (revision only)")
    parser.add_argument("--empty", action="store_true", help="revision without autogenerate")
    args = parser.parse_args(argv)
    if args.action == "upgrade":
        print(upgrade(args.url))
    elif args.action == "current":
        print(current_revision(args.url) or "(none)")
    else:
        if not args.message:
            parser.error("revision needs -m/--message")
        print(revision(args.url, args.message, autogenerate=not args.empty))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
