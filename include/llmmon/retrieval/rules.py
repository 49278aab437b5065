"""The alert rules the retrieval capability ships (appended to ``llmmon.alerts.defaults.DEFAULT_RULES``).

A drop in retrieval recall usually comes before a drop in answer quality: these are early warnings. Like the
golden-set rules they need ``for: 2`` consecutive regressed runs (e.g. the deploy of a new index, then the next
daily run): one bad run is noise, two is a trend.
"""

from __future__ import annotations

import datetime as dt

from llmmon.config import AlertRule, Condition

RULES: tuple[AlertRule, ...] = (
    AlertRule(
        name="retrieval_regression", metric="retrieval.regression", where={"subject": "overall"},
        condition=Condition(op=">=", value=1.0), for_=2, severity="warning", renotify=dt.timedelta(days=1),
        description="The retrieval verdict found a significant drop of recall@k, nDCG@k or MRR@k (paired "
                    "sign-flip test, Holm-adjusted, effect floor) against the baseline index version in "
                    "consecutive rag_eval runs: answer quality usually follows.",
    ),
    AlertRule(
        name="retrieval_intent_regression", metric="retrieval.regression", where={"subject": "intent:*"},
        condition=Condition(op=">=", value=1.0), for_=2, severity="info", renotify=dt.timedelta(days=1),
        description="Retrieval for one intent got significantly worse than on the baseline index version in "
                    "consecutive rag_eval runs.",
    ),
)
