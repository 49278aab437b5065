"""End to end through Airflow: ``dag.test()`` of traffic_ingest and traffic_judge on demo traffic, v1 then v2.

Real HTTP to the demo model server (which plays v1, the degraded v2 and the judge), real OTLP JSON files written by
the OpenTelemetry SDK, a real SQLite warehouse. A reference window of v1 traffic a day earlier, then two hourly
windows of v2: the quality checks cover every span, the judge scores the sample, the judge-score shift is detected
for v2's strata, and the sustained alert is pending after the first v2 window and firing after the second.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from tests.e2e.helpers import environ, rows

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.airflow

H = dt.timedelta(hours=1)
# Whole hours in the recent past (ingestion refuses spans from the future): v1 a day before, then v2.
NOW = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
REF = NOW - dt.timedelta(days=2)
CUR1 = NOW - dt.timedelta(days=1)
CUR2 = CUR1 + H
V1_REQUESTS, V2_REQUESTS = 3600, 2400  # 2,400 v2 requests over two windows: ~1,200 per window
STRATUM = "support_routing|free"  # the largest stratum, where v2's misrouted refund and billing messages show


@pytest.fixture(scope="module")
def stack(tmp_path_factory, airflow_db):
    from llmmon.config import DEFAULTS_PATH, load_settings
    from llmmon.demo.server import DemoServer, DemoServerConfig
    from llmmon.traffic.demo_traffic import generate_demo_traffic

    tmp = tmp_path_factory.mktemp("traffic-e2e")
    doc = yaml.safe_load(DEFAULTS_PATH.read_text())
    doc.update({
        "warehouse": {"url": f"sqlite:///{tmp / 'warehouse.db'}"},
        "golden_sets_dir": str(ROOT / "golden_sets"),
        "traffic": {"source": str(tmp / "traffic")},
        "quality": {"structured_templates": {"ticket_triage": "json", "ticket_extraction": "json"},
                    "shift": {"effect_floor": 0.1}},
    })
    doc["judge"].update({"rubrics": ["helpfulness"], "sampling": {"mode": "uniform", "rate": 1.0},
                         "budget": {"max_calls": 10_000, "max_usd": None}})
    config = tmp / "llmmon.yaml"
    config.write_text(yaml.safe_dump(doc))
    env = {"LLMMON_CONFIG": str(config), "LLMMON_GOLDEN_EVAL_DEADLINE": "off"}
    with DemoServer(DemoServerConfig(port=0, golden_sets_dir=ROOT / "golden_sets", ttft_ms=2, latency_ms=5,
                                     jitter_ms=0)) as server:
        with environ(**env, LLMMON_DEMO_URL=server.base_url):
            settings = load_settings()
            ref = generate_demo_traffic(settings, tmp / "traffic", requests=V1_REQUESTS, seed=1, v2_share=0.0,
                                        start_at=REF, spread=H, concurrency=16)
            cur = generate_demo_traffic(settings, tmp / "traffic", requests=V2_REQUESTS, seed=2, v2_share=1.0,
                                        start_at=CUR1, spread=2 * H, concurrency=16)
            yield {"url": doc["warehouse"]["url"], "ref": ref, "cur": cur}


@pytest.fixture(scope="module")
def dags(stack):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags


def _ts(value) -> str:
    return value if isinstance(value, str) else value.strftime("%Y-%m-%d %H:%M:%S")


def _sqlite_ts(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")  # UTCDateTime's storage on SQLite


def test_ingest_then_judge_three_windows_shift_and_alert(dags, stack):
    url = stack["url"]
    ingest = dags["traffic_ingest"].test()
    assert ingest.state == "success"
    n_spans = rows(url, "SELECT COUNT(*) AS n FROM llm_spans")[0]["n"]
    assert n_spans == V1_REQUESTS + V2_REQUESTS  # one chat span per request (the app spans are skipped)

    judge = dags["traffic_judge"]
    for window_start in (REF, CUR1):
        run = judge.test(logical_date=window_start + H)  # the hourly run due at the window's end
        assert run.state == "success"

    # -- quality checks on every span of the three windows ----------------------------------------------------
    quality = rows(url, "SELECT * FROM traffic_quality ORDER BY window_start, model_version, prompt_template, "
                         "user_segment")
    by_window: dict[str, list[dict]] = {}
    for r in quality:
        by_window.setdefault(_ts(r["window_start"])[:16], []).append(r)
    assert sorted(by_window) == [REF.strftime("%Y-%m-%d %H:%M"), CUR1.strftime("%Y-%m-%d %H:%M")]
    ref_rows, cur_rows = by_window.values()
    assert sum(r["n"] for r in ref_rows) == V1_REQUESTS  # every span, not a sample
    assert {r["model_version"] for r in ref_rows} == {"v1"} and {r["model_version"] for r in cur_rows} == {"v2"}
    assert {r["prompt_template"] for r in ref_rows} == {"support_routing", "ticket_extraction", "ticket_triage",
                                                        "policy_qa"}
    errors = sum(r["n_errors"] for r in ref_rows)
    assert errors == stack["ref"].errors > 0  # the demo's injected 500s and 429s
    structured = [r for r in ref_rows if r["prompt_template"] in ("ticket_triage", "ticket_extraction")]
    assert all(r["n_structured"] == r["n_ok"] for r in structured)
    assert sum(r["n_json_invalid"] for r in structured) / sum(r["n_structured"] for r in structured) < 0.05
    free = next(r for r in ref_rows if (r["prompt_template"], r["user_segment"]) == tuple(STRATUM.split("|")))
    assert free["refusal_rate"] == 0.0 and free["empty_rate"] == 0.0 and not free["sparse"]

    # -- judge scores: every sampled span of both versions -------------------------------------------------------
    scores = rows(url, "SELECT model_version, COUNT(*) AS n, AVG(score) AS mean FROM judge_scores "
                        "WHERE score IS NOT NULL AND rubric = 'helpfulness' GROUP BY model_version")
    by_version = {r["model_version"]: r for r in scores}
    assert set(by_version) == {"v1", "v2"}
    assert by_version["v1"]["n"] > 1000 and by_version["v2"]["n"] > 300
    assert by_version["v2"]["mean"] < by_version["v1"]["mean"]
    runs = rows(url, "SELECT judge_run_key, status FROM judge_runs ORDER BY window_start")
    assert [r["judge_run_key"] for r in runs] == [f"traffic_judge/{REF.isoformat()}",
                                                  f"traffic_judge/{CUR1.isoformat()}"]
    assert {r["status"] for r in runs} == {"success"}

    # -- shift: the v2 window against the v1 day before ----------------------------------------------------------
    shift = {r["stratum"]: r for r in rows(url, "SELECT * FROM judge_shift WHERE window_start = :w",
                                            w=_sqlite_ts(CUR1))}
    row = shift[STRATUM]
    assert row["tested"] and row["shifted"], row
    assert row["mean_cur"] < row["mean_ref"] and row["p_adjusted"] < 0.05 and row["n_ref"] >= 30
    assert not any(r["shifted"] for r in rows(url, "SELECT shifted FROM judge_shift WHERE window_start = :w",
                                               w=_sqlite_ts(REF)))  # nothing to compare v1 with yet

    # -- sustained alerting: pending after the first v2 window, firing after the second ---------------------------
    alerts = rows(url, "SELECT * FROM alerts WHERE rule = 'judge_score_shift'")
    pending = {json.loads(a["labels"])["stratum"]: a["state"] for a in alerts}
    assert pending[STRATUM] == "pending"
    assert "firing" not in pending.values()

    run = judge.test(logical_date=CUR2 + H)
    assert run.state == "success"
    alerts = {json.loads(a["labels"])["stratum"]: a for a in
              rows(url, "SELECT * FROM alerts WHERE rule = 'judge_score_shift'")}
    assert alerts[STRATUM]["state"] == "firing"
    events = rows(url, "SELECT from_state, to_state, point_id FROM alert_events WHERE alert_id = :a ORDER BY at",
                   a=alerts[STRATUM]["alert_id"])
    assert [(e["from_state"], e["to_state"], e["point_id"]) for e in events] == [
        ("inactive", "pending", CUR1.isoformat()), ("pending", "firing", CUR2.isoformat())]

    # -- a re-run of a window converges: same rows, no new alert transitions --------------------------------------
    before = rows(url, "SELECT COUNT(*) AS n FROM judge_scores")[0]["n"]
    run = judge.test(logical_date=CUR2 + H)
    assert run.state == "success"
    assert rows(url, "SELECT COUNT(*) AS n FROM judge_scores")[0]["n"] == before
    assert len(rows(url, "SELECT * FROM alert_events WHERE alert_id = :a", a=alerts[STRATUM]["alert_id"])) == 2
