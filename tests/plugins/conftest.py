"""Importing Airflow puts its plugins folder (this project's plugins/, set in tests/conftest.py) on sys.path,
exactly as in a worker or the triggerer."""

import airflow  # noqa: F401
