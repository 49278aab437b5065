"""Shared test setup. Airflow reads its environment at import, so it is set here before any test imports it."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="llmmon-test-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "LLMMON_HOME": str(ROOT),
    }
)
os.environ.pop("LLMMON_CONFIG", None)


# --- Warehouse fixtures: a fresh, empty warehouse on SQLite and on the real PostgreSQL, per test. ---------------
# PostgreSQL: one database ``llmmon_test_<random>`` per session (server from LLMMON_TEST_PG_URL, default
# postgresql+psycopg2://postgres@127.0.0.1:5432/test), dropped at the end; each test gets an empty ``public`` schema.
# An unreachable server FAILS the PostgreSQL tests (a silently skipped database test hides bugs);
# ``pytest -m "not postgres"`` leaves them out on purpose.
import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

PG_URL_ENV = "LLMMON_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"

def _admin_engine(url: sa.URL) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 5})


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """URL of a PostgreSQL database created for this test session (dropped at the end)."""
    server_url = sa.make_url(os.environ.get(PG_URL_ENV, DEFAULT_PG_URL))
    admin = _admin_engine(server_url)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is not reachable at {server_url.render_as_string(hide_password=True)}: "
            f"{str(exc.orig).strip()}\nStart it (CI's .ci/run does), set {PG_URL_ENV}, "
            "or leave these tests out with: pytest -m 'not postgres'",
            pytrace=False,
        )
    name = f"llmmon_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = _admin_engine(sa.make_url(url))
    with engine.connect() as conn:
        # Connections a previous test left open would block DROP SCHEMA.
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def warehouse_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """URL of an empty warehouse database: a SQLite file in tmp_path, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    url = request.getfixturevalue("postgres_database_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def warehouse(warehouse_url: str):
    """An upgraded ``Warehouse`` on ``warehouse_url``, disposed after the test."""
    from llmmon.warehouse import Warehouse

    wh = Warehouse(warehouse_url)
    wh.upgrade()
    yield wh
    wh.dispose()


# --- The demo model server (real HTTP on 127.0.0.1) and settings pointing at it. --------------------------------


@pytest.fixture(scope="session")
def demo_server():
    """The project's demo model server on a free port, answering the real golden sets, fast timings."""
    from llmmon.demo.server import DemoServer, DemoServerConfig

    with DemoServer(DemoServerConfig(port=0, golden_sets_dir=ROOT / "golden_sets", ttft_ms=5, latency_ms=15,
                                     jitter_ms=0)) as server:
        yield server


@pytest.fixture
def make_settings(demo_server):
    """Build Settings from the embedded defaults, pointed at the demo server and a given warehouse URL."""
    from llmmon.config import DEFAULTS_PATH, load_settings

    def make(warehouse_url: str, **env: str):
        base = {"LLMMON_HOME": str(ROOT), "LLMMON_DEMO_URL": demo_server.base_url,
                "LLMMON_WAREHOUSE_URL": warehouse_url}
        return load_settings(DEFAULTS_PATH, env={**base, **env})

    return make
