"""Migrations: upgrade creates the schema once, records the revision, matches schema.py, runs concurrently."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from llmmon.warehouse import Warehouse, migrate
from llmmon.warehouse.schema import TABLES, metadata

HEAD = "0008"  # the latest revision: bump when a revision is added

TABLE_NAMES = {t.name for t in TABLES}


def _table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_creates_every_table_and_records_the_head_revision(warehouse_url):
    with Warehouse(warehouse_url) as wh:
        assert wh.current_revision() is None
        assert _table_names(wh.engine) == set()

        assert wh.upgrade() == HEAD

        assert migrate.head_revision() == HEAD
        assert wh.current_revision() == HEAD
        assert migrate.current_revision(warehouse_url) == HEAD
        # Our own version table, so a user's Alembic in the same database is left alone.
        assert _table_names(wh.engine) == TABLE_NAMES | {"llmmon_alembic_version"}


def test_second_upgrade_changes_nothing(warehouse):
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.strip().split()[0].upper())

    sa.event.listen(warehouse.engine, "before_cursor_execute", record)
    assert warehouse.upgrade() == HEAD
    sa.event.remove(warehouse.engine, "before_cursor_execute", record)

    assert statements, "the second upgrade should at least read the version table"
    writes = {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE"}
    assert [s for s in statements if s in writes] == []
    assert _table_names(warehouse.engine) == TABLE_NAMES | {"llmmon_alembic_version"}


def test_migrated_schema_matches_schema_py(warehouse):
    # A change to schema.py without a revision (or the reverse) shows up here as a difference.
    with warehouse.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"version_table": migrate.VERSION_TABLE, "compare_type": True}
        )
        diffs = compare_metadata(ctx, metadata)
    assert diffs == []


def test_migrated_tables_carry_their_comments_on_postgresql(warehouse):
    if warehouse.engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores no comments; test_docs checks them against schema.py")
    inspector = sa.inspect(warehouse.engine)
    for table in TABLES:
        assert inspector.get_table_comment(table.name)["text"] == table.comment
        stored = {c["name"]: c["comment"] for c in inspector.get_columns(table.name)}
        assert stored == {c.name: c.comment for c in table.columns}


def test_downgrade_to_base_then_upgrade_again(warehouse):
    assert migrate.downgrade(warehouse.engine, "base") is None
    assert _table_names(warehouse.engine) == {"llmmon_alembic_version"}
    assert warehouse.upgrade() == HEAD
    assert _table_names(warehouse.engine) == TABLE_NAMES | {"llmmon_alembic_version"}


def test_two_processes_upgrading_at_once_both_succeed(warehouse_url):
    code = "import sys; from llmmon.warehouse.migrate import upgrade; print(upgrade(sys.argv[1]))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, warehouse_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert out.strip() == HEAD
    assert migrate.current_revision(warehouse_url) == HEAD


def test_revision_autogenerates_a_numbered_empty_revision_when_schema_is_unchanged(
    warehouse, tmp_path, monkeypatch
):
    # Work on a copy of the migrations so the test never writes into the package.
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)

    path = migrate.revision(warehouse.engine, "nothing changed")

    nxt = f"{int(HEAD) + 1:04d}"
    assert path == copy / "versions" / f"{nxt}_nothing_changed.py"
    text = path.read_text()
    assert f'revision: str = "{nxt}"' in text or f"revision: str = '{nxt}'" in text
    assert f"down_revision: str | Sequence[str] | None = '{HEAD}'" in text
    body = text.split("def upgrade() -> None:")[1]
    assert "op." not in body  # nothing to migrate: upgrade and downgrade are just `pass`


def test_command_line_reports_the_current_revision(warehouse_url, capsys):
    assert migrate.main(["current", "--url", warehouse_url]) == 0
    assert capsys.readouterr().out.strip() == "(none)"
    assert migrate.main(["upgrade", "--url", warehouse_url]) == 0
    assert migrate.main(["current", "--url", warehouse_url]) == 0
    assert capsys.readouterr().out.split() == [HEAD, HEAD]
