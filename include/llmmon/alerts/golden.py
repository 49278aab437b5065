"""Alerts raised by a golden-set verdict: one per regressed slice, deduplicated by rule, endpoint, suite and slice."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from llmmon.verdicts import Verdict

RULE = "golden_pass_rate_drop"


def alert_id(rule: str, run_key: str, subject: str) -> str:
    """Deterministic id, so a retried task upserts the same alert instead of adding one."""
    return hashlib.sha256(f"{rule}|{run_key}|{subject}".encode()).hexdigest()[:20]


def alerts_from_verdict(
    verdict: Verdict, *, run: dict[str, Any], now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Alert records (rows for the ``alerts`` table) for every slice that regressed; none otherwise."""
    now = now or dt.datetime.now(dt.UTC)
    out = []
    for s in verdict.regressions:
        severity = "critical" if s.subject == "overall" else "warning"
        message = (
            f"[{severity}] golden set '{run['suite']}' on endpoint '{run['endpoint']}': {s.subject} pass rate "
            f"{s.baseline_pass_rate:.1%} -> {s.candidate_pass_rate:.1%} (drop {s.drop:.1%} > {s.threshold:.1%}, "
            f"n={s.n_paired}, McNemar p={s.mcnemar_p:.3g}) for model version {run['model_version']} "
            f"vs baseline run {verdict.baseline_run_key}"
        )
        out.append(
            {
                "alert_id": alert_id(RULE, run["run_key"], s.subject),
                "dedup_key": f"{RULE}:{run['endpoint']}:{run['suite']}:{s.subject}",
                "rule": RULE,
                "severity": severity,
                "status": "firing",
                "source_run_key": run["run_key"],
                "subject": s.subject,
                "metric": "pass_rate",
                "value": s.candidate_pass_rate,
                "baseline_value": s.baseline_pass_rate,
                "threshold": s.threshold,
                "message": message,
                "created_at": now,
                "updated_at": now,
            }
        )
    return out
