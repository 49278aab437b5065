"""Metric series of the drift capability for the alert rule engine (registered in ``llmmon.alerts.series.SERIES``).

``drift.drifted``: 1 when a drift run found at least one drifted feature, 0 when none, no data when the run was
inconclusive or failed; one series per (endpoint, reference). ``drift.feature_drifted``: the verdict of one feature
(1/0, no data when untested), one series per (endpoint, reference, feature) — the attack-signal rule watches the
``attack_signal`` feature. Points are at the window's end, identified by the run key.

Keep this module light (sqlalchemy and the schema only): the alert engine imports it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from llmmon.alerts.series import SERIES, Point, SeriesSpec
from llmmon.warehouse.schema_drift import drift_metrics, drift_runs

RUN_LABELS = ("endpoint", "reference")
FEATURE_LABELS = ("endpoint", "reference", "feature")


def run_drifted(warehouse: Any, until: dt.datetime) -> list[Point]:
    """1.0 / 0.0 per successful run, None for inconclusive or failed runs."""
    c = drift_runs.c
    q = sa.select(drift_runs).where(c.window_end <= until).order_by(c.window_end, c.run_key)
    return [
        Point(series_labels={"endpoint": r["endpoint"], "reference": r["reference"]}, at=r["window_end"],
              point_id=r["run_key"], value=float(r["drifted"]) if r["status"] == "success" else None,
              details={"status": r["status"], "n_ref": r["n_ref"], "n_cur": r["n_cur"],
                       "n_features_drifted": r["n_features_drifted"], "reason": r["reason"],
                       "report_uri": r["report_uri"]})
        for r in warehouse.select_rows(q)
    ]


def feature_drifted(warehouse: Any, until: dt.datetime) -> list[Point]:
    """The decisive verdict of each feature of each run: 1.0 / 0.0, None when untested."""
    r, m = drift_runs.c, drift_metrics.c
    q = (sa.select(r.run_key, r.endpoint, r.reference, r.window_end, r.status, m.feature, m.method, m.statistic,
                   m.threshold, m.p_adjusted, m.effect, m.effect_floor, m.tested, m.drifted, m.ref_summary,
                   m.cur_summary)
         .join_from(drift_runs, drift_metrics, m.run_key == r.run_key)
         .where(r.window_end <= until, m.decisive.is_(True))
         .order_by(r.window_end, r.run_key, m.feature))
    return [
        Point(series_labels={"endpoint": row["endpoint"], "reference": row["reference"], "feature": row["feature"]},
              at=row["window_end"], point_id=row["run_key"],
              value=float(row["drifted"]) if row["tested"] and row["status"] == "success" else None,
              details={k: row[k] for k in ("method", "statistic", "threshold", "p_adjusted", "effect",
                                            "effect_floor", "ref_summary", "cur_summary")})
        for row in warehouse.select_rows(q)
    ]


SERIES_SPECS: tuple[SeriesSpec, ...] = (
    SeriesSpec("drift.drifted", RUN_LABELS, "flag",
               "1 when the drift run found a drifted input feature (calibrated test and effect floor), 0 when "
               "none, no data when inconclusive", run_drifted),
    SeriesSpec("drift.feature_drifted", FEATURE_LABELS, "flag",
               "1 when the feature drifted in the run, 0 when not, no data when untested", feature_drifted),
)

SERIES.update({spec.name: spec for spec in SERIES_SPECS})  # whichever of the two modules is imported first
