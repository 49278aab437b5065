"""What an alert route delivers, and what delivery returns. Routes and the rule engine share these records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, Protocol

NotificationKind = Literal["firing", "resolved", "renotify", "airflow_failure", "deadline_missed"]


@dataclass(frozen=True)
class Notification:
    """One message about one alert, ready for any route.

    ``dedup_key`` is stable for the life of an alert (trigger and resolve use the same one, as PagerDuty and
    Alertmanager expect). ``summary`` is one line; ``description`` may be several. Neither holds secrets; any prompt
    text in them is already truncated, and routes that render markup escape it.
    """

    kind: NotificationKind
    alert_id: str
    dedup_key: str
    rule: str
    severity: Literal["critical", "warning", "info"]
    summary: str
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    value: float | None = None
    threshold: float | None = None
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    links: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryResult:
    """Outcome of delivering one notification through one route. ``error`` never holds a secret."""

    status: Literal["sent", "failed", "not_configured"]
    attempts: int
    error: str | None = None
    route: str | None = None


class Route(Protocol):
    """An alert route: a named destination that delivers notifications and never raises."""

    name: str

    def deliver(self, notification: Notification) -> DeliveryResult: ...
