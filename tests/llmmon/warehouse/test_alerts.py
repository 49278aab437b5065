"""Alert tables: episodes upserted with their events and queued deliveries in one transaction, insert-only events
and deliveries, the latest episode per condition, the delivery outbox (claim, finish, retry), readers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from llmmon.warehouse import WarehouseError
from llmmon.warehouse.schema import alert_deliveries, alert_events, alerts

from . import hours, table_rows


def _alert(alert_id: str = "al-1", **kw) -> dict:
    return {
        "alert_id": alert_id,
        "dedup_key": "errors{endpoint=demo}",
        "rule": "errors",
        "metric": "eval.error_share",
        "state": "firing",
        "severity": "critical",
        "labels": {"endpoint": "demo", "team": "ml"},
        "value": 0.3,
        "threshold": 0.1,
        "breach_count": 2,
        "started_at": hours(1),
        "fired_at": hours(2),
        "resolved_at": None,
        "last_point_id": "golden_eval/r2",
        "last_point_at": hours(2),
        "last_notified_at": hours(2),
        "notify_count": 1,
        "updated_at": hours(2),
        **kw,
    }


def _event(alert_id: str = "al-1", to_state: str = "firing", **kw) -> dict:
    return {"event_id": f"{alert_id}/{to_state}", "alert_id": alert_id, "from_state": "pending", "to_state": to_state,
            "at": hours(2), "point_id": "golden_eval/r2", "value": 0.3, "evaluated_at": hours(2), **kw}


def _delivery(alert_id: str = "al-1", seq: int = 1, route: str = "slack", **kw) -> dict:
    return {"delivery_id": f"{alert_id}/{seq}/{route}", "alert_id": alert_id, "seq": seq, "kind": "firing",
            "route": route, "status": "pending", "tries": 0, "attempts": 0, "error": None, "queued_at": hours(2), **kw}


def test_writing_the_same_changes_twice_converges(warehouse):
    for _ in range(2):
        warehouse.write_alert_changes([_alert()], [_event()], [_delivery()])
    assert table_rows(warehouse, alerts) == [_alert()]
    assert table_rows(warehouse, alert_events) == [_event()]
    assert table_rows(warehouse, alert_deliveries) == [{**_delivery(), "last_try_at": None, "sent_at": None}]


def test_events_and_deliveries_are_insert_only_alerts_are_updated(warehouse):
    warehouse.write_alert_changes([_alert()], [_event()], [_delivery()])
    warehouse.finish_delivery("al-1/1/slack", "sent", attempts=1, error=None, at=hours(2))
    # A replayed evaluation re-queues the same delivery and event: the stored ones stay as they are.
    warehouse.write_alert_changes([_alert(state="resolved", resolved_at=hours(3))], [_event(value=9.9)],
                                  [_delivery()])
    assert warehouse.get_alert("al-1")["state"] == "resolved"
    assert [e["value"] for e in warehouse.alert_events("al-1")] == [0.3]
    assert [d["status"] for d in warehouse.alert_deliveries("al-1")] == ["sent"]


def test_a_bad_row_writes_nothing(warehouse):
    with pytest.raises(sa.exc.IntegrityError):
        warehouse.write_alert_changes([_alert()], [_event(to_state="exploded")], [_delivery()])
    assert table_rows(warehouse, alerts) == [] and table_rows(warehouse, alert_deliveries) == []
    with pytest.raises(sa.exc.IntegrityError):
        warehouse.write_alert_changes([_alert(state="open")])
    with pytest.raises(WarehouseError, match="alert row 0 has no alert_id"):
        warehouse.write_alert_changes([{"rule": "x"}])


def test_latest_alerts_is_the_last_started_episode_of_each_condition(warehouse):
    warehouse.write_alert_changes([
        _alert("old", state="resolved", started_at=hours(1)),
        _alert("new", state="pending", started_at=hours(5)),
        _alert("other", dedup_key="errors{endpoint=prod}", started_at=hours(1)),
        _alert("other-rule", rule="latency", dedup_key="latency{endpoint=demo}", started_at=hours(9)),
    ])
    latest = warehouse.latest_alerts("errors")
    assert {k: v["alert_id"] for k, v in latest.items()} == {"errors{endpoint=demo}": "new",
                                                              "errors{endpoint=prod}": "other"}
    assert latest["errors{endpoint=demo}"] == _alert("new", state="pending", started_at=hours(5))
    assert warehouse.latest_alerts("nope") == {}


def test_outbox_claim_finish_and_retry(warehouse):
    warehouse.write_alert_changes([_alert()], [], [_delivery(), _delivery(seq=2, kind="renotify", queued_at=hours(6)),
                                                   _delivery(route="email")])
    assert [(d["seq"], d["route"]) for d in warehouse.undelivered()] == [(1, "email"), (1, "slack"), (2, "slack")]

    # Only one of two evaluations that read the same row may claim it.
    assert warehouse.claim_delivery("al-1/1/slack", 0, hours(3)) is True
    assert warehouse.claim_delivery("al-1/1/slack", 0, hours(3)) is False
    warehouse.finish_delivery("al-1/1/slack", "failed", attempts=3, error="HTTP 503", at=hours(3))
    assert warehouse.claim_delivery("al-1/1/slack", 1, hours(4)) is True
    warehouse.finish_delivery("al-1/1/slack", "sent", attempts=1, error=None, at=hours(4))
    assert warehouse.claim_delivery("al-1/1/slack", 2, hours(5)) is False  # sent: nothing left to claim
    warehouse.claim_delivery("al-1/2/slack", 0, hours(6))
    warehouse.finish_delivery("al-1/2/slack", "superseded", attempts=0, error=None, at=hours(6))

    slack = {d["seq"]: d for d in warehouse.alert_deliveries("al-1") if d["route"] == "slack"}
    assert (slack[1]["status"], slack[1]["tries"], slack[1]["attempts"], slack[1]["error"], slack[1]["last_try_at"],
            slack[1]["sent_at"]) == ("sent", 2, 4, None, hours(4), hours(4))
    assert slack[2]["status"] == "superseded" and slack[2]["sent_at"] is None
    assert [(d["seq"], d["route"]) for d in warehouse.undelivered()] == [(1, "email")]

    with pytest.raises(WarehouseError, match="status 'pending' is not one of sent, failed, not_configured, superseded"):
        warehouse.finish_delivery("al-1/1/email", "pending", attempts=0, error=None, at=hours(6))
    with pytest.raises(WarehouseError, match="no delivery with delivery_id 'nope'"):
        warehouse.finish_delivery("nope", "sent", attempts=1, error=None, at=hours(6))


def test_readers(warehouse):
    warehouse.write_alert_changes(
        [_alert("a-warn", severity="warning", started_at=hours(0)),
         _alert("a-crit", started_at=hours(1)),
         _alert("a-pending", state="pending", fired_at=None, started_at=hours(0)),
         _alert("a-done", state="resolved", resolved_at=hours(3)),
         _alert("a-quiet", state="inactive", fired_at=None)],
        [_event("a-crit"), _event("a-crit", "pending", from_state="inactive", at=hours(1), point_id="golden_eval/r1"),
         _event("a-done", "resolved", from_state="firing", at=hours(3), point_id="golden_eval/r3")],
    )
    assert [a["alert_id"] for a in warehouse.open_alerts()] == ["a-crit", "a-warn", "a-pending"]
    assert [(e["from_state"], e["to_state"]) for e in warehouse.alert_events("a-crit")] == [
        ("inactive", "pending"), ("pending", "firing")]
    assert [a["alert_id"] for a in warehouse.alerts_for_point("golden_eval/r2")] == ["a-crit"]
    assert [a["alert_id"] for a in warehouse.alerts_for_point("golden_eval/r3")] == ["a-done"]
    assert warehouse.get_alert("missing") is None
    assert set(warehouse.get_alerts(["a-done", "a-crit", "missing"])) == {"a-done", "a-crit"}
    assert warehouse.get_alerts([]) == {}
