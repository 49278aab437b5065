"""Metric series over ``judge_agreement`` for the alert rule engine (``llmmon.alerts.series``).

``judge.agreement_kappa``: Cohen's kappa of judge vs human per measurement, one series per (rubric, judge
endpoint). ``judge.agreement_alarm``: 1 when a measurement was below its floor or the judge model changed since
the previous measurement, else 0. They are registered in ``llmmon.alerts.series.SERIES``;
suggested rules (``for: 1``, a calibration measurement is not a noisy window) are in docs/judge.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from llmmon.alerts.series import SERIES, Point, SeriesSpec
from llmmon.warehouse.schema_judge import judge_agreement

LABELS = ("rubric", "judge_endpoint")


def _measurements(warehouse: Any, until: dt.datetime) -> list[dict[str, Any]]:
    c = judge_agreement.c
    q = sa.select(judge_agreement).where(c.measured_at <= until).order_by(c.measured_at, c.measure_key, c.rubric)
    return warehouse.select_rows(q)


def _point(row: dict[str, Any], value: float | None) -> Point:
    return Point(
        series_labels={"rubric": row["rubric"], "judge_endpoint": row["judge_endpoint"]},
        at=row["measured_at"], point_id=row["measure_key"], value=value,
        details={"judge_model": row["judge_model"], "rubric_version": row["rubric_version"], "n": row["n"],
                 "accuracy": row["accuracy"], "kappa": row["kappa"], "kappa_floor": row["kappa_floor"],
                 "previous_judge_model": row["previous_judge_model"]},
    )


def agreement_kappa(warehouse: Any, until: dt.datetime) -> list[Point]:
    """Kappa of each agreement measurement (None when undefined)."""
    return [_point(r, r["kappa"]) for r in _measurements(warehouse, until)]


def agreement_alarm(warehouse: Any, until: dt.datetime) -> list[Point]:
    """1.0 when a measurement was below its floor or saw a new judge model, else 0.0."""
    return [_point(r, float(bool(r["below_floor"] or r["judge_model_changed"]))) for r in _measurements(warehouse, until)]


SERIES_SPECS: tuple[SeriesSpec, ...] = (
    SeriesSpec("judge.agreement_kappa", LABELS, "kappa",
               "Cohen's kappa of the judge vs human labels on the calibration set, per measurement", agreement_kappa),
    SeriesSpec("judge.agreement_alarm", LABELS, "flag",
               "1 when judge-human agreement fell below its floor or the judge model changed", agreement_alarm),
)

SERIES.update({spec.name: spec for spec in SERIES_SPECS})  # whichever of the two modules is imported first
