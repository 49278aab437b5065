"""Airflow-level failures reach the configured routes: the task/DAG failure notifier and the deadline callback.

Real HTTP: the default config's `webhook` route posts to a local receiver. The Airflow context is a plain dict, as
Airflow hands it to callbacks (the boundary); the notifier's own code and the route are real.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from llmmon.demo.runner import WebhookReceiver


@pytest.fixture()
def receiver(monkeypatch):
    with WebhookReceiver() as r:
        monkeypatch.setenv("LLMMON_ALERT_WEBHOOK_URL", r.url)
        yield r


class _Dag:
    dag_id = "golden_eval"


class _TI:
    task_id = "run_shard"


def test_task_failure_notification(receiver):
    from llmmon_airflow.notifiers import LlmmonNotifier

    LlmmonNotifier().notify({"dag": _Dag(), "run_id": "manual__1", "task_instance": _TI(),
                             "exception": RuntimeError("endpoint exploded")})
    [payload] = receiver.received
    assert payload["kind"] == "airflow_failure"
    assert payload["labels"] == {"dag_id": "golden_eval", "run_id": "manual__1", "task_id": "run_shard"}
    assert "task run_shard of golden_eval failed" in payload["summary"]
    assert "RuntimeError: endpoint exploded" in payload["description"]


def test_notifier_never_raises_when_the_route_is_down(monkeypatch):
    from llmmon_airflow.notifiers import LlmmonNotifier

    monkeypatch.setenv("LLMMON_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")  # nothing listens on port 9
    LlmmonNotifier().notify({"dag": _Dag(), "run_id": "r", "exception": None})  # no exception escapes


def test_deadline_missed_callback(receiver):
    from llmmon_airflow.notifiers import deadline_missed

    out = asyncio.run(deadline_missed(dag_id="golden_eval", deadline="3:00:00", context={"run_id": "scheduled__x"}))
    assert out == "webhook:sent"
    [payload] = receiver.received
    assert payload["kind"] == "deadline_missed"
    assert "golden_eval has not finished within 3:00:00" in payload["summary"]


def test_deadline_interval_parsing(monkeypatch):
    from llmmon_airflow.notifiers import deadline_interval

    monkeypatch.setenv("LLMMON_GOLDEN_EVAL_DEADLINE", "90m")
    assert deadline_interval() == dt.timedelta(minutes=90)
    monkeypatch.setenv("LLMMON_GOLDEN_EVAL_DEADLINE", "off")
    assert deadline_interval() is None
    monkeypatch.setenv("LLMMON_GOLDEN_EVAL_DEADLINE", "soon")
    with pytest.raises(ValueError, match="not a duration"):
        deadline_interval()
