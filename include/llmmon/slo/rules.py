"""The alert rules the slo capability ships (appended to ``llmmon.alerts.defaults.DEFAULT_RULES``).

Window rules hold each production window of a model and endpoint (the ``all`` rollup) to the SLO examples of the
reference practice — TTFT p95 < 1.5 s, end-to-end p99 < 8 s, error rate < 0.5%, cost per 1,000 requests under a
budget — and fire after two consecutive breached windows (``for: 2``); a sparse window is no data and neither
breaches nor clears. They are named ``slo_window_*``: the ``slo_*`` rules of the defaults watch golden-eval runs.
The thresholds are the defaults of ``slo.objectives``: a team that changes an objective redeclares the rule under
its name in ``alert_rules`` (docs/slo.md), as for every shipped rule.

Burn-rate rules (``for: 1``): the two windows of the multi-window condition are already the confirmation — a fast
burn must hold over the last hour *and* the last 5 minutes (Google SRE workbook, method 6).
"""

from __future__ import annotations

import datetime as dt

from llmmon.config import AlertRule, Condition

_DAY = dt.timedelta(days=1)
_ROLLUP = {"dimension": "all"}

RULES: tuple[AlertRule, ...] = (
    AlertRule(
        name="slo_window_ttft_p95", metric="slo.ttft_p95_s", where=_ROLLUP,
        condition=Condition(op=">", value=1.5), resolve=Condition(op="<", value=1.2), for_=2,
        severity="warning", renotify=dt.timedelta(hours=4),
        description="SLO: time to first token p95 < 1.5 s over production spans, breached in two consecutive "
                    "windows.",
    ),
    AlertRule(
        name="slo_window_latency_p99", metric="slo.latency_p99_s", where=_ROLLUP,
        condition=Condition(op=">", value=8.0), resolve=Condition(op="<", value=6.4), for_=2,
        severity="warning", renotify=dt.timedelta(hours=4),
        description="SLO: end-to-end latency p99 < 8 s over production spans, breached in two consecutive windows.",
    ),
    AlertRule(
        name="slo_window_error_rate", metric="slo.error_rate", where=_ROLLUP,
        condition=Condition(op=">", value=0.005), resolve=Condition(op="<=", value=0.0025), for_=2,
        severity="warning", renotify=dt.timedelta(hours=4),
        description="SLO: error rate < 0.5% of production requests, breached in two consecutive windows.",
    ),
    AlertRule(
        name="slo_window_cost_per_1k", metric="slo.cost_per_1k_usd", where=_ROLLUP,
        condition=Condition(op=">", value=5.0), resolve=Condition(op="<=", value=4.5), for_=2,
        severity="info", renotify=_DAY,
        description="Cost per 1,000 priced production requests above the $5 budget in two consecutive windows "
                    "(requests of unpriced models are counted apart, never as free).",
    ),
    AlertRule(
        name="slo_fast_burn", metric="slo.fast_burn",
        condition=Condition(op=">", value=14.4), resolve=Condition(op="<", value=7.2), for_=1,
        severity="critical", renotify=dt.timedelta(hours=1),
        description="Error budget burning over 14.4x over both the last hour and the last 5 minutes: 2% of a "
                    "30-day budget gone in an hour, and still burning.",
    ),
    AlertRule(
        name="slo_slow_burn", metric="slo.slow_burn",
        condition=Condition(op=">", value=6.0), resolve=Condition(op="<", value=3.0), for_=1,
        severity="warning", renotify=dt.timedelta(hours=4),
        description="Error budget burning over 6x over both the last 6 hours and the last 30 minutes: 5% of a "
                    "30-day budget gone in 6 hours.",
    ),
)
