"""Incident triage from the warehouse: the first three questions, answered in seconds.

1. **Latency or quality?** Infrastructure SLO windows breached over the period (``slo_windows``, rollups) against the
   quality results of the same period: golden-set verdicts (``eval_runs``), judge-score shifts (``judge_shift``),
   input drift (``drift_runs``) and retrieval verdicts (``retrieval_runs``).
2. **Model-wide or one slice?** Every slice (model and endpoint, and each model version, prompt template, user
   segment and replica within them) against its own baseline — the same slice over ``slo.triage.baseline`` before
   the period — ranked by how far it moved, with counts. A (model, endpoint) is *model-wide* when in every sliced
   dimension with two or more values the deviating values carry most of the requests; *slice-specific* when in
   some dimension they carry a minority (that dimension names the culprit).
3. **What deployed?** ``deployments`` over the last 24 hours (or the period, if longer).

Period figures come from the stored windows: error rates and slow-request shares are exact (counts add up);
TTFT p95 and latency p99 of a period are the request-weighted means of the windows' percentiles (percentiles do
not add up; the windows' own are exact). docs/triage.md has the same questions as plain SQL.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from llmmon.warehouse.schema import deployments, eval_runs, metadata, to_utc
from llmmon.warehouse.schema_slo import slo_windows

if TYPE_CHECKING:
    from llmmon.config import Settings
    from llmmon.warehouse import Warehouse

DAY = dt.timedelta(days=1)


def _slice_figures(warehouse: Warehouse, start: dt.datetime, end: dt.datetime) -> dict[tuple, dict[str, Any]]:
    """Per (model, endpoint, dimension, value): requests, errors, and request-weighted TTFT p95 / latency p99 over
    the windows starting in [start, end)."""
    c = slo_windows.c
    ttft_w = sa.case((c.ttft_p95_s.is_not(None), c.n_ttft), else_=0)
    lat_w = sa.case((c.latency_p99_s.is_not(None), c.n_latency), else_=0)
    q = (
        sa.select(
            c.model, c.endpoint, c.dimension, c.value,
            sa.func.sum(c.n_requests).label("n"), sa.func.sum(c.n_errors).label("errors"),
            sa.func.sum(c.ttft_p95_s * ttft_w).label("ttft_sum"), sa.func.sum(ttft_w).label("ttft_n"),
            sa.func.sum(c.latency_p99_s * lat_w).label("lat_sum"), sa.func.sum(lat_w).label("lat_n"),
            sa.func.sum(c.n_ttft_slow).label("ttft_slow"), sa.func.sum(c.n_ttft).label("n_ttft"),
            sa.func.count().label("windows"),
        )
        .where(c.window_start >= start, c.window_start < end)
        .group_by(c.model, c.endpoint, c.dimension, c.value)
    )
    out = {}
    for r in warehouse.select_rows(q):
        n = int(r["n"] or 0)
        out[(r["model"], r["endpoint"], r["dimension"], r["value"])] = {
            "n": n, "errors": int(r["errors"] or 0), "windows": int(r["windows"]),
            "error_rate": (r["errors"] or 0) / n if n else None,
            "ttft_p95_s": r["ttft_sum"] / r["ttft_n"] if r["ttft_n"] else None,
            "latency_p99_s": r["lat_sum"] / r["lat_n"] if r["lat_n"] else None,
            "ttft_slow_share": (r["ttft_slow"] or 0) / r["n_ttft"] if r["n_ttft"] else None,
        }
    return out


def _ratio(cur: float | None, base: float | None) -> float | None:
    if cur is None or base is None or base <= 0:
        return None
    return cur / base


def rank_slices(
    period: Mapping[tuple, dict[str, Any]], baseline: Mapping[tuple, dict[str, Any]], *, min_requests: int,
    min_ratio: float, min_error_increase: float, objectives: Any = None,
) -> list[dict[str, Any]]:
    """Every slice with enough requests in the period, with its baseline and how far it moved, most deviating first.

    ``score`` is in ratio units: the larger of the TTFT p95 and latency p99 ratios, and the error-rate increase
    scaled so that ``min_error_increase`` scores ``min_ratio``. A slice with too little baseline is ``new`` (a new
    version, replica or template): it has no baseline to deviate from, so it is held to the ``objectives``
    instead (``slo.objectives``; deviates when over one, scored by value / objective)."""
    out = []
    for key, cur in period.items():
        if cur["n"] < min_requests:
            continue
        base = baseline.get(key)
        has_base = base is not None and base["n"] >= min_requests
        ttft_ratio = _ratio(cur["ttft_p95_s"], base["ttft_p95_s"]) if has_base else None
        lat_ratio = _ratio(cur["latency_p99_s"], base["latency_p99_s"]) if has_base else None
        err_increase = (cur["error_rate"] - base["error_rate"]) if has_base and base["error_rate"] is not None \
            else None
        err_score = 1.0 + (err_increase or 0.0) / min_error_increase * (min_ratio - 1.0)
        score = max([x for x in (ttft_ratio, lat_ratio) if x is not None] + [err_score])
        reasons = []
        if ttft_ratio is not None and ttft_ratio >= min_ratio:
            reasons.append(f"TTFT p95 x{ttft_ratio:.1f}")
        if lat_ratio is not None and lat_ratio >= min_ratio:
            reasons.append(f"latency p99 x{lat_ratio:.1f}")
        if err_increase is not None and err_increase >= min_error_increase:
            reasons.append(f"error rate +{100 * err_increase:.1f} pts")
        if not has_base and objectives is not None:
            for label, cur_value, limit in (("TTFT p95", cur["ttft_p95_s"], objectives.ttft_p95_s),
                                            ("latency p99", cur["latency_p99_s"], objectives.latency_p99_s),
                                            ("error rate", cur["error_rate"], objectives.error_rate)):
                if cur_value is not None and limit is not None:
                    score = max(score, min_ratio * cur_value / limit)
                    if cur_value > limit:
                        shown = f"{100 * cur_value:.2f}%" if label == "error rate" else f"{cur_value:.2f} s"
                        reasons.append(f"new, {label} {shown} over the objective")
        model, endpoint, dimension, value = key
        out.append({
            "model": model, "endpoint": endpoint, "dimension": dimension, "value": value,
            "n": cur["n"], "n_baseline": base["n"] if base else 0, "new": not has_base,
            "ttft_p95_s": cur["ttft_p95_s"], "baseline_ttft_p95_s": base["ttft_p95_s"] if base else None,
            "latency_p99_s": cur["latency_p99_s"], "baseline_latency_p99_s": base["latency_p99_s"] if base else None,
            "error_rate": cur["error_rate"], "baseline_error_rate": base["error_rate"] if base else None,
            "ttft_ratio": ttft_ratio, "latency_ratio": lat_ratio, "error_rate_increase": err_increase,
            "score": score, "deviates": bool(reasons), "reasons": reasons,
        })
    out.sort(key=lambda s: (-s["score"], -s["n"], s["model"], s["endpoint"], s["dimension"], s["value"]))
    return out


def scope(slices: list[dict[str, Any]]) -> dict[str, Any]:
    """Question 2: model-wide or slice-specific, from the ranked slices."""
    deviating = [s for s in slices if s["deviates"]]
    if not deviating:
        return {"answer": "none", "detail": "no slice deviates from its baseline", "affected": []}
    affected = []
    for model, endpoint in dict.fromkeys((s["model"], s["endpoint"]) for s in deviating):
        mine = [s for s in slices if (s["model"], s["endpoint"]) == (model, endpoint)]
        rollup = next((s for s in mine if s["dimension"] == "all"), None)
        concentrated = []
        for dim in dict.fromkeys(s["dimension"] for s in mine if s["dimension"] != "all"):
            values = [s for s in mine if s["dimension"] == dim]
            bad = [s for s in values if s["deviates"]]
            total = sum(s["n"] for s in values)
            if len(values) >= 2 and bad and total and sum(s["n"] for s in bad) / total < 0.5:
                concentrated.append({"dimension": dim, "values": [s["value"] for s in bad],
                                     "share": sum(s["n"] for s in bad) / total})
        concentrated.sort(key=lambda d: d["share"])
        kind = "slice-specific" if concentrated or not (rollup and rollup["deviates"]) else "model-wide"
        affected.append({"model": model, "endpoint": endpoint, "scope": kind, "rollup_deviates":
                         bool(rollup and rollup["deviates"]), "concentrated_in": concentrated})
    kinds = {a["scope"] for a in affected}
    answer = "model-wide" if kinds == {"model-wide"} else "slice-specific"
    parts = []
    for a in affected:
        where = (f" ({a['concentrated_in'][0]['dimension']} = "
                 f"{', '.join(map(str, a['concentrated_in'][0]['values']))}, "
                 f"{100 * a['concentrated_in'][0]['share']:.0f}% of requests)") if a["concentrated_in"] else ""
        parts.append(f"{a['model']} @ {a['endpoint']}: {a['scope']}{where}")
    return {"answer": answer, "detail": "; ".join(parts), "affected": affected}


def _optional(name: str) -> sa.Table | None:
    return metadata.tables.get(name)


def _latency(warehouse: Warehouse, settings: Settings, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Breached rollup windows per objective (non-sparse windows only), and the error budgets spent."""
    from llmmon.slo.burn import error_budgets

    c = slo_windows.c
    obj = settings.slo.objectives
    checks = [("ttft_p95_s", obj.ttft_p95_s), ("latency_p99_s", obj.latency_p99_s),
              ("error_rate", obj.error_rate), ("cost_per_1k_usd", obj.cost_per_1k_usd)]
    rows = warehouse.select_rows(
        sa.select(slo_windows).where(c.window_start >= start, c.window_start < end, c.dimension == "all")
        .order_by(c.window_start))
    breaches = []
    for column, limit in checks:
        if limit is None:
            continue
        by_key: dict[tuple[str, str], list[dict]] = {}
        for r in rows:
            if not r["sparse"] and r[column] is not None and r[column] > limit:
                by_key.setdefault((r["model"], r["endpoint"]), []).append(r)
        for (model, endpoint), hit in by_key.items():
            worst = max(hit, key=lambda r: r[column])
            breaches.append({"objective": column, "limit": limit, "model": model, "endpoint": endpoint,
                             "windows": len(hit), "first": to_utc(hit[0]["window_start"]),
                             "last": to_utc(hit[-1]["window_end"]), "worst": worst[column],
                             "worst_window": to_utc(worst["window_start"])})
    budgets = error_budgets(rows, start=start, end=end, period=settings.slo.burn_rates.period)
    return {"windows": len(rows), "breaches": breaches, "budgets": budgets,
            "requests": sum(r["n_requests"] for r in rows),
            "sparse_windows": sum(1 for r in rows if r["sparse"])}


def _quality(warehouse: Warehouse, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Quality results of the period: golden verdicts, judge shifts, drift runs, retrieval verdicts."""
    out: dict[str, Any] = {}
    e = eval_runs.c
    golden = warehouse.select_rows(
        sa.select(e.run_key, e.endpoint, e.suite, e.model_version, e.verdict, e.pass_rate, e.finished_at)
        .where(e.status == "success", e.finished_at >= start, e.finished_at < end).order_by(e.finished_at))
    out["golden"] = {"runs": len(golden), "regressions": [r for r in golden if r["verdict"] == "regression"]}
    shift = _optional("judge_shift")
    if shift is not None:
        s = shift.c
        rows = warehouse.select_rows(
            sa.select(s.window_start, s.endpoint, s.stratum, s.rubric, s.mean_ref, s.mean_cur, s.p_adjusted)
            .where(s.window_start >= start, s.window_start < end, s.shifted.is_(True)).order_by(s.window_start))
        out["judge"] = {"shifted": rows}
    drift = _optional("drift_runs")
    if drift is not None and {"drifted", "window_end", "endpoint"} <= set(drift.c.keys()):
        d = drift.c
        rows = warehouse.select_rows(
            sa.select(d.run_key, d.endpoint, d.window_start, d.window_end, d.n_features_drifted)
            .where(d.window_end > start, d.window_end <= end, d.drifted.is_(True)).order_by(d.window_end))
        out["drift"] = {"drifted": rows}
    retrieval = _optional("retrieval_runs")
    if retrieval is not None and {"verdict", "finished_at"} <= set(retrieval.c.keys()):
        r = retrieval.c
        rows = warehouse.select_rows(
            sa.select(r.run_key, r.retriever, r.index_version, r.suite, r.verdict, r.finished_at)
            .where(r.finished_at >= start, r.finished_at < end, r.verdict == "regression").order_by(r.finished_at))
        out["retrieval"] = {"regressions": rows}
    return out


def _quality_signals(q: Mapping[str, Any]) -> list[str]:
    signals = []
    if q["golden"]["regressions"]:
        signals.append(f"{len(q['golden']['regressions'])} golden-set regression verdict(s)")
    if q.get("judge", {}).get("shifted"):
        signals.append(f"{len(q['judge']['shifted'])} judge-score shift(s)")
    if q.get("drift", {}).get("drifted"):
        signals.append(f"{len(q['drift']['drifted'])} drifted input window(s)")
    if q.get("retrieval", {}).get("regressions"):
        signals.append(f"{len(q['retrieval']['regressions'])} retrieval regression verdict(s)")
    return signals


def triage(
    settings: Settings, warehouse: Warehouse, *, since: dt.timedelta, until: dt.datetime | None = None
) -> dict[str, Any]:
    """The three answers over ``[until - since, until)`` (``until``: now), as a JSON-ready dict."""
    until = to_utc(until or dt.datetime.now(dt.UTC))
    start = until - since
    cfg = settings.slo.triage
    latency = _latency(warehouse, settings, start, until)
    quality = _quality(warehouse, start, until)
    infra = [b for b in latency["breaches"] if b["objective"] != "cost_per_1k_usd"]
    signals = _quality_signals(quality)
    if infra and signals:
        kind = "both"
    elif infra:
        kind = "latency"
    elif signals:
        kind = "quality"
    else:
        kind = "neither"
    infra_text = "; ".join(f"{b['objective']} > {b['limit']:g} in {b['windows']} window(s) of {b['model']} @ "
                           f"{b['endpoint']} (worst {b['worst']:.3g})" for b in infra) or "no SLO window breached"
    slices = rank_slices(
        _slice_figures(warehouse, start, until), _slice_figures(warehouse, start - cfg.baseline, start),
        min_requests=cfg.min_requests, min_ratio=cfg.min_ratio, min_error_increase=cfg.min_error_increase,
        objectives=settings.slo.objectives)
    d = deployments.c
    deployed_since = min(start, until - DAY)
    deploys = warehouse.select_rows(
        sa.select(d.deploy_id, d.endpoint, d.model, d.model_version, d.stage, d.source, d.deployed_at)
        .where(d.deployed_at >= deployed_since, d.deployed_at < until).order_by(d.deployed_at.desc()))
    a = metadata.tables["alerts"].c
    open_alerts = warehouse.select_rows(
        sa.select(a.rule, a.metric, a.state, a.severity, a.labels, a.value, a.started_at, a.fired_at)
        .where(a.state == "firing").order_by(a.fired_at.desc()))
    return {
        "period": {"start": start, "end": until, "baseline_start": start - cfg.baseline},
        "latency_or_quality": {
            "answer": kind, "infrastructure": infra_text,
            "quality": "; ".join(signals) or "no quality regression, shift or drift",
        },
        "latency": latency,
        "quality": quality,
        "slices": {**scope(slices), "ranked": slices[: cfg.top],
                   "deviating": sum(1 for s in slices if s["deviates"]), "compared": len(slices)},
        "deployments": {"since": deployed_since, "rows": deploys},
        "open_alerts": open_alerts,
    }


# -- rendering ----------------------------------------------------------------------------------------------------


def _f(x: float | None, unit: str = "s") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if unit == "%":
        return f"{100 * x:.2f}%"
    return f"{x:.3g}{unit}"


def format_triage(report: Mapping[str, Any]) -> str:
    """The report for a terminal."""
    p = report["period"]
    lq = report["latency_or_quality"]
    lines = [f"llmmon triage {p['start']:%Y-%m-%d %H:%M} .. {p['end']:%Y-%m-%d %H:%M} UTC "
             f"(baseline from {p['baseline_start']:%Y-%m-%d %H:%M})", "",
             f"1. Latency or quality? {lq['answer'].upper()}",
             f"   infrastructure: {lq['infrastructure']}",
             f"   quality:        {lq['quality']}"]
    lat = report["latency"]
    lines.append(f"   {lat['requests']:,} requests in {lat['windows']} rollup window(s) ({lat['sparse_windows']} sparse)")
    for b in lat["budgets"]:
        if b["burn_rate"] is not None and b["burn_rate"] >= 1:
            lines.append(f"   error budget {b['slo']} of {b['model']} @ {b['endpoint']}: burn {b['burn_rate']:.1f}x, "
                         f"{b['bad']:,} of {b['total']:,} bad, {100 * b['budget_spent']:.1f}% of the period's budget")
    s = report["slices"]
    lines += ["", f"2. Model-wide or one slice? {s['answer'].upper()}  ({s['deviating']} of {s['compared']} slices "
                  f"deviate from their baseline)", f"   {s['detail']}"]
    if s["ranked"]:
        lines.append(f"     {'slice':<58} {'n':>7} {'base n':>7} {'TTFT p95 (base -> now)':>22} {'e2e p99':>18} {'errors':>16}")
    for r in s["ranked"]:
        name = f"{r['model']} @ {r['endpoint']}" + ("" if r["dimension"] == "all" else
                                                       f" {r['dimension']}={r['value']}")
        mark = ("*" if r["deviates"] else " ") + ("new" if r["new"] else "   ")
        lines.append(
            f" {mark} {name[:58]:<58} {r['n']:>7,} {r['n_baseline']:>7,} "
            f"{_f(r['baseline_ttft_p95_s']):>7} -> {_f(r['ttft_p95_s']):<7} "
            f"{_f(r['baseline_latency_p99_s']):>7} -> {_f(r['latency_p99_s']):<7} "
            f"{_f(r['baseline_error_rate'], '%'):>6} -> {_f(r['error_rate'], '%'):<6}")
    dep = report["deployments"]
    lines += ["", f"3. Deployed since {dep['since']:%Y-%m-%d %H:%M} UTC: {len(dep['rows'])}"]
    for d in dep["rows"]:
        lines.append(f"   {d['deployed_at']:%Y-%m-%d %H:%M} {d['endpoint']}: {d['model']} {d['model_version']} "
                     f"({d['stage'] or '-'}, {d['source']}, {d['deploy_id']})")
    if report["open_alerts"]:
        lines += ["", f"Firing alerts: {len(report['open_alerts'])}"]
        for a in report["open_alerts"][:10]:
            labels = ", ".join(f"{k}={v}" for k, v in sorted((a["labels"] or {}).items()) if v)
            lines.append(f"   [{a['severity']}] {a['rule']} {labels}: {_f(a['value'], '')}")
    return "\n".join(lines)


def to_json(report: Any) -> Any:
    """``report`` with datetimes as ISO strings (for ``--json``)."""
    if isinstance(report, dict):
        return {k: to_json(v) for k, v in report.items()}
    if isinstance(report, list | tuple):
        return [to_json(v) for v in report]
    if isinstance(report, dt.datetime):
        return to_utc(report).isoformat()
    return report
