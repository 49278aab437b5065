"""Metric series of the retrieval capability for the alert rule engine (registered in ``llmmon.alerts.series.SERIES``).

Keep this module light (sqlalchemy and the schema only): the alert engine imports it.
"""

from __future__ import annotations

from llmmon.alerts.series import SERIES, SeriesSpec

SERIES_SPECS: tuple[SeriesSpec, ...] = ()

SERIES.update({spec.name: spec for spec in SERIES_SPECS})  # whichever of the two modules is imported first
