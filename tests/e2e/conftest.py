"""Shared by the end-to-end DAG tests: one Airflow metadata database per test session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """`airflow db migrate` on the session's temporary AIRFLOW_HOME (tests/conftest.py), once for every e2e module."""
    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], check=True,
                   capture_output=True, env=os.environ.copy())
