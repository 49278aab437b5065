"""default_args shared by llmmon's DAGs: retries with exponential backoff, and failures that reach people."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from llmmon_airflow.notifiers import LlmmonNotifier


def default_args(*on_failure: Callable[[dict[str, Any]], None], max_retry_delay: timedelta = timedelta(minutes=10)
                 ) -> dict[str, Any]:
    """Retries (2, exponential from 30 s) and ``on_failure`` callbacks followed by llmmon's failure notifier."""
    return {
        "owner": "llmmon",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": max_retry_delay,
        "on_failure_callback": [*on_failure, LlmmonNotifier()],
    }
