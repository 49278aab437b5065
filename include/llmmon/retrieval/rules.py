"""The alert rules the retrieval capability ships (appended to ``llmmon.alerts.defaults.DEFAULT_RULES``)."""

from __future__ import annotations

from llmmon.config import AlertRule

RULES: tuple[AlertRule, ...] = ()
