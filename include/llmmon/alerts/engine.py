"""The alert rule engine: walk each rule's metric series through the alert state machine, persist every
transition, queue notifications and deliver them through the rule's routes.

State machine, per rule and per series (one label set), point by point in time order::

    inactive --breach--> pending --breach, count >= for--> firing --resolve--> resolved
    inactive --breach, for: 1--> firing
    pending  --no breach--> inactive                (a pending alert that recovers never notifies)
    firing   --neither breach nor resolve--> firing (hysteresis: between condition and resolve the state holds)

A point with value None is "no data": it neither breaches nor resolves, and leaves the count as it is. After
a resolve (or a recovery) the next breach starts a new episode: a new ``alert_id``, the same ``dedup_key``.

Each evaluation resumes from the stored state of the latest episode of each series and walks only the points
after it, so evaluating again with the same data and the same ``now`` changes nothing and sends nothing. Ids
are deterministic (rule, labels, points), so two evaluations racing write the same rows.

Notifications go through an outbox (``alert_deliveries``): they are queued in the transaction that records the
transition, then delivered; a failed or unconfigured delivery stays queued and is retried by the next
evaluation, so an alert is never lost between the decision and the receiver.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmmon.alerts.model import DeliveryResult, Notification, Route
from llmmon.alerts.series import SERIES, Point, matches, read_series
from llmmon.config import AlertRule, Condition
from llmmon.errors import ConfigError
from llmmon.warehouse.schema import to_utc

if TYPE_CHECKING:
    from llmmon.warehouse import Warehouse

log = logging.getLogger(__name__)

PENDING, FIRING, RESOLVED, INACTIVE = "pending", "firing", "resolved", "inactive"
OPEN_STATES = (PENDING, FIRING)

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
}
_NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}
_KEY_MAX = 255  # alerts.dedup_key is a VARCHAR(255), and PagerDuty caps dedup keys at 255 characters


# -- rules ----------------------------------------------------------------------------------------------------


def validate_rules(rules: Sequence[AlertRule]) -> None:
    """Raise ConfigError naming the rule when a rule names an unknown metric series, filters on a label its
    series does not have, or repeats another rule's name."""
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise ConfigError(f"alert rule {rule.name!r} is declared twice; rule names must be unique")
        seen.add(rule.name)
        spec = SERIES.get(rule.metric)
        if spec is None:
            raise ConfigError(
                f"alert rule {rule.name!r}: unknown metric {rule.metric!r}; known metrics: {', '.join(sorted(SERIES))}"
            )
        unknown = sorted(set(rule.where) - set(spec.labels))
        if unknown:
            raise ConfigError(
                f"alert rule {rule.name!r}: 'where' filters on {', '.join(unknown)}, which metric {rule.metric!r} "
                f"does not have; its labels are: {', '.join(spec.labels)}"
            )


def holds(condition: Condition, value: float) -> bool:
    """``value <op> threshold``."""
    return _OPS[condition.op](value, condition.value)


def resolve_condition(rule: AlertRule) -> Condition:
    """The rule's resolve condition: its own, or the negation of its condition."""
    return rule.resolve or Condition(op=_NEGATED[rule.condition.op], value=rule.condition.value)


# -- ids ------------------------------------------------------------------------------------------------------


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def dedup_key(rule: str, series_labels: Mapping[str, str]) -> str:
    """Stable key of a rule on one series across episodes: ``rule{k=v,...}`` with sorted labels (hashed when
    longer than 255 characters)."""
    key = rule + "{" + ",".join(f"{k}={v}" for k, v in sorted(series_labels.items())) + "}"
    if len(key) <= _KEY_MAX:
        return key
    return f"{rule[:200]}#{_hash(key)}"


def alert_id(rule: str, series_labels: Mapping[str, str], start_point_id: str) -> str:
    """Id of the episode of ``rule`` on a series that started pending at ``start_point_id``."""
    return _hash("alert", rule, json.dumps(sorted(series_labels.items())), start_point_id)


def event_id(alert: str, to_state: str, point_id: str) -> str:
    return _hash("event", alert, to_state, point_id)


def delivery_id(alert: str, seq: int, route: str) -> str:
    return _hash("delivery", alert, str(seq), route)


# -- evaluation -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationReport:
    """What one evaluation did: the transitions it recorded, notifications queued and delivery tries made."""

    now: dt.datetime
    rules: int
    series: int
    points: int  # points walked (newer than each series' stored state)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    queued: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed_deliveries(self) -> list[dict[str, Any]]:
        return [d for d in self.deliveries if d["status"] in ("failed", "not_configured")]

    def summary(self) -> str:
        """One line for a task log."""
        sent = sum(1 for d in self.deliveries if d["status"] == "sent")
        return (
            f"{self.rules} rules over {self.series} series, {self.points} new points: "
            f"{len(self.transitions)} transitions, {len(self.queued)} notifications queued, "
            f"{sent} delivered, {len(self.failed_deliveries)} not delivered (retried next time)"
        )


@dataclass
class _Walk:
    """Changes the walk of one rule over one series produced."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # alert_id -> alerts row (changed)
    events: list[dict[str, Any]] = field(default_factory=list)
    notices: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (alerts row, kind) in order
    points: int = 0


def _new_episode(rule: AlertRule, labels: dict[str, str], key: str, p: Point) -> dict[str, Any]:
    return {
        "alert_id": alert_id(rule.name, labels, p.point_id), "dedup_key": key, "rule": rule.name,
        "metric": rule.metric, "state": INACTIVE, "severity": rule.severity, "labels": {**rule.labels, **labels},
        "value": None, "threshold": rule.condition.value, "breach_count": 0, "started_at": p.at,
        "fired_at": None, "resolved_at": None, "last_point_id": p.point_id, "last_point_at": p.at,
        "last_notified_at": None, "notify_count": 0,
    }


def walk_series(
    rule: AlertRule, labels: dict[str, str], points: Sequence[Point], latest: dict[str, Any] | None
) -> _Walk:
    """Run the points newer than the latest stored episode through the state machine, from that episode's
    state. Pure: returns the changed alert rows, the transitions and the notifications they call for."""
    key = dedup_key(rule.name, labels)
    out = _Walk()
    cur = dict(latest) if latest and latest["state"] in OPEN_STATES else None
    if latest is not None:
        cursor = (to_utc(latest["last_point_at"]), latest["last_point_id"])
        # A point already walked does not count again: a cleared and re-run DAG run keeps its run key
        # (point_id) but gets a later finish time; it is the same window, not a new one.
        points = [p for p in points if (p.at, p.point_id) > cursor and p.point_id != latest["last_point_id"]]
    resolve = resolve_condition(rule)

    def move(row: dict[str, Any], to_state: str, p: Point) -> None:
        out.events.append({
            "event_id": event_id(row["alert_id"], to_state, p.point_id), "alert_id": row["alert_id"],
            "from_state": row["state"], "to_state": to_state, "at": p.at, "point_id": p.point_id, "value": p.value,
        })
        row["state"] = to_state
        if to_state == FIRING:
            row["fired_at"] = p.at
            out.notices.append((row, "firing"))
        elif to_state == RESOLVED:
            row["resolved_at"] = p.at
            out.notices.append((row, "resolved"))

    for p in points:
        out.points += 1
        if p.value is None:  # no data: the state, and the count, hold
            if cur is not None:
                cur.update(last_point_id=p.point_id, last_point_at=p.at)
                out.rows[cur["alert_id"]] = cur
            continue
        breach = holds(rule.condition, p.value)
        if cur is None:
            if not breach:
                continue
            cur = _new_episode(rule, labels, key, p)
        if breach:
            cur["breach_count"] += 1
        cur.update(value=p.value, last_point_id=p.point_id, last_point_at=p.at)
        out.rows[cur["alert_id"]] = cur
        state = cur["state"]
        if breach and state in (INACTIVE, PENDING):
            target = FIRING if cur["breach_count"] >= rule.for_ else PENDING
            if target != state:
                move(cur, target, p)
        elif not breach and state == PENDING:
            move(cur, INACTIVE, p)
            cur = None
        elif not breach and state == FIRING and holds(resolve, p.value):
            move(cur, RESOLVED, p)
            cur = None
        # else: firing and breaching, or firing between condition and resolve (hysteresis): the state holds
    return out


def _renotify_due(rule: AlertRule, row: dict[str, Any], now: dt.datetime) -> bool:
    if rule.renotify is None or row["state"] != FIRING or row["last_notified_at"] is None:
        return False
    return now - to_utc(row["last_notified_at"]) >= rule.renotify


def evaluate_rules(
    warehouse: Warehouse,
    rules: Sequence[AlertRule],
    *,
    now: dt.datetime,
    secrets: Iterable[str] | None = None,
    routes: Mapping[str, Route] | None = None,
) -> EvaluationReport:
    """Evaluate ``rules`` on the warehouse's series up to ``now``; persist states, transitions and queued
    notifications in one transaction; then deliver every undelivered notification through ``routes``.

    ``now`` is the evaluation time (pass the data interval's end from a DAG): points after it are not seen, and
    every timestamp the engine writes is ``now`` or a point's time, so a rerun writes identical rows.
    ``routes`` maps route names (``rule.routes``) to routes; ``None`` queues notifications without delivering
    them (a later evaluation with routes delivers them). A rule route missing from ``routes`` is recorded as
    ``not_configured`` and retried. ``secrets`` are secret values (webhook URLs, keys) scrubbed from any delivery
    error before it is stored or logged: a second guard behind the routes' own.
    """
    now = to_utc(now)
    validate_rules(rules)
    cache: dict[str, dict] = {}
    rows: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    queued: list[dict[str, Any]] = []
    n_series = n_points = 0
    for rule in rules:
        if rule.metric not in cache:
            cache[rule.metric] = read_series(warehouse, rule.metric, until=now)
        latest = warehouse.latest_alerts(rule.name)
        for points in cache[rule.metric].values():
            labels = points[0].series_labels
            if not matches(labels, rule.where):
                continue
            n_series += 1
            prior = latest.get(dedup_key(rule.name, labels))
            walk = walk_series(rule, labels, points, prior)
            n_points += walk.points
            notices = list(walk.notices)
            final = next((r for r in walk.rows.values() if r["state"] in OPEN_STATES), None)
            if final is None and prior is not None and prior["state"] == FIRING and not walk.rows:
                final = dict(prior)  # nothing new on this series: only the re-notify clock can move
            if final is not None and not any(r is final for r, _ in notices) and _renotify_due(rule, final, now):
                notices.append((final, "renotify"))
                walk.rows[final["alert_id"]] = final
            for row, kind in notices:
                row["notify_count"] += 1
                row["last_notified_at"] = now
                for route in rule.routes:
                    queued.append({
                        "delivery_id": delivery_id(row["alert_id"], row["notify_count"], route),
                        "alert_id": row["alert_id"], "seq": row["notify_count"], "kind": kind, "route": route,
                        "status": "pending", "tries": 0, "attempts": 0, "error": None, "queued_at": now,
                    })
            for row in walk.rows.values():
                rows[row["alert_id"]] = {**row, "updated_at": now}
            events.extend({**e, "evaluated_at": now} for e in walk.events)
    if rows or events or queued:
        warehouse.write_alert_changes(list(rows.values()), events, queued)
    for e in events:
        log.info("alert %s: %s -> %s at %s (point %s, value %s)", e["alert_id"], e["from_state"], e["to_state"],
                 e["at"].isoformat(), e["point_id"], e["value"])
    deliveries = [] if routes is None else deliver_pending(warehouse, routes, now=now, rules=rules, secrets=secrets)
    return EvaluationReport(now=now, rules=len(rules), series=n_series, points=n_points, transitions=events,
                            queued=queued, deliveries=deliveries)


# -- delivery -------------------------------------------------------------------------------------------------


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"


def build_notification(kind: str, alert: Mapping[str, Any], rule: AlertRule | None = None) -> Notification:
    """The notification of ``kind`` about a stored alert row. It holds names, labels and numbers, no secrets;
    ``rule`` (when still configured) adds its condition and description."""
    labels = {str(k): str(v) for k, v in (alert["labels"] or {}).items()}
    # empty labels (a rollup's slice value, an unknown endpoint) stay in the payload but say nothing in one line
    where = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if v != "")
    verb = {"firing": "firing", "renotify": "still firing", "resolved": "resolved"}[kind]
    op = f"{rule.condition.op} " if rule is not None else "threshold "
    summary = (
        f"[{alert['severity']}] {alert['rule']} {verb}: {alert['metric']} = {_fmt(alert['value'])} "
        f"({op}{_fmt(alert['threshold'])}) on {where or 'all'}"
    )
    lines = [rule.description] if rule is not None and rule.description else []
    if rule is not None:
        res = resolve_condition(rule)
        lines.append(f"Fires after {rule.for_} consecutive points with value {rule.condition.op} "
                     f"{_fmt(rule.condition.value)}; resolves when value {res.op} {_fmt(res.value)}.")
    lines.append(f"First breach {to_utc(alert['started_at']).isoformat()}"
                 + (f", firing since {to_utc(alert['fired_at']).isoformat()}" if alert["fired_at"] else "")
                 + (f", resolved {to_utc(alert['resolved_at']).isoformat()}" if alert["resolved_at"] else "")
                 + f"; latest point {alert['last_point_id']}.")
    return Notification(
        kind=kind,  # type: ignore[arg-type]
        alert_id=alert["alert_id"], dedup_key=alert["dedup_key"], rule=alert["rule"],
        severity=alert["severity"], summary=summary, description="\n".join(lines), labels=labels,
        value=alert["value"], threshold=alert["threshold"], started_at=to_utc(alert["started_at"]),
        ended_at=to_utc(alert["resolved_at"]) if kind == "resolved" and alert["resolved_at"] else None,
    )


def _scrub(text: str | None, secrets: Sequence[str]) -> str | None:
    if text is None:
        return None
    for s in secrets:
        text = text.replace(s, "***")
    return text


def _try(route: Route, notification: Notification) -> DeliveryResult:
    try:
        return route.deliver(notification)
    except Exception as exc:  # a route must not raise; if one does, the failure is recorded and retried
        return DeliveryResult("failed", 1, f"route raised {type(exc).__name__}")


def deliver_pending(
    warehouse: Warehouse,
    routes: Mapping[str, Route],
    *,
    now: dt.datetime,
    rules: Sequence[AlertRule] = (),
    secrets: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """Try every undelivered notification once, oldest first; record each outcome. Returns the tries made.

    A renotify is superseded (not sent) when its alert is no longer firing, or a newer notification to the same
    route is queued. Each try is claimed first, so two evaluations running at once never both send it.
    """
    now = to_utc(now)
    hidden = sorted({s for s in (secrets or ()) if s and len(s) >= 4}, key=len, reverse=True)
    by_name = {r.name: r for r in rules}
    pending = warehouse.undelivered()
    alerts = warehouse.get_alerts([d["alert_id"] for d in pending])
    newest = {}
    for d in pending:
        newest[(d["alert_id"], d["route"])] = max(newest.get((d["alert_id"], d["route"]), 0), d["seq"])
    out = []
    for d in pending:
        alert = alerts.get(d["alert_id"])
        superseded = d["kind"] == "renotify" and (
            alert is None or alert["state"] != FIRING or newest[(d["alert_id"], d["route"])] > d["seq"]
        )
        if not warehouse.claim_delivery(d["delivery_id"], d["tries"], now):
            continue  # another evaluation took it
        route = routes.get(d["route"])
        if superseded:
            result = DeliveryResult("superseded", 0)  # type: ignore[arg-type]
        elif alert is None:
            result = DeliveryResult("failed", 0, f"alert {d['alert_id']} no longer exists")
        elif route is None:
            result = DeliveryResult("not_configured", 0, f"route {d['route']!r} is not configured")
        else:
            result = _try(route, build_notification(d["kind"], alert, by_name.get(alert["rule"])))
        error = _scrub(result.error, hidden)
        warehouse.finish_delivery(d["delivery_id"], result.status, attempts=result.attempts, error=error, at=now)
        if result.status in ("failed", "not_configured"):
            log.warning("alert %s: %s notification via route %s not delivered (%s); retried next evaluation",
                        d["alert_id"], d["kind"], d["route"], error)
        out.append({"delivery_id": d["delivery_id"], "alert_id": d["alert_id"], "route": d["route"],
                    "kind": d["kind"], "seq": d["seq"], "status": result.status, "attempts": result.attempts,
                    "error": error})
    return out


# -- reading --------------------------------------------------------------------------------------------------


def open_alerts(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Alerts pending or firing now: firing first, then critical first, then oldest first."""
    return warehouse.open_alerts()


def alert_history(warehouse: Warehouse, alert_id: str) -> dict[str, Any] | None:
    """One alert with its transitions (time order) and its notifications' delivery state; None if unknown."""
    alert = warehouse.get_alert(alert_id)
    if alert is None:
        return None
    return {"alert": alert, "events": warehouse.alert_events(alert_id),
            "deliveries": warehouse.alert_deliveries(alert_id)}
