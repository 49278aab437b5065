"""Triage on constructed incidents (SQLite and PostgreSQL): latency or quality, model-wide or one slice, deploys;
and the SQL of docs/triage.md runs on both and gives the same answers."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
import sqlalchemy as sa

from llmmon.cli import main
from llmmon.slo.triage import format_triage, to_json, triage
from llmmon.slo.windows import aggregate_windows
from llmmon.warehouse.schema import UTCDateTime, deployments, eval_runs
from llmmon.warehouse.slo_store import replace_windows

from .conftest import ROOT, arrow, settings_for, span

UNTIL = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
SINCE = UNTIL - dt.timedelta(hours=1)
M5 = dt.timedelta(minutes=5)
S = dt.timedelta(seconds=1)


def _windows(start: dt.datetime, n: int, *, slow_replica: str | None, model: str = "m1", slow_ttft: float = 3.0):
    """``n`` windows from ``start``: per window 40 spans on r-0 and 20 on r-1 (templates alternate), plus 30 of
    model m2 that never change. TTFT 0.5 s, or ``slow_ttft`` on ``slow_replica`` ("*": every replica)."""
    rows = []
    for w in range(n):
        t = start + w * M5
        for k in range(60):
            replica = "r-0" if k < 40 else "r-1"
            slow = slow_replica in ("*", replica)
            rows.append(span(t + k * S, model=model, replica=replica, prompt_template=f"t-{k % 2}",
                             ttft_s=slow_ttft if slow else 0.5, duration_s=4.0 if slow else 1.0))
        rows += [span(t + k * S, model="m2", replica="r-0", ttft_s=0.4) for k in range(30)]
    return rows


def _load(warehouse, settings, rows):
    table = aggregate_windows(arrow(rows), settings.slo, settings.prices)
    replace_windows(warehouse, set(table.column("window_start").to_pylist()), table)


def _incident(warehouse, settings, slow_replica="r-1"):
    _load(warehouse, settings, _windows(SINCE - dt.timedelta(days=2), 3, slow_replica=None)  # baseline
          + _windows(SINCE, 3, slow_replica=slow_replica))
    with warehouse.engine.begin() as conn:
        conn.execute(sa.insert(deployments), [
            {"deploy_id": "dep-recent", "endpoint": "demo", "model": "m1", "model_version": "v2", "stage": "deploy",
             "source": "deploy_hook", "deployed_at": UNTIL - dt.timedelta(hours=2), "recorded_at": UNTIL},
            {"deploy_id": "dep-old", "endpoint": "demo", "model": "m1", "model_version": "v1", "stage": "deploy",
             "source": "deploy_hook", "deployed_at": UNTIL - dt.timedelta(days=3), "recorded_at": UNTIL},
        ])


def test_one_slow_replica_is_latency_and_slice_specific(warehouse_url, warehouse):
    settings = settings_for(warehouse_url)
    _incident(warehouse, settings)
    started = time.perf_counter()
    report = triage(settings, warehouse, since=dt.timedelta(hours=1), until=UNTIL)
    assert time.perf_counter() - started < 2.0

    lq = report["latency_or_quality"]
    assert lq["answer"] == "latency"
    (breach,) = report["latency"]["breaches"]
    # rollup of m1: 40 spans at 0.5 s and 20 at 3.0 s in each window: p95 = 3.0, three windows
    assert (breach["objective"], breach["model"], breach["windows"], breach["worst"]) == ("ttft_p95_s", "m1", 3, 3.0)
    ttft_budget = next(b for b in report["latency"]["budgets"] if (b["model"], b["slo"]) == ("m1", "ttft"))
    assert (ttft_budget["bad"], ttft_budget["total"]) == (60, 180)  # the r-1 spans are over 1.5 s
    assert ttft_budget["burn_rate"] == pytest.approx((60 / 180) / 0.05)

    s = report["slices"]
    assert s["answer"] == "slice-specific"
    (affected,) = s["affected"]
    assert (affected["model"], affected["scope"], affected["rollup_deviates"]) == ("m1", "slice-specific", True)
    assert affected["concentrated_in"][0]["dimension"] == "replica"
    assert affected["concentrated_in"][0]["values"] == ["r-1"]
    assert affected["concentrated_in"][0]["share"] == pytest.approx(1 / 3)
    top = s["ranked"][0]
    # ranked by ratio: r-1 went 0.5 -> 3.0 (x6), as did every slice holding its spans; bigger slices first
    assert [(r["dimension"], r["value"], r["n"]) for r in s["ranked"][:6]] == [
        ("all", "", 180), ("model_version", "v1", 180), ("user_segment", "free", 180),
        ("prompt_template", "t-0", 90), ("prompt_template", "t-1", 90), ("replica", "r-1", 60)]
    assert top["ttft_ratio"] == pytest.approx(6.0) and top["n"] == 180 and top["n_baseline"] == 180
    r0 = next(r for r in s["ranked"] if (r["model"], r["dimension"], r["value"]) == ("m1", "replica", "r-0"))
    assert not r0["deviates"] and r0["ttft_ratio"] == pytest.approx(1.0)
    assert not any(r["deviates"] for r in s["ranked"] if r["model"] == "m2")

    assert [d["deploy_id"] for d in report["deployments"]["rows"]] == ["dep-recent"]
    text = format_triage(report)
    assert "LATENCY" in text and "SLICE-SPECIFIC" in text and "replica = r-1" in text and "dep-recent" in text
    json.dumps(to_json(report))


def test_all_replicas_slow_is_model_wide_and_a_regression_makes_it_both(warehouse_url, warehouse):
    settings = settings_for(warehouse_url)
    _incident(warehouse, settings, slow_replica="*")
    report = triage(settings, warehouse, since=dt.timedelta(hours=1), until=UNTIL)
    assert report["slices"]["answer"] == "model-wide"
    assert report["latency_or_quality"]["answer"] == "latency"
    with warehouse.engine.begin() as conn:
        conn.execute(sa.insert(eval_runs), [{
            "run_key": "golden_eval/x", "status": "success", "endpoint": "demo", "suite": "customer_support",
            "verdict": "regression", "started_at": UNTIL - 30 * M5 / 10, "finished_at": UNTIL - M5}])
    report = triage(settings, warehouse, since=dt.timedelta(hours=1), until=UNTIL)
    assert report["latency_or_quality"]["answer"] == "both"
    assert "1 golden-set regression verdict(s)" in report["latency_or_quality"]["quality"]


def test_quiet_period_answers_neither_and_none(warehouse_url, warehouse):
    settings = settings_for(warehouse_url)
    _load(warehouse, settings, _windows(SINCE - dt.timedelta(days=1), 2, slow_replica=None)
          + _windows(SINCE, 2, slow_replica=None))
    report = triage(settings, warehouse, since=dt.timedelta(hours=1), until=UNTIL)
    assert report["latency_or_quality"]["answer"] == "neither"
    assert report["slices"]["answer"] == "none" and report["deployments"]["rows"] == []


def _doc_queries() -> dict[str, str]:
    text = (ROOT / "docs" / "triage.md").read_text()
    blocks = re.findall(r"^### (\S+) .*?\n\n```sql\n(.*?)```", text, flags=re.M | re.S)
    return dict(blocks)


def test_docs_sql_runs_and_agrees_with_the_triage(warehouse_url, warehouse):
    settings = settings_for(warehouse_url)
    _incident(warehouse, settings)
    queries = _doc_queries()
    assert set(queries) == {"1a.", "1b.", "2.", "2b.", "3."}
    params = {"since": SINCE, "until": UNTIL, "baseline_start": SINCE - dt.timedelta(days=7),
              "day_ago": UNTIL - dt.timedelta(days=1)}
    out = {}
    with warehouse.engine.connect() as conn:
        for name, sql in queries.items():
            stmt = sa.text(sql)
            used = [p for p in params if f":{p}" in sql]
            stmt = stmt.bindparams(*(sa.bindparam(p, type_=UTCDateTime()) for p in used))
            out[name] = [dict(r._mapping) for r in conn.execute(stmt, {p: params[p] for p in used})]
    report = triage(settings, warehouse, since=dt.timedelta(hours=1), until=UNTIL)

    breached = {r["model"]: r for r in out["1a."]}
    assert breached["m1"]["ttft_p95_breached"] == 3 and breached["m2"]["ttft_p95_breached"] == 0
    assert breached["m1"]["ttft_slow_requests"] == 60
    assert out["1b."] == []
    ranked = out["2."]
    assert (ranked[0]["model"], ranked[0]["dimension"], ranked[0]["value"]) == tuple(
        report["slices"]["ranked"][0][k] for k in ("model", "dimension", "value"))
    assert ranked[0]["worst_ratio"] == pytest.approx(6.0)
    r1 = next(r for r in ranked if (r["model"], r["dimension"], r["value"]) == ("m1", "replica", "r-1"))
    assert r1["ttft_ratio"] == pytest.approx(6.0) and r1["n"] == 60 and r1["error_rate_increase"] == 0
    assert out["2b."] == []
    assert [r["deploy_id"] for r in out["3."]] == ["dep-recent"]


def test_triage_cli_prints_report_and_json(warehouse_url, warehouse, tmp_path, monkeypatch, capsys):
    from llmmon.config import DEFAULTS_PATH

    settings = settings_for(warehouse_url)
    _incident(warehouse, settings)
    monkeypatch.setenv("LLMMON_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("LLMMON_HOME", str(ROOT))
    monkeypatch.setenv("LLMMON_CONFIG", str(DEFAULTS_PATH))
    assert main(["triage", "--since", "1h", "--until", UNTIL.isoformat(), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["latency_or_quality"]["answer"] == "latency" and doc["slices"]["answer"] == "slice-specific"
    assert doc["period"]["end"] == UNTIL.isoformat()
    assert main(["triage", "--since", "1h", "--until", UNTIL.isoformat()]) == 0
    assert "1. Latency or quality? LATENCY" in capsys.readouterr().out
    assert main(["triage", "--since", "1h", "--until", "2026-11-27T12:00:00"]) == 2  # no zone: refused
    assert "needs a time zone" in capsys.readouterr().err


def test_a_new_version_without_baseline_is_held_to_the_objectives(warehouse_url, warehouse):
    settings = settings_for(warehouse_url)
    # Baseline: v1 fast. Period: v1 gone, v2 (a new version: no baseline) slow on every replica.
    _load(warehouse, settings, _windows(SINCE - dt.timedelta(days=1), 2, slow_replica=None)
          + [dict(r, model_version="v2") for r in _windows(SINCE, 2, slow_replica="*")])
    report = triage(settings, warehouse, since=dt.timedelta(hours=1), until=UNTIL)
    ranked = {(r["model"], r["dimension"], r["value"]): r for r in report["slices"]["ranked"]}
    v2 = ranked[("m1", "model_version", "v2")]
    assert v2["new"] and v2["deviates"] and v2["reasons"] == ["new, TTFT p95 3.00 s over the objective"]
    assert v2["score"] == pytest.approx(1.5 * 3.0 / 1.5)
    assert report["slices"]["answer"] == "model-wide"  # every replica and template of m1 is slow
