"""``llmmon demo-traffic``: real calls through the demo model server, SDK spans in OTLP JSON that ingest cleanly."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from llmmon.cli_traffic import register
from llmmon.traffic.demo_traffic import generate_demo_traffic
from llmmon.traffic.ingest import ingest
from llmmon.warehouse.traffic_store import get_ingest_batch, read_spans

ROOT = Path(__file__).resolve().parents[3]


def test_demo_traffic_ingests_cleanly_with_both_versions(warehouse, make_settings, demo_server, tmp_path):
    settings = make_settings(warehouse.url)
    report = generate_demo_traffic(settings, tmp_path / "out", requests=40, error_rate=0.1, seed=3)
    assert (report.requests, report.errors, report.by_version) == (40, 4, {"v1": 20, "v2": 20})
    assert report.spans == 80 and len(report.files) == 1  # a chat span and its application span per request
    first_line = json.loads(Path(report.files[0]).read_text().splitlines()[0])
    assert first_line["resourceSpans"][0]["resource"]["attributes"][0]["key"].startswith("telemetry.sdk")
    assert demo_server.admin("faults") == {"queue": [], "rates": {}}  # the server's fault plan is restored

    result = ingest(settings, warehouse, str(tmp_path / "out"), batch_id="demo")
    assert (result.read, result.valid, result.quarantined, result.skipped) == (80, 40, 0, 40)
    spans = read_spans(warehouse)
    assert Counter(s["model_version"] for s in spans) == {"v1": 20, "v2": 20}
    assert {s["request_model"] for s in spans} == {"llmmon-demo-v1", "llmmon-demo-v2"}
    assert len({s["user_segment"] for s in spans}) >= 2 and len({s["prompt_template"] for s in spans}) >= 3
    errors = [s for s in spans if s["status"] == "error"]
    assert len(errors) == 4 and {e["error_type"] for e in errors} <= {"server_error", "rate_limited"}
    assert all(e["completion"] is None and e["response_model"] is None for e in errors)
    ok = [s for s in spans if s["status"] == "ok"]
    for s in ok:
        model = s["request_model"]
        assert s["response_model"] == model and s["system_fingerprint"] == f"fp_{model.replace('-', '_')}"
        assert s["completion"] and s["prompt"] and s["ttft_s"] is not None and s["cost_known"]
        assert s["endpoint"] == "demo" and s["parent_span_id"] is not None
        assert s["replica"].startswith(s["model_version"] + "-replica-")
    # The prompt is the golden case's input, and the completion is what the demo server answers to it.
    sample = ok[0]
    expected = demo_server.expected_answer(sample["request_model"], sample["prompt"])
    assert sample["completion"] == expected.text
    rag = [s for s in spans if s["prompt_template"] == "policy_qa"]
    assert rag and all(len(s["retrieved_doc_ids"]) == 3 and s["attributes"]["llmmon.retrieval.context"]
                       for s in rag)
    # v2 was deployed after v1: every v2 span starts after the last v1 span.
    assert max(s["start_time"] for s in spans if s["model_version"] == "v1") <= min(
        s["start_time"] for s in spans if s["model_version"] == "v2")


def test_spans_can_be_laid_out_over_a_period(warehouse, make_settings, tmp_path):
    settings = make_settings(warehouse.url)
    start = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    generate_demo_traffic(settings, tmp_path, requests=10, error_rate=0.0, start_at=start,
                          spread=dt.timedelta(days=5))
    assert ingest(settings, warehouse, str(tmp_path), batch_id="week").valid == 10
    starts = [s["start_time"] for s in read_spans(warehouse)]
    assert starts == [start + dt.timedelta(hours=12 * i) for i in range(10)]


def test_the_commands(demo_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLMMON_HOME", str(ROOT))
    monkeypatch.setenv("LLMMON_DEMO_URL", demo_server.base_url)
    monkeypatch.setenv("LLMMON_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'wh.db'}")
    monkeypatch.delenv("LLMMON_CONFIG", raising=False)
    parser = argparse.ArgumentParser(prog="llmmon")
    parser.add_argument("--config")
    register(parser.add_subparsers(dest="command", required=True))

    args = parser.parse_args(["demo-traffic", "--out", str(tmp_path / "t"), "--requests", "6", "--error-rate", "0"])
    assert args.func(args) == 0
    assert "6 requests (v1 3, v2 3), 0 errors, 12 spans in 1 OTLP JSON file(s)" in capsys.readouterr().out
    args = parser.parse_args(["ingest", str(tmp_path / "t"), "--batch-id", "cli", "--json"])
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["batch_id"], report["valid"], report["skipped"]) == ("cli", 6, 6)
    from llmmon.warehouse import Warehouse

    with Warehouse(f"sqlite:///{tmp_path / 'wh.db'}") as wh:
        assert get_ingest_batch(wh, "cli")["status"] == "success"


@pytest.mark.parametrize("bad", [{"requests": 0}, {"error_rate": 2.0}, {"start_at": dt.datetime(2026, 1, 1)}])
def test_bad_arguments(make_settings, tmp_path, bad):
    from llmmon.traffic import TrafficError

    settings = make_settings(f"sqlite:///{tmp_path / 'wh.db'}")
    if "start_at" in bad:
        bad["spread"] = dt.timedelta(hours=1)
    with pytest.raises(TrafficError):
        generate_demo_traffic(settings, tmp_path, **bad)
