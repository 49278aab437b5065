"""Metric series of the slo capability for the alert rule engine (registered in ``llmmon.alerts.series.SERIES``).

Per window (one point at the window's end, point id = the window's start in ISO 8601; recomputing a window does
not make it a new point), one series per (model, endpoint, dimension, value) of ``slo_windows``:
``slo.ttft_p95_s``, ``slo.latency_p99_s``, ``slo.error_rate``, ``slo.cost_per_1k_usd``. A sparse window (fewer
than ``slo.min_requests`` requests) is "no data", as is a window with no TTFT sample or no priced request.

``slo.fast_burn`` / ``slo.slow_burn``: per (model, endpoint, slo), the smaller of the long- and short-window burn
rates ending at each window (see :mod:`llmmon.slo.burn`).

Points are read over the week before the evaluation time (``LOOKBACK``). Keep this module light (sqlalchemy and
the schema only): the alert engine imports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from llmmon.alerts.series import SERIES, Point, SeriesQuery, SeriesSpec
from llmmon.slo.burn import FAST, SLOW, BurnAlert, burn_points
from llmmon.warehouse.schema import to_utc
from llmmon.warehouse.schema_slo import slo_windows

SLICE_LABELS = ("model", "endpoint", "dimension", "value")
# Points older than this before the evaluation time are not read: the engine walks only points newer than each
# series' stored state, so after a week nothing older is ever new; it bounds the read as slo_windows grows.
LOOKBACK = dt.timedelta(days=7)
BURN_LABELS = ("model", "endpoint", "slo")
_DETAILS = ("n_requests", "n_errors", "n_ttft", "n_latency", "n_priced", "n_cost_unknown", "n_bad_duration",
            "n_clock_skew")


def _window_metric(column: str, usable: Callable[[dict[str, Any]], bool] = lambda row: True) -> SeriesQuery:
    """A ``slo_windows`` column per window and slice; no data where the row is sparse or not ``usable``."""
    c = slo_windows.c

    def query(warehouse: Any, until: dt.datetime) -> list[Point]:
        q = (sa.select(c.window_start, c.window_end, *(c[k] for k in SLICE_LABELS), c[column], c.sparse,
                       *(c[k] for k in _DETAILS if k != column))
             .where(c.window_end <= until, c.window_end > until - LOOKBACK).order_by(c.window_end))
        return [
            Point(
                series_labels={k: row[k] for k in SLICE_LABELS},
                at=row["window_end"], point_id=to_utc(row["window_start"]).isoformat(),
                value=None if row["sparse"] or not usable(row) else row[column],
                details={k: row[k] for k in _DETAILS},
            )
            for row in warehouse.select_rows(q)
        ]

    return query


def _burn(alert: BurnAlert) -> SeriesQuery:
    c = slo_windows.c

    def query(warehouse: Any, until: dt.datetime) -> list[Point]:
        q = (sa.select(c.window_start, c.window_end, c.model, c.endpoint, c.dimension, c.sparse, c.n_requests,
                       c.n_errors, c.n_ttft, c.n_ttft_slow, c.n_latency, c.n_latency_slow, c.ttft_slow_s,
                       c.latency_slow_s, c.error_rate_objective)
             .where(c.window_end <= until, c.window_end > until - LOOKBACK - alert.long, c.dimension == "all")
             .order_by(c.window_start))
        return [
            Point(
                series_labels={"model": p["model"], "endpoint": p["endpoint"], "slo": p["slo"]},
                at=p["window_end"], point_id=p["window_start"].isoformat(), value=p["value"],
                details={k: p[k] for k in ("long_burn", "short_burn", "long_bad", "long_total", "short_bad",
                                           "short_total", "budget", "factor")},
            )
            for p in burn_points(warehouse.select_rows(q), alert)
            if p["window_end"] > until - LOOKBACK  # earlier rows only feed the long window
        ]

    return query


SERIES_SPECS: tuple[SeriesSpec, ...] = (
    SeriesSpec("slo.ttft_p95_s", SLICE_LABELS, "seconds",
               "95th percentile time to first token of a window's answered production spans",
               _window_metric("ttft_p95_s", lambda row: bool(row["n_ttft"]))),
    SeriesSpec("slo.latency_p99_s", SLICE_LABELS, "seconds",
               "99th percentile end-to-end latency of a window's answered production spans",
               _window_metric("latency_p99_s", lambda row: bool(row["n_latency"]))),
    SeriesSpec("slo.error_rate", SLICE_LABELS, "ratio",
               "share of a window's production spans that ended in an error", _window_metric("error_rate")),
    SeriesSpec("slo.cost_per_1k_usd", SLICE_LABELS, "usd",
               "cost per 1,000 priced requests in a window (unpriced requests counted apart, never as 0)",
               _window_metric("cost_per_1k_usd", lambda row: bool(row["n_priced"]))),
    SeriesSpec("slo.fast_burn", BURN_LABELS, "burn rate",
               "error-budget burn rate over 1 h and 5 min (the smaller of the two); 1 spends the budget over the "
               "SLO period", _burn(FAST)),
    SeriesSpec("slo.slow_burn", BURN_LABELS, "burn rate",
               "error-budget burn rate over 6 h and 30 min (the smaller of the two)", _burn(SLOW)),
)

SERIES.update({spec.name: spec for spec in SERIES_SPECS})  # whichever of the two modules is imported first
