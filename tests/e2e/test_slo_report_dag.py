"""End to end through Airflow: ``dag.test()`` of traffic_ingest then slo_report on a real SQLite warehouse.

Spans written as a Parquet file in the traffic source folder: v2 slow to the first token in two consecutive
5-minute windows. traffic_ingest loads them; slo_report computes the windows and fires the TTFT SLO alert after
the second breached window. Then late spans of the first window arrive with a replay of the first file: the next
run recomputes that window only (no span counted twice), and a re-run of the same interval changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from tests.e2e.helpers import environ, rows

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.airflow

M5 = dt.timedelta(minutes=5)
S = dt.timedelta(seconds=1)
W0 = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=3)
SETTLE = dt.timedelta(minutes=15)  # slo.settle: alerts are evaluated this long after the interval's end


def _spans(start: dt.datetime, n: int, ttft: float, first_id: int, replica: str = "v2-replica-0") -> pa.Table:
    ts = pa.timestamp("us", tz="UTC")
    rows = [{"trace_id": f"{first_id + k:032x}", "span_id": f"{first_id + k:016x}", "start_time": start + k * S,
             "end_time": start + k * S + dt.timedelta(seconds=ttft + 1.0), "ttft_s": ttft, "status": "ok",
             "operation": "chat", "request_model": "llmmon-demo-v2", "response_model": "llmmon-demo-v2",
             "input_tokens": 1000, "output_tokens": 100, "endpoint": "demo", "model_version": "v2",
             "prompt_template": "support_routing", "user_segment": "free", "replica": replica} for k in range(n)]
    schema = pa.schema([(k, ts if k in ("start_time", "end_time") else pa.float64() if k == "ttft_s" else
                         pa.int64() if k.endswith("_tokens") else pa.string()) for k in rows[0]])
    return pa.Table.from_pylist(rows, schema=schema)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, airflow_db):
    from llmmon.config import DEFAULTS_PATH

    tmp = tmp_path_factory.mktemp("slo-e2e")
    doc = yaml.safe_load(DEFAULTS_PATH.read_text())
    doc.update({"warehouse": {"url": f"sqlite:///{tmp / 'warehouse.db'}"},
                "golden_sets_dir": str(ROOT / "golden_sets"),
                "traffic": {"source": str(tmp / "traffic"), "great_expectations": False}})
    config = tmp / "llmmon.yaml"
    config.write_text(yaml.safe_dump(doc))
    (tmp / "traffic").mkdir()
    with environ(LLMMON_CONFIG=str(config)):
        yield {"url": doc["warehouse"]["url"], "traffic": tmp / "traffic"}


@pytest.fixture(scope="module")
def dags(stack):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert "slo_report" in bag.dags, bag.import_errors
    return bag.dags


def test_ingest_then_slo_report_fires_after_two_windows_and_recomputes_late_windows(dags, stack):
    url = stack["url"]
    # W0 fast, W1 and W2 slow (TTFT 2 s: p95 over the 1.5 s SLO), W3 fast again.
    pq.write_table(pa.concat_tables([_spans(W0, 30, 0.3, 1), _spans(W0 + M5, 30, 2.0, 101),
                                     _spans(W0 + 2 * M5, 30, 2.2, 201), _spans(W0 + 3 * M5, 30, 0.3, 301)]),
                   stack["traffic"] / "spans-1.parquet")
    assert dags["traffic_ingest"].test(logical_date=W0 + 4 * M5).state == "success"

    report = dags["slo_report"]
    run = report.test(logical_date=W0 + 3 * M5 + SETTLE)  # alerts evaluated at W0 + 15m: W0..W2 have ended
    assert run.state == "success"
    rollups = rows(url, "SELECT window_start, n_requests, ttft_p95_s, sparse FROM slo_windows "
                         "WHERE dimension = 'all' ORDER BY window_start")
    assert [r["n_requests"] for r in rollups] == [30, 30, 30, 30]
    assert [round(r["ttft_p95_s"], 3) for r in rollups] == [0.3, 2.0, 2.2, 0.3]
    assert not any(r["sparse"] for r in rollups)
    alerts = rows(url, "SELECT * FROM alerts WHERE rule = 'slo_window_ttft_p95'")
    assert [(a["state"], json.loads(a["labels"])["model"]) for a in alerts] == [("firing", "llmmon-demo-v2")]
    events = rows(url, "SELECT to_state, point_id FROM alert_events WHERE alert_id = :a ORDER BY at",
                   a=alerts[0]["alert_id"])
    assert [(e["to_state"], e["point_id"]) for e in events] == [
        ("pending", (W0 + M5).isoformat()), ("firing", (W0 + 2 * M5).isoformat())]

    # Late spans of W0 on another replica arrive; the first file is still in the folder (a replay).
    pq.write_table(_spans(W0 + 200 * S, 10, 0.4, 1001, replica="v2-replica-1"), stack["traffic"] / "late.parquet")
    assert dags["traffic_ingest"].test(logical_date=W0 + 5 * M5).state == "success"
    computed = {r["window_start"]: r["computed_at"] for r in rows(
        url, "SELECT window_start, computed_at FROM slo_windows WHERE dimension = 'all'")}
    run = report.test(logical_date=W0 + 4 * M5 + SETTLE)
    assert run.state == "success"
    after = rows(url, "SELECT window_start, n_requests, computed_at FROM slo_windows WHERE dimension = 'all' "
                       "ORDER BY window_start")
    assert [r["n_requests"] for r in after] == [40, 30, 30, 30]  # the replayed spans counted once
    changed = [r["window_start"] for r in after if r["computed_at"] != computed[r["window_start"]]]
    assert len(changed) == 1 and changed[0] == after[0]["window_start"]
    replicas = rows(url, "SELECT value, n_requests FROM slo_windows WHERE dimension = 'replica' "
                          "ORDER BY window_start, value")
    assert [(r["value"], r["n_requests"]) for r in replicas][:2] == [("v2-replica-0", 30), ("v2-replica-1", 10)]
    batches = rows(url, "SELECT batch_id, n_spans FROM slo_batches ORDER BY processed_at, batch_id")
    assert [b["n_spans"] for b in batches] == [120, 10]
    # W3 was fast: the alert resolved at its point; re-running the same interval changes nothing.
    n_events = len(rows(url, "SELECT * FROM alert_events"))
    assert rows(url, "SELECT state FROM alerts WHERE rule = 'slo_window_ttft_p95'")[0]["state"] == "resolved"
    assert report.test(logical_date=W0 + 4 * M5 + SETTLE).state == "success"
    assert len(rows(url, "SELECT * FROM alert_events")) == n_events
    assert [r["n_requests"] for r in rows(url, "SELECT n_requests FROM slo_windows WHERE dimension = 'all' "
                                                "ORDER BY window_start")] == [40, 30, 30, 30]
