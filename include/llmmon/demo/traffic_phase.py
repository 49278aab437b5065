"""The production-traffic part of ``make demo``: v1 traffic a day before, v2 traffic over two hours, judged.

Demo traffic goes through the demo model server (fast timings, so 6,000 requests take seconds) and is written as
OTLP JSON by the OpenTelemetry SDK; ``traffic_ingest`` loads it, and ``traffic_judge`` runs for the v1 reference hour
and the two v2 hours. The demo judges every span of the helpfulness rubric with a 0.1-point effect floor (the shipped
defaults sample 5% and need 0.2 points): two hourly windows of demo traffic are small, and the demo must show in a
minute what production shows over a day. Those overrides live in a demo overlay of the embedded defaults.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

H = dt.timedelta(hours=1)
V1_REQUESTS, V2_REQUESTS = 3600, 2400


def write_overlay(settings, state: Path, traffic_dir: Path, golden_sets_dir: str) -> Path:
    """The embedded defaults with the demo's traffic settings; absolute paths, so nothing resolves elsewhere."""
    import yaml

    from llmmon.config import DEFAULTS_PATH

    doc = yaml.safe_load(DEFAULTS_PATH.read_text(encoding="utf-8"))
    doc["warehouse"] = {"url": settings.warehouse.url}
    doc["golden_sets_dir"] = golden_sets_dir
    doc["traffic"]["source"] = str(traffic_dir)
    doc["judge"].update({"rubrics": ["helpfulness"], "sampling": {"mode": "uniform", "rate": 1.0},
                         "budget": {"max_calls": 10_000, "max_usd": None}})
    quality = doc.setdefault("quality", {}) or {}
    quality["structured_templates"] = {"ticket_triage": "json", "ticket_extraction": "json"}
    quality.setdefault("shift", {})["effect_floor"] = 0.1
    doc["quality"] = quality
    path = state / "demo-traffic.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def run_traffic_phase(
    *, settings, state: Path, server, env: dict[str, str], run_dag: Callable[[list[str], str, str], None]
) -> dict[str, Any]:
    """Generate, ingest and judge the demo traffic; return what the summary prints."""
    from llmmon.config import load_settings
    from llmmon.traffic.demo_traffic import DEMO_V2_SHIFT, generate_demo_traffic

    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    ref, cur1 = now - dt.timedelta(days=2), now - dt.timedelta(days=1)
    traffic_dir = state / "traffic"
    shutil.rmtree(traffic_dir, ignore_errors=True)
    overlay = write_overlay(settings, state, traffic_dir, settings.golden_sets_dir)
    env["LLMMON_CONFIG"] = str(overlay)
    demo_settings = load_settings(overlay, env=env)

    server.configure(ttft_ms=2, latency_ms=5, jitter_ms=0)
    try:
        v1 = generate_demo_traffic(demo_settings, traffic_dir, requests=V1_REQUESTS, seed=1, v2_share=0.0,
                                   start_at=ref, spread=H, concurrency=16)
        # v2's users also send different prompts (more RAG questions, other languages, some injection attempts):
        # the input drift that drift_report finds (docs/drift.md).
        v2 = generate_demo_traffic(demo_settings, traffic_dir, requests=V2_REQUESTS, seed=2, v2_share=1.0,
                                   start_at=cur1, spread=2 * H, concurrency=16, input_shift=DEMO_V2_SHIFT)
    finally:
        server.configure(ttft_ms=None, latency_ms=None, jitter_ms=None)
    print(f"  demo traffic: v1 {v1.summary()}; v2 {v2.summary()}", flush=True)

    run_dag(["traffic_ingest"], "ingest", "airflow dags test traffic_ingest")
    for i, (label, start) in enumerate((("v1 reference hour", ref), ("first v2 hour", cur1),
                                        ("second v2 hour", cur1 + H)), 1):
        run_dag(["traffic_judge", (start + H).isoformat()], f"traffic_judge-{i}",
                f"airflow dags test traffic_judge: {label}")
    return {"windows": (ref, cur1, cur1 + H), "v1": v1, "v2": v2}


def format_traffic_summary(warehouse, windows: tuple[dt.datetime, ...]) -> str:
    """Spans in, quality, judged scores by version, the shifted strata and the shift alerts."""
    import sqlalchemy as sa

    def rows(sql: str, **params) -> list[dict]:
        with warehouse.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]

    spans = rows("SELECT model_version, COUNT(*) AS n, SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS errors "
                 "FROM llm_spans GROUP BY model_version ORDER BY model_version")
    quarantined = rows("SELECT COUNT(*) AS n FROM llm_spans_quarantine")[0]["n"]
    scores = rows("SELECT model_version, COUNT(*) AS n, AVG(score) AS mean, SUM(judge_cost_usd) AS cost "
                  "FROM judge_scores WHERE rubric = 'helpfulness' AND score IS NOT NULL "
                  "GROUP BY model_version ORDER BY model_version")
    shifted = [r for r in rows("SELECT * FROM judge_shift") if r["shifted"]]
    alerts = rows("SELECT * FROM alerts WHERE rule = 'judge_score_shift' ORDER BY alert_id")
    lines = ["Production traffic (OTLP JSON from the OpenTelemetry SDK -> traffic_ingest -> traffic_judge):",
             "  spans: " + ", ".join(f"{r['model_version']} {r['n']:,} ({r['errors']} errors)" for r in spans)
             + f"; quarantined {quarantined}"]
    for r in scores:
        lines.append(f"  judged helpfulness {r['model_version']}: {r['n']:,} spans, mean score {r['mean']:.2f} / 5"
                     + (f", judge cost ${r['cost']:.4f}" if r["cost"] is not None else ""))
    by_window: dict[str, list[dict]] = {}
    for r in shifted:
        by_window.setdefault(str(r["window_start"])[:16], []).append(r)
    for window, group in sorted(by_window.items()):
        group.sort(key=lambda r: r["mean_cur"] - r["mean_ref"])
        top = ", ".join(f"{r['stratum']} {r['mean_ref']:.2f} -> {r['mean_cur']:.2f} (adj. p={r['p_adjusted']:.2g})"
                        for r in group[:3])
        lines.append(f"  judge-score shift, window {window} UTC: {len(group)} strata shifted; largest: {top}")
    live = [a for a in alerts if a["state"] in ("pending", "firing")]
    for a in live:
        labels = a["labels"] if isinstance(a["labels"], dict) else json.loads(a["labels"])
        lines.append(f"  alert judge_score_shift [{a['severity']}] {labels.get('stratum')}: {a['state']}")
    if not live:
        lines.append("  alert judge_score_shift: none open")
    return "\n".join(lines)
