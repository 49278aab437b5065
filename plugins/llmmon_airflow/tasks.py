"""Helpers shared by llmmon's DAG tasks: settings, warehouse, and turning bad input into a recorded failure."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger("llmmon.airflow")


def settings_and_warehouse():
    """Load the configuration (``LLMMON_CONFIG`` or the embedded defaults) and open the warehouse."""
    from llmmon.config import load_settings
    from llmmon.warehouse import Warehouse

    settings = load_settings()
    return settings, Warehouse(settings.warehouse.url)


def run_key_from_context(context: dict[str, Any]) -> str:
    from llmmon.golden_eval import run_key_for

    return run_key_for(context["dag"].dag_id, context["run_id"])


@contextlib.contextmanager
def bad_input_fails_run(warehouse, run_key: str, **known: Any) -> Iterator[None]:
    """Bad configuration, golden set, run conf or an unreachable endpoint: record the run as failed with the
    reason and fail the task without retries (retrying cannot fix input). Other errors propagate and retry."""
    from airflow.sdk.exceptions import AirflowFailException

    from llmmon.errors import LlmmonError

    try:
        yield
    except LlmmonError as exc:
        log.error("%s", exc)
        try:
            warehouse.fail_eval_run(run_key, f"{type(exc).__name__}: {exc}", **known)
        except Exception:  # recording is best effort; the task fails with the real reason either way
            log.exception("could not record the failure of %s in the warehouse", run_key)
        raise AirflowFailException(str(exc)) from exc


def record_failure_callback(context: dict[str, Any]) -> None:
    """on_failure_callback: a task that failed for good (retries exhausted) marks its running eval run failed."""
    try:
        settings, warehouse = settings_and_warehouse()
        run_key = run_key_from_context(context)
        exc = context.get("exception")
        ti = context.get("task_instance") or context.get("ti")
        where = getattr(ti, "task_id", "?")
        row = warehouse.get_eval_run(run_key)
        # a scored run stays scored: a later step failing (compare, alert) does not void its results
        if row is None or row["status"] == "running":
            warehouse.fail_eval_run(run_key, f"task {where} failed: {type(exc).__name__ if exc else 'error'}: {exc}")
    except Exception:  # a callback must never raise; observability degrades, it does not fail
        log.exception("llmmon failure callback could not record the failure")
