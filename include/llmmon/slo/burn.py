"""Error budgets and multi-window burn rates over ``slo_windows`` (Google SRE workbook, "Alerting on SLOs").

Three ratio SLIs, each with the share of requests allowed to be bad (its error budget):

- ``ttft``: answered requests slower to the first token than ``slo.objectives.ttft_p95_s`` — budget 5% (p95);
- ``latency``: answered requests slower end to end than ``slo.objectives.latency_p99_s`` — budget 1% (p99);
- ``errors``: failed requests — budget ``slo.objectives.error_rate``.

The burn rate over a span of time is (bad / total) / budget: 1 spends the budget exactly over the SLO period.
Multi-window alerts (the workbook's method 6): the *fast burn* alert needs a burn above 14.4 over both the last
hour and the last 5 minutes (2% of a 30-day budget in an hour, and still burning); the *slow burn* alert above 6
over both 6 hours and 30 minutes (5% in 6 hours). A series point carries the smaller of the two burn rates, so the
condition ``> factor`` holds exactly when both do. Counts are additive across windows, so these are exact from the
stored per-window counts; thresholds are the ones stored with each row (``ttft_slow_s``, ``latency_slow_s``,
``error_rate_objective``), so a row computed before an objective changed is read with its own.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmmon.warehouse.schema import to_utc


@dataclass(frozen=True)
class Sli:
    """A ratio SLI over slo_windows rows: bad events, all events, and the budget (or where a row keeps it)."""

    name: str
    bad: str
    total: str
    budget: float | None = None  # fixed budget, else read from the row's ``budget_column``
    budget_column: str | None = None
    objective_column: str | None = None  # the row's threshold; null: the SLI was disabled when computed

    def budget_of(self, row: Mapping[str, Any]) -> float | None:
        if self.objective_column is not None and row.get(self.objective_column) is None:
            return None
        return self.budget if self.budget_column is None else row.get(self.budget_column)


SLIS: tuple[Sli, ...] = (
    Sli("ttft", "n_ttft_slow", "n_ttft", budget=0.05, objective_column="ttft_slow_s"),
    Sli("latency", "n_latency_slow", "n_latency", budget=0.01, objective_column="latency_slow_s"),
    Sli("errors", "n_errors", "n_requests", budget_column="error_rate_objective"),
)


@dataclass(frozen=True)
class BurnAlert:
    """A multi-window burn-rate condition: burn above ``factor`` over both ``long`` and ``short``."""

    name: str
    factor: float
    long: dt.timedelta
    short: dt.timedelta


FAST = BurnAlert("fast", 14.4, dt.timedelta(hours=1), dt.timedelta(minutes=5))
SLOW = BurnAlert("slow", 6.0, dt.timedelta(hours=6), dt.timedelta(minutes=30))
BURN_ALERTS = (FAST, SLOW)


class _Cumulative:
    """Prefix sums of (bad, total, non-sparse windows) over one series' windows, for range sums in O(log n)."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], sli: Sli) -> None:
        self.starts: list[dt.datetime] = []
        self.bad = [0]
        self.total = [0]
        self.dense = [0]
        for r in rows:
            self.starts.append(to_utc(r["window_start"]))
            self.bad.append(self.bad[-1] + int(r[sli.bad] or 0))
            self.total.append(self.total[-1] + int(r[sli.total] or 0))
            self.dense.append(self.dense[-1] + (0 if r["sparse"] else 1))

    def between(self, start: dt.datetime, end: dt.datetime) -> tuple[int, int, int]:
        """(bad, total, non-sparse windows) of the windows starting in [start, end)."""
        i = bisect.bisect_left(self.starts, start)
        j = bisect.bisect_left(self.starts, end)
        return self.bad[j] - self.bad[i], self.total[j] - self.total[i], self.dense[j] - self.dense[i]


def _rate(bad: int, total: int, budget: float) -> float | None:
    return None if total == 0 else (bad / total) / budget


def burn_points(
    rows: Iterable[Mapping[str, Any]], alert: BurnAlert, window: dt.timedelta | None = None
) -> list[dict[str, Any]]:
    """One record per rollup window end, (model, endpoint) and SLI: the burn rates over ``alert``'s long and short
    windows ending there, and ``value`` = the smaller of the two (None — no data — when the short window holds no
    non-sparse window, or the SLI was disabled). ``rows``: slo_windows rows of dimension ``all``."""
    by_key: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rows:
        if r["dimension"] == "all":
            by_key.setdefault((r["model"], r["endpoint"]), []).append(r)
    out: list[dict[str, Any]] = []
    for (model, endpoint), series in by_key.items():
        series.sort(key=lambda r: to_utc(r["window_start"]))
        length = window or (to_utc(series[0]["window_end"]) - to_utc(series[0]["window_start"]))
        short = max(alert.short, length)
        for sli in SLIS:
            cum = _Cumulative(series, sli)
            for r in series:
                budget = sli.budget_of(r)
                end = to_utc(r["window_end"])
                if budget is None or budget <= 0:
                    continue
                bad_l, total_l, _ = cum.between(end - alert.long, end)
                bad_s, total_s, dense_s = cum.between(end - short, end)
                long_rate, short_rate = _rate(bad_l, total_l, budget), _rate(bad_s, total_s, budget)
                value = None
                if dense_s and long_rate is not None and short_rate is not None:
                    value = min(long_rate, short_rate)
                out.append({
                    "model": model, "endpoint": endpoint, "slo": sli.name, "window_start": to_utc(r["window_start"]),
                    "window_end": end, "value": value, "long_burn": long_rate, "short_burn": short_rate,
                    "long_bad": bad_l, "long_total": total_l, "short_bad": bad_s, "short_total": total_s,
                    "budget": budget, "factor": alert.factor,
                })
    return out


def error_budgets(
    rows: Iterable[Mapping[str, Any]], *, start: dt.datetime, end: dt.datetime, period: dt.timedelta
) -> list[dict[str, Any]]:
    """Per (model, endpoint) and SLI, the error budget spent over the rollup windows starting in [start, end):
    bad and total events, the bad share, the burn rate, and the share of a ``period`` budget spent (the events
    of [start, end) against the budget of a whole period at the same traffic: burn x (end - start) / period)."""
    start, end = to_utc(start), to_utc(end)
    totals: dict[tuple[str, str, str], list[float]] = {}
    for r in rows:
        if r["dimension"] != "all" or not (start <= to_utc(r["window_start"]) < end):
            continue
        for sli in SLIS:
            budget = sli.budget_of(r)
            if budget is None:
                continue
            acc = totals.setdefault((r["model"], r["endpoint"], sli.name), [0, 0, budget])
            acc[0] += int(r[sli.bad] or 0)
            acc[1] += int(r[sli.total] or 0)
            acc[2] = budget  # the latest objective wins
    out = []
    for (model, endpoint, name), (bad, total, budget) in sorted(totals.items()):
        burn = _rate(int(bad), int(total), budget)
        out.append({
            "model": model, "endpoint": endpoint, "slo": name, "bad": int(bad), "total": int(total),
            "bad_share": None if not total else bad / total, "budget": budget, "burn_rate": burn,
            "budget_spent": None if burn is None else burn * ((end - start) / period),
        })
    return out
