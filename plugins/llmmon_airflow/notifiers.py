"""Airflow-level failures reach people too: failed tasks and DAG runs, and missed deadlines of the daily eval.

``LlmmonNotifier`` is a BaseNotifier for ``on_failure_callback`` (task or DAG level); ``deadline_missed`` is the
awaitable that Airflow's triggerer runs for a DeadlineAlert (it must be importable there: it lives in plugins/).
Both deliver through the routes named in the configuration's ``airflow_alerts.routes`` and never raise: a
notification problem must not turn into another failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier

log = logging.getLogger("llmmon.airflow.notifiers")

DEADLINE_ENV = "LLMMON_GOLDEN_EVAL_DEADLINE"


def deadline_interval(default: str = "3h") -> dt.timedelta | None:
    """How long after it is queued a golden_eval run must have finished (``LLMMON_GOLDEN_EVAL_DEADLINE``: 90m, 3h).

    ``off`` disables the deadline. ``airflow dags test`` / ``dag.test()`` need that on Airflow 3.3.2: they fail when
    the finished run prunes its deadlines ('dict' object has no attribute 'hex' in DeadlineAlertModel.get_by_id),
    so the demo and the end-to-end tests run with the deadline off; scheduled runs keep it.
    """
    text = os.environ.get(DEADLINE_ENV, default).strip().lower()
    if text in ("off", "none", "0"):
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd])", text)
    if not m:
        raise ValueError(f"{DEADLINE_ENV}={text!r} is not a duration like 90m or 3h (or off)")
    return dt.timedelta(seconds=float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)])


def _deliver(kind: str, summary: str, description: str, labels: dict[str, str]) -> list[Any]:
    from llmmon.alerts.model import Notification
    from llmmon.alerts.routes import build_routes
    from llmmon.config import load_settings
    from llmmon_airflow.connections import airflow_secret_resolver

    settings = load_settings()
    cfg = settings.airflow_alerts
    if not cfg.routes:
        log.info("llmmon: no airflow_alerts.routes configured; not notifying: %s", summary)
        return []
    routes = build_routes([r for r in settings.routes if r.name in cfg.routes], airflow_secret_resolver())
    key = "|".join(f"{k}={labels[k]}" for k in sorted(labels))
    now = dt.datetime.now(dt.UTC)
    notification = Notification(
        kind=kind, alert_id=hashlib.sha256(f"{kind}|{key}".encode()).hexdigest()[:20],
        dedup_key=f"airflow:{kind}:{key}", rule=f"airflow_{kind}", severity=cfg.severity, summary=summary,
        description=description, labels=labels, started_at=now,
    )
    results = [route.deliver(notification) for route in routes.values()]
    for r in results:
        log.log(logging.INFO if r.status == "sent" else logging.ERROR, "llmmon notification via %s: %s (%s attempts)%s",
                r.route, r.status, r.attempts, f": {r.error}" if r.error else "")
    return results


def _context_labels(context: dict[str, Any]) -> dict[str, str]:
    dag = context.get("dag")
    ti = context.get("task_instance") or context.get("ti")
    labels = {"dag_id": getattr(dag, "dag_id", None) or str(context.get("dag_id") or "?"),
              "run_id": str(context.get("run_id") or "?")}
    if ti is not None and getattr(ti, "task_id", None):
        labels["task_id"] = ti.task_id
    return labels


class LlmmonNotifier(BaseNotifier):
    """Send an Airflow failure (task or DAG run) through llmmon's configured routes."""

    template_fields = ()

    def notify(self, context: dict[str, Any]) -> None:
        try:
            labels = _context_labels(context)
            exc = context.get("exception") or context.get("reason")
            what = f"task {labels['task_id']}" if "task_id" in labels else "DAG run"
            summary = f"Airflow {what} of {labels['dag_id']} failed (run {labels['run_id']})"
            reason = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc or "")
            _deliver("airflow_failure", summary, reason[:2000], labels)
        except Exception:  # a notifier must never fail the callback chain
            log.exception("llmmon notifier could not deliver the failure notification")


async def deadline_missed(dag_id: str, deadline: str, context: dict[str, Any] | None = None) -> str:
    """DeadlineAlert callback (runs in the triggerer): the eval did not finish in time."""
    import asyncio

    context = context or {}
    labels = {"dag_id": dag_id, "run_id": str((context.get("dag_run") or {}).get("run_id", "?"))
              if isinstance(context.get("dag_run"), dict) else str(context.get("run_id", "?"))}
    summary = f"{dag_id} has not finished within {deadline} of being queued (run {labels['run_id']})"
    try:
        results = await asyncio.to_thread(
            _deliver, "deadline_missed", summary, "The golden-set eval is late: quality is unmonitored.", labels
        )
    except Exception:
        log.exception("llmmon deadline callback could not deliver")
        return "error"
    return ",".join(f"{r.route}:{r.status}" for r in results) or "no routes"
