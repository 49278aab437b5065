"""The drift part of ``make demo`` (runs after the traffic phase, inside the demo server's lifetime).

v2's users send different prompts (the traffic phase's ``DEMO_V2_SHIFT``: more RAG questions, more free users,
other languages, some injection attempts). ``drift_report`` runs for each of v2's two hours against a named
reference — v1's hour, blessed as ``v1_baseline`` in a demo overlay of the traffic phase's config — so the first
run makes the ``input_drift`` and ``attack_signal_increase`` alerts pending and the second fires them (``for: 2``).
The overlay also uses hourly windows and keeps the reports under ``.llmmon/drift-reports``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

H = dt.timedelta(hours=1)
REFERENCE = "v1_baseline"


def write_overlay(base_config: Path, state: Path, reference_start: dt.datetime) -> Path:
    """The traffic phase's demo config plus the drift settings of the demo."""
    import yaml

    doc = yaml.safe_load(base_config.read_text(encoding="utf-8"))
    doc["drift"] = {
        "window": "1h",
        "reference": REFERENCE,
        "references": {REFERENCE: {"start": reference_start.isoformat(), "end": (reference_start + H).isoformat(),
                                   "description": "v1's production hour, before the v2 deploy"}},
        "artifacts": str(state / "drift-reports"),
    }
    path = state / "demo-drift.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def run_drift_phase(
    *, settings, state: Path, server, env: dict[str, str], run_dag: Callable[[list[str], str, str], None],
    traffic: dict[str, Any],
) -> dict[str, Any]:
    """Run drift_report for v2's two hours against v1's hour; return the run keys."""
    from llmmon.drift.job import run_key_for

    ref, cur1, cur2 = traffic["windows"]
    base = Path(env["LLMMON_CONFIG"])
    overlay = write_overlay(base, state, ref)
    keys = []
    env["LLMMON_CONFIG"] = str(overlay)  # run_dag reads this dict: restored for the phases after this one
    try:
        for i, start in enumerate((cur1, cur2), 1):
            conf = {"window_start": start.isoformat(), "window_end": (start + H).isoformat()}
            run_dag(["drift_report", (start + H).isoformat(), "--conf", json.dumps(conf)], f"drift_report-{i}",
                    f"airflow dags test drift_report: v2 hour {i} vs {REFERENCE}")
            keys.append(run_key_for(None, start, start + H, REFERENCE))
    finally:
        env["LLMMON_CONFIG"] = str(base)
    return {"run_keys": keys}


def format_drift_summary(warehouse, result: dict[str, Any]) -> str:
    """The lines ``make demo`` prints for this capability ("" to print nothing)."""
    import sqlalchemy as sa

    from llmmon.warehouse.drift_store import drift_metric_rows, get_drift_run

    if not result.get("run_keys"):
        return ""
    lines = ["Input drift (drift_report: v2's hours against v1's hour, calibrated thresholds + effect floors):"]
    for key in result["run_keys"]:
        run = get_drift_run(warehouse, key)
        if run is None:
            lines.append(f"  {key}: no run recorded")
            continue
        lines.append(f"  window {run['window_start']:%Y-%m-%d %H:%M} UTC: {run['status']}, "
                     f"{run['n_features_drifted']} of {run['n_features_tested']} features drifted "
                     f"({run['n_cur']:,} spans vs {run['n_ref']:,}); attack-like prompts "
                     f"{(run['attack_share_ref'] or 0):.1%} -> {(run['attack_share_cur'] or 0):.1%}")
        drifted = [m for m in drift_metric_rows(warehouse, key) if m["decisive"] and m["drifted"]]
        drifted.sort(key=lambda m: m["p_adjusted"] if m["p_adjusted"] is not None else 1.0)
        for m in drifted:
            lines.append(f"    {m['feature']:18} {m['method']} {m['statistic']:.4g} > threshold {m['threshold']:.4g}"
                         f", effect {m['effect']:.4g} (floor {m['effect_floor']:.4g})")
        new = [m for m in drift_metric_rows(warehouse, key) if m["method"] == "new_categories" and m["drifted"]]
        for m in new:
            lines.append(f"    new categories of {m['feature']}: {m['reason']}")
        lines.append(f"    report: {run['report_uri'] or '(not rendered)'}")
    with warehouse.engine.connect() as conn:  # this demo's episodes only (an earlier demo left its own)
        alerts = [dict(r._mapping) for r in conn.execute(sa.text(
            "SELECT rule, state, severity, last_point_id FROM alerts "
            "WHERE rule IN ('input_drift', 'attack_signal_increase') ORDER BY rule, started_at"))
            if r.last_point_id in result["run_keys"]]
    for a in alerts:
        lines.append(f"  alert {a['rule']} [{a['severity']}]: {a['state']}")
    if not alerts:
        lines.append("  alerts input_drift / attack_signal_increase: none")
    return "\n".join(lines)
