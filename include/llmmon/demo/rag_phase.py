"""The retrieval part of ``make demo`` (runs after the traffic phase, inside the demo server's lifetime).

``rag_eval`` runs three times against the demo server's BM25 retriever over the ``rag_support`` corpus: the deploy of
index ``v1`` (the baseline), the deploy of ``v2-degraded`` (a broken re-index: a third of the documents lost, the
rest indexed by title only), then the daily run, which evaluates what is deployed now. Both degraded runs are
regressions against v1, so the sustained ``retrieval_regression`` alert (``for: 2``) fires. The daily run's data
interval covers the v2 traffic hours, so it also has the judge rate the retrieved context of production RAG spans.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

H = dt.timedelta(hours=1)
SHOWN = ("recall@5", "recall@10", "precision@5", "mrr@10", "ndcg@10", "map@10")


def _rows(warehouse, sql: str, **params) -> list[dict]:
    import sqlalchemy as sa

    with warehouse.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]


def run_rag_phase(
    *, settings, state: Path, server, env: dict[str, str], run_dag: Callable[[list[str], str, str], None],
    traffic: dict[str, Any],
) -> dict[str, Any]:
    """Run rag_eval for index v1, the degraded index, and the daily run; return the run keys in order."""
    from llmmon.warehouse import Warehouse, retrieval_store

    warehouse = Warehouse(settings.warehouse.url)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    _, cur1, _ = traffic["windows"]
    steps = [
        ("deploy index v1 (the baseline)", None,
         {"index_version": "v1", "deploy_id": f"demo-index-{stamp}-v1", "stage": "deploy"}),
        ("deploy index v2-degraded", None,
         {"index_version": "v2-degraded", "deploy_id": f"demo-index-{stamp}-v2", "stage": "deploy"}),
        # the scheduled run of the day after the v2 traffic: what is deployed now, plus production context relevance
        ("daily run on v2-degraded", (cur1 + 2 * H).isoformat(), {"stage": "daily"}),
    ]
    print("llmmon demo: rag_eval through Airflow — index v1, the degraded index, its daily run", flush=True)
    run_keys = []
    for i, (label, logical_date, conf) in enumerate(steps, 1):
        before = {r["run_key"] for r in retrieval_store.list_runs(warehouse, limit=200)}
        args = ["rag_eval", *([logical_date] if logical_date else []), "--conf", json.dumps(conf)]
        run_dag(args, f"rag_eval-{i}", f"airflow dags test rag_eval: {label}")
        new = [r for r in retrieval_store.list_runs(warehouse, limit=200) if r["run_key"] not in before]
        if not new:
            raise RuntimeError(f"no retrieval run recorded for {label}")
        run_keys.append(new[0]["run_key"])
    return {"run_keys": run_keys, "traffic_windows": (cur1, cur1 + H)}


def format_rag_summary(warehouse, result: dict[str, Any]) -> str:
    """Metrics per index version, the verdicts, production context relevance and the alert."""
    from llmmon.warehouse import retrieval_store

    if not result.get("run_keys"):
        return ""
    lines = ["RAG retrieval quality (rag_eval on golden_sets/rag_support -> retrieval_runs, retrieval_results):"]
    for key in result["run_keys"]:
        run = retrieval_store.get_run(warehouse, key)
        if run is None:
            continue
        means = {s["metric"]: s["mean"] for s in retrieval_store.run_summaries(warehouse, key)
                 if s["dimension"] == "overall"}
        shown = "  ".join(f"{m} {means[m]:.3f}" for m in SHOWN if means.get(m) is not None)
        rel = (f"  judged context relevance {run['context_relevance']:.2f}" if run["context_relevance"] is not None
               else "")
        lines.append(f"  index {run['index_version']} ({run['stage']}, {run['n_queries']} queries, "
                     f"{run['n_failed'] or 0} failed): {shown}{rel}")
        lines.append(f"    verdict {run['verdict']}: {run['verdict_reason'] or run['error'] or ''}")
    start, end = result.get("traffic_windows", (None, None))
    if start is not None:
        groups: dict[str, list[dict]] = {}
        for r in retrieval_store.context_rows(warehouse, start=start, end=end + H):
            groups.setdefault(r["prompt_template"], []).append(r)
        for template, rows in sorted(groups.items()):
            rated = [r["relevance"] for r in rows if r["relevance"] is not None]
            if rated:
                spans = len({(r["trace_id"], r["span_id"]) for r in rows})
                lines.append(f"  production context relevance ({template}, v2 hours): {spans} RAG spans, "
                             f"{len(rated)} chunks rated by the judge, mean {sum(rated) / len(rated):.2f} (0..1)")
    alerts = _rows(warehouse, "SELECT * FROM alerts WHERE rule LIKE 'retrieval%' ORDER BY alert_id")
    live = [a for a in alerts if a["state"] in ("pending", "firing")]
    for a in live:
        labels = a["labels"] if isinstance(a["labels"], dict) else json.loads(a["labels"])
        lines.append(f"  alert {a['rule']} [{a['severity']}] retriever={labels.get('retriever')} "
                     f"{labels.get('subject')}: {a['state']}")
    if not live:
        lines.append("  alert retrieval_regression: none open")
    return "\n".join(lines)
