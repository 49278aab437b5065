"""The alert rules the drift capability ships (appended to ``llmmon.alerts.defaults.DEFAULT_RULES``).

``input_drift``: the prompts (or timings, templates, segments) of production traffic drifted from the reference in
two consecutive drift runs. ``attack_signal_increase``: the share of prompts that look like prompt injection or
jailbreak attempts rose beyond its floor, significantly, in two consecutive runs. Both ``for: 2``.
"""

from __future__ import annotations

import datetime as dt

from llmmon.config import AlertRule, Condition

RULES: tuple[AlertRule, ...] = (
    AlertRule(
        name="input_drift", metric="drift.drifted",
        condition=Condition(op=">=", value=1.0), for_=2, severity="warning", renotify=dt.timedelta(days=1),
        description="Production inputs drifted from the reference window (a feature's calibrated test, corrected "
                    "across features, and its effect floor) in consecutive drift runs: quality may drop before the "
                    "golden set notices. The run's report_uri links the Evidently report.",
    ),
    AlertRule(
        name="attack_signal_increase", metric="drift.feature_drifted", where={"feature": "attack_signal"},
        condition=Condition(op=">=", value=1.0), for_=2, severity="warning", renotify=dt.timedelta(days=1),
        description="The share of prompts that match injection/jailbreak patterns or sit close to known attack "
                    "prompts rose above the reference (calibrated test and a 1-point floor) in consecutive runs.",
    ),
)
