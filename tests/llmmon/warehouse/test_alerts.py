"""Alerts: upsert by alert_id that never forgets a notification, notification updates, alerts of a run."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from llmmon.warehouse import WarehouseError
from llmmon.warehouse.schema import alerts

from . import hours, table_rows

RUN = "golden_eval/manual__2026-11-01T09:00:00+00:00"


def _alert(alert_id: str = "al-1", **kw) -> dict:
    return {
        "alert_id": alert_id,
        "dedup_key": "pass_rate_drop/demo/intent:refund",
        "rule": "pass_rate_drop",
        "severity": "critical",
        "status": "firing",
        "source_run_key": RUN,
        "subject": "intent:refund",
        "metric": "pass_rate",
        "value": 0.62,
        "baseline_value": 0.91,
        "threshold": 0.10,
        "message": "refund pass rate fell from 91% to 62%",
        "created_at": hours(1),
        "updated_at": hours(1),
        **kw,
    }


def test_upsert_alert_twice_converges(warehouse):
    row = warehouse.upsert_alert(_alert())
    assert row == {**_alert(), "notified_at": None, "notify_attempts": 0, "notify_status": None,
                   "notify_error": None}
    assert warehouse.upsert_alert(_alert()) == row
    assert table_rows(warehouse, alerts) == [row]


def test_raising_an_alert_again_keeps_created_at_and_notification_state(warehouse):
    warehouse.upsert_alert(_alert())
    warehouse.update_alert_notification("al-1", "sent", None, 1, hours(1.1))

    row = warehouse.upsert_alert(
        _alert(value=0.55, message="refund pass rate fell from 91% to 55%", created_at=hours(2), updated_at=hours(2),
               notify_status=None, notify_attempts=None)
    )

    assert (row["value"], row["message"]) == (0.55, "refund pass rate fell from 91% to 55%")
    assert (row["created_at"], row["updated_at"]) == (hours(1), hours(2))
    assert (row["notify_status"], row["notify_attempts"], row["notified_at"]) == ("sent", 1, hours(1.1))


def test_update_alert_notification(warehouse):
    warehouse.upsert_alert(_alert())
    warehouse.update_alert_notification("al-1", "failed", "HTTP 503 from webhook", 3, hours(1.2))
    [row] = warehouse.alerts_for_run(RUN)
    assert (row["notify_status"], row["notify_error"], row["notify_attempts"], row["notified_at"]) == (
        "failed", "HTTP 503 from webhook", 3, hours(1.2)
    )
    with pytest.raises(WarehouseError, match="status 'delivered' is not one of sent, failed, not_configured"):
        warehouse.update_alert_notification("al-1", "delivered", None, 4, hours(2))
    with pytest.raises(WarehouseError, match="no alert with alert_id 'al-404'"):
        warehouse.update_alert_notification("al-404", "sent", None, 1, hours(2))


def test_alerts_for_run_in_creation_order(warehouse):
    warehouse.upsert_alert(_alert("al-b", created_at=hours(2), updated_at=hours(2)))
    warehouse.upsert_alert(_alert("al-c", created_at=hours(1), updated_at=hours(1)))
    warehouse.upsert_alert(_alert("al-a", created_at=hours(2), updated_at=hours(2)))
    warehouse.upsert_alert(_alert("al-other", source_run_key="golden_eval/other"))
    assert [a["alert_id"] for a in warehouse.alerts_for_run(RUN)] == ["al-c", "al-a", "al-b"]
    assert warehouse.alerts_for_run("golden_eval/none") == []


def test_alert_timestamps_default_to_now_and_status_is_checked(warehouse):
    row = warehouse.upsert_alert({k: v for k, v in _alert().items() if k not in ("created_at", "updated_at")})
    assert row["created_at"] == row["updated_at"]
    assert row["created_at"].tzinfo is not None
    with pytest.raises(sa.exc.IntegrityError):
        warehouse.upsert_alert(_alert("al-2", status="open"))
    with pytest.raises(WarehouseError, match="alert_id must be a non-empty string"):
        warehouse.upsert_alert({"rule": "x"})
