"""The slo part of ``make demo`` (runs after the traffic phase, inside the demo server's lifetime).

The traffic phase's demo timings are tiny (2 ms to the first token), so v2 is played slow for a burst: the demo
server is told to answer with a first token after ~1.7 s, v2 traffic is sent through it (measured by the endpoint
client, written as OTLP JSON by the OpenTelemetry SDK, re-timed over four 5-minute windows ending 20 minutes ago),
then the server's timing is restored. ``traffic_ingest`` loads the spans, ``slo_report`` computes every window
the ingestions touched and evaluates the alert rules at the burst's end: the TTFT SLO alert is pending after the
first breached window and firing after the second. Triage then answers the three questions for the last hour.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

M5 = dt.timedelta(minutes=5)
BURST_WINDOWS = 4
BURST_REQUESTS = 120  # 30 per window: above slo.min_requests (20), so no window is sparse
SLOW = {"ttft_ms": 1700, "latency_ms": 2600, "jitter_ms": 150}
SEED = 7007  # demo_traffic files are traffic-<seed>-*.jsonl: a seed no other phase uses


def run_slo_phase(
    *, settings, state: Path, server, env: dict[str, str], run_dag: Callable[[list[str], str, str], None],
    traffic: dict[str, Any],
) -> dict[str, Any]:
    """Play a slow v2 burst, ingest it, run slo_report at the burst's end, and triage the last 24 hours (as the
    on-call engineer would, now: the SLO breach, the quality results and the demo's deployments all fall in it)."""
    from llmmon.config import load_settings
    from llmmon.slo.triage import triage
    from llmmon.traffic.demo_traffic import generate_demo_traffic
    from llmmon.warehouse import Warehouse

    demo_settings = load_settings(env.get("LLMMON_CONFIG"), env=env)
    now = dt.datetime.now(dt.UTC)
    burst_end = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=now.minute % 5) - 4 * M5
    burst_start = burst_end - BURST_WINDOWS * M5
    server.configure(**SLOW)
    try:
        burst = generate_demo_traffic(demo_settings, demo_settings.traffic.source, requests=BURST_REQUESTS,
                                      seed=SEED, error_rate=0.0, v2_share=1.0, concurrency=16,
                                      start_at=burst_start, spread=BURST_WINDOWS * M5 - dt.timedelta(seconds=10))
    finally:
        server.configure(ttft_ms=None, latency_ms=None, jitter_ms=None)
    print(f"  slow v2 burst (demo server TTFT {SLOW['ttft_ms']} ms): {burst.summary()}", flush=True)

    run_dag(["traffic_ingest"], "slo-ingest", "airflow dags test traffic_ingest: the slow v2 burst")
    # The run due 15 minutes (slo.settle) after the burst: alert rules are evaluated at the burst's end.
    logical = burst_end + demo_settings.slo.settle
    run_dag(["slo_report", logical.isoformat()], "slo_report", "airflow dags test slo_report")

    warehouse = Warehouse(demo_settings.warehouse.url)
    started = time.perf_counter()
    report = triage(demo_settings, warehouse, since=dt.timedelta(hours=24))
    took = time.perf_counter() - started
    return {"burst": (burst_start, burst_end), "requests": burst.requests, "triage": report,
            "triage_seconds": took}


def format_slo_summary(warehouse, result: dict[str, Any]) -> str:
    """The lines ``make demo`` prints for this capability ("" to print nothing)."""
    if not result:
        return ""
    import json

    import sqlalchemy as sa

    from llmmon.slo.rules import RULES as SLO_RULES
    from llmmon.slo.triage import format_triage
    from llmmon.warehouse.schema import metadata

    start, end = result["burst"]

    def rows(sql: str, **params) -> list[dict]:
        with warehouse.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]

    from llmmon.warehouse.slo_store import window_rows

    windows = window_rows(warehouse, start=start, end=end, dimension="all", model="llmmon-demo-v2")
    n_rows = rows("SELECT COUNT(*) AS n FROM slo_windows")[0]["n"]
    lines = [f"Infrastructure SLOs (traffic_ingest -> slo_report; {n_rows:,} window x slice rows in slo_windows):",
             f"  v2 played slow {start:%H:%M}-{end:%H:%M} UTC: 5-minute windows of llmmon-demo-v2 @ demo "
             "(SLO: TTFT p95 < 1.5 s)"]
    for w in windows:
        flag = "BREACH" if (w["ttft_p95_s"] or 0) > 1.5 else "ok"
        lines.append(f"    {w['window_start']:%H:%M}  {w['n_requests']:>4} requests  TTFT p95 {w['ttft_p95_s']:.2f} s  "
                     f"e2e p99 {w['latency_p99_s']:.2f} s  errors {100 * (w['error_rate'] or 0):.1f}%  "
                     f"${w['cost_per_1k_usd'] or 0:.3f} / 1k requests  {flag}")
    a = metadata.tables["alerts"].c
    alerts = warehouse.select_rows(sa.select(a.rule, a.state, a.labels, a.value, a.fired_at)
                                   .where(a.rule.in_([r.name for r in SLO_RULES])).order_by(a.rule, a.started_at))
    ttft = [a for a in alerts if a["rule"] == "slo_window_ttft_p95"]
    for a in ttft:
        labels = a["labels"] if isinstance(a["labels"], dict) else json.loads(a["labels"])
        fired = (f"; fired at the end of the second breached window, {a['fired_at']:%H:%M} UTC"
                 if a["fired_at"] else "")
        lines.append(f"  alert slo_window_ttft_p95 [{labels.get('model')} @ {labels.get('endpoint')}]: "
                     f"{a['state']} (TTFT p95 {a['value']:.2f} s{fired})")
    if not ttft:
        lines.append("  alert slo_window_ttft_p95: none (unexpected: see the slo_report log)")
    resolved: dict[str, int] = {}
    for a in alerts:
        if a["rule"] == "slo_window_ttft_p95":
            continue
        if a["state"] not in ("pending", "firing"):
            if a["fired_at"] is not None:
                resolved[a["rule"]] = resolved.get(a["rule"], 0) + 1
            continue
        labels = a["labels"] if isinstance(a["labels"], dict) else json.loads(a["labels"])
        what = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if v and k != "dimension")
        lines.append(f"  alert {a['rule']} [{what}]: {a['state']} (value {a['value']:.3g})")
    if resolved:
        lines.append("  fired on the earlier demo traffic and resolved since (its injected errors are above the 0.5% "
                     "error-rate SLO): " + ", ".join(f"{rule} x{n}" for rule, n in sorted(resolved.items())))
    lines += ["", f"Incident triage (llmmon triage --since 24h; took {result['triage_seconds']:.2f} s):"]
    lines += ["  " + line for line in format_triage(result["triage"]).splitlines()]
    return "\n".join(lines)
