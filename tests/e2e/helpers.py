"""Helpers of the end-to-end DAG tests: read a warehouse with plain SQL, set environment variables for a while."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa


def rows(url: str, sql: str, **params: Any) -> list[dict]:
    """The rows of ``sql`` on the warehouse at ``url``, as dicts."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


@contextmanager
def environ(**values: str) -> Iterator[None]:
    """Set environment variables (DAG tasks read the llmmon config from them); restore them afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
