"""The shared entry point of alert evaluation: every rule over the warehouse, then delivery.

Every capability that writes metric series (golden-set evals, traffic quality, judge shift) calls
:func:`evaluate_alerts` after it wrote, from its DAG or the command line.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmmon.alerts.engine import EvaluationReport
    from llmmon.config import SecretResolver, Settings
    from llmmon.warehouse import Warehouse

log = logging.getLogger("llmmon.alerts")


def evaluate_alerts(
    settings: Settings, warehouse: Warehouse, *, secrets: SecretResolver, now: dt.datetime | None = None
) -> EvaluationReport:
    """Evaluate every alert rule (shipped defaults + configured) over the warehouse and deliver notifications.

    Alerts are sustained: a rule fires after ``for`` consecutive breaching points (default 2), resolves with
    hysteresis, re-notifies at its interval, and a failed delivery is retried at the next evaluation. Re-running
    with the same data and ``now`` sends nothing twice. ``now`` defaults to the clock; DAGs that read by data
    interval pass its end.
    """
    from llmmon.alerts.defaults import rules_from_settings
    from llmmon.alerts.engine import evaluate_rules
    from llmmon.alerts.routes import build_routes

    rules = rules_from_settings(settings, default_routes=settings.alerts.default_routes)
    report = evaluate_rules(warehouse, rules, now=now or dt.datetime.now(dt.UTC),
                            routes=build_routes(settings.routes, secrets))
    for line in report.summary().splitlines():
        log.info("%s", line)
    return report
