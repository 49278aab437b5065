"""The alert rules llmmon ships, and how configured rules combine with them.

Defaults cover a golden-set regression (overall: critical; one intent: warning), the endpoint error share, the
SLO examples of the reference practice (TTFT p95 < 1.5 s, end-to-end p99 < 8 s, error rate < 0.5%), a judge-score
shift of a production stratum, and a jump of a traffic slice's refusal rate. Each fires only after ``for: 2``
consecutive runs (or traffic windows): one bad run is noise, two is a trend. A configured rule with the same
name replaces a default, so tuning one is a matter of redeclaring it under its name.

Defaults name no route: they record alerts (``alerts``, ``alert_events``) and notify nobody until routes are
given, either by redeclaring the rule or with ``merge_rules(..., default_routes=[...])``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from llmmon.alerts.engine import validate_rules
from llmmon.config import AlertRule, Condition, Settings
from llmmon.errors import ConfigError

_DAY = dt.timedelta(days=1)

DEFAULT_RULES: tuple[AlertRule, ...] = (
    AlertRule(
        name="golden_regression", metric="golden.regression", where={"subject": "overall"},
        condition=Condition(op=">=", value=1.0), for_=2, severity="critical", renotify=_DAY,
        description="The golden-set verdict called the overall pass rate a regression (paired test and "
                    "effect-size floor) in consecutive runs against the baseline.",
    ),
    AlertRule(
        name="golden_intent_regression", metric="golden.regression", where={"subject": "intent:*"},
        condition=Condition(op=">=", value=1.0), for_=2, severity="warning", renotify=_DAY,
        description="The golden-set verdict called one intent's pass rate a regression in consecutive runs.",
    ),
    AlertRule(
        name="endpoint_error_share", metric="eval.error_share",
        condition=Condition(op=">", value=0.05), resolve=Condition(op="<=", value=0.02), for_=2,
        severity="critical", renotify=dt.timedelta(hours=4),
        description="More than 5% of eval calls ended in an endpoint error: above the default error budget, "
                    "so quality verdicts are inconclusive while it lasts.",
    ),
    AlertRule(
        name="slo_error_rate", metric="eval.error_share",
        condition=Condition(op=">", value=0.005), resolve=Condition(op="<=", value=0.0025), for_=2,
        severity="warning", renotify=_DAY,
        description="SLO: error rate < 0.5% of calls.",
    ),
    AlertRule(
        name="slo_ttft_p95", metric="eval.ttft_p95_s",
        condition=Condition(op=">", value=1.5), resolve=Condition(op="<", value=1.2), for_=2,
        severity="warning", renotify=_DAY,
        description="SLO: time to first token p95 < 1.5 s.",
    ),
    AlertRule(
        name="slo_latency_p99", metric="eval.latency_p99_s",
        condition=Condition(op=">", value=8.0), resolve=Condition(op="<", value=6.4), for_=2,
        severity="warning", renotify=_DAY,
        description="SLO: end-to-end latency p99 < 8 s.",
    ),
    AlertRule(
        name="judge_score_shift", metric="judge.score_shift",
        condition=Condition(op=">=", value=1.0), for_=2, severity="warning", renotify=_DAY,
        description="The LLM judge's scores of one stratum (prompt template and user segment) dropped against "
                    "the reference window (two-sample test, corrected across strata, effect floor) in "
                    "consecutive windows.",
    ),
    AlertRule(
        name="traffic_refusal_jump", metric="traffic.refusal_rate_increase",
        condition=Condition(op=">", value=0.05), resolve=Condition(op="<=", value=0.02), for_=2,
        severity="warning", renotify=_DAY,
        description="The refusal rate of a slice of production traffic rose more than 5 points above its "
                    "reference period in consecutive windows.",
    ),
    AlertRule(
        # for: 1 — a calibration measurement on a fixed human-labelled set is not a noisy window
        name="judge_agreement", metric="judge.agreement_alarm",
        condition=Condition(op=">=", value=1.0), for_=1, severity="warning", renotify=_DAY,
        description="The LLM judge's agreement with human labels (accuracy or Cohen's kappa on the calibration "
                    "set) fell below its floor, or the judge model changed: its scores cannot be trusted as before.",
    ),
)

# Rules of the capabilities that keep them beside their code (drift, retrieval, SLO windows).
from llmmon.drift.rules import RULES as _DRIFT_RULES  # noqa: E402
from llmmon.retrieval.rules import RULES as _RETRIEVAL_RULES  # noqa: E402
from llmmon.slo.rules import RULES as _SLO_RULES  # noqa: E402

DEFAULT_RULES = DEFAULT_RULES + _DRIFT_RULES + _RETRIEVAL_RULES + _SLO_RULES


def merge_rules(
    configured: Sequence[AlertRule],
    defaults: Sequence[AlertRule] = DEFAULT_RULES,
    *,
    default_routes: Sequence[str] = (),
) -> list[AlertRule]:
    """The defaults (in order; a configured rule with the same name takes a default's place), then the other
    configured rules. Defaults without routes get ``default_routes``. Validated: raises ConfigError naming the
    rule for an unknown metric, an unknown ``where`` label or a repeated name among the configured rules."""
    validate_rules(configured)
    by_name = {r.name: r for r in configured}
    merged = []
    for d in defaults:
        if d.name in by_name:
            merged.append(by_name[d.name])
        elif default_routes and not d.routes:
            merged.append(d.model_copy(update={"routes": list(default_routes)}))
        else:
            merged.append(d)
    default_names = {d.name for d in defaults}
    merged += [r for r in configured if r.name not in default_names]
    validate_rules(merged)
    return merged


def rules_from_settings(settings: Settings, *, default_routes: Sequence[str] = ()) -> list[AlertRule]:
    """The rules to evaluate for ``settings``: the shipped defaults merged with ``settings.alert_rules``;
    ``default_routes`` must be routes declared in ``settings.routes``."""
    known = [r.name for r in settings.routes]
    unknown = [r for r in default_routes if r not in known]
    if unknown:
        raise ConfigError(f"default alert route(s) {unknown} are not declared in {settings.source}; routes: {known}")
    return merge_rules(settings.alert_rules, default_routes=default_routes)
