"""Silent model changes: a new served model under the same requested model becomes a provider deployment."""

from __future__ import annotations

import datetime as dt

from llmmon.traffic.changes import provider_deploy_id
from llmmon.traffic.ingest import ingest
from llmmon.warehouse.schema import deployments
from llmmon.warehouse.schema_traffic import llm_served_models

from ..warehouse import table_rows
from .conftest import T0, SpanFile, llm_attributes


def served(model: str, fingerprint: str | None, **extra) -> dict:
    return llm_attributes(**{"gen_ai.request.model": "gpt-4", "gen_ai.response.model": model,
                             "openai.response.system_fingerprint": fingerprint, **extra})


def test_a_provider_side_change_is_recorded_once(warehouse, traffic_settings, tmp_path):
    day1 = SpanFile(tmp_path / "day1.jsonl")
    first = day1.chat(start=T0, attributes=served("gpt-4-0613", "fp_a"))
    day1.chat(start=T0 + dt.timedelta(hours=1), attributes=served("gpt-4-0613", "fp_a"))
    day1.chat(start=T0 + dt.timedelta(hours=2), attributes=served("gpt-4-0613", "fp_a", **{"llmmon.endpoint": "other"}))
    settings = traffic_settings()
    report = ingest(settings, warehouse, str(day1.path), batch_id="day1")
    assert report.new_deployments == []  # the first model seen is the baseline, not a change

    day2 = SpanFile(tmp_path / "day2.jsonl")
    day2.chat(start=T0 + dt.timedelta(hours=30), attributes=served("gpt-4-0613", "fp_a"))
    changed = day2.chat(start=T0 + dt.timedelta(hours=26), attributes=served("gpt-4-0613", "fp_b"))
    day2.chat(start=T0 + dt.timedelta(hours=27), attributes=served("gpt-4-0613", "fp_b"))
    day2.chat(start=T0 + dt.timedelta(hours=28), attributes=served("gpt-4-0613", None, error="server_error",
                                                                    **{"gen_ai.response.model": None}))
    report = ingest(settings, warehouse, str(day2.path), batch_id="day2")
    deploy_id = "provider:demo:gpt-4-0613:fp_b"
    assert report.new_deployments == [deploy_id] == [provider_deploy_id("demo", "gpt-4-0613", "fp_b")]
    (row,) = table_rows(warehouse, deployments)
    recorded_at = row.pop("recorded_at")
    assert row == {
        "deploy_id": deploy_id, "endpoint": "demo", "model": "gpt-4-0613", "model_version": "fp_b",
        "stage": "deploy", "source": "provider", "deployed_at": T0 + dt.timedelta(hours=26),
        "details": {
            "detected_by": "llmmon traffic ingestion (silent model change)",
            "request_model": "gpt-4", "response_model": "gpt-4-0613", "system_fingerprint": "fp_b",
            "previous": {"response_model": "gpt-4-0613", "system_fingerprint": "fp_a",
                         "first_seen": T0.isoformat()},
            "first_trace_id": f"{changed.context.trace_id:032x}",
            "first_span_id": f"{changed.context.span_id:016x}",
        },
    }
    # Triage's "what deployed lately" sees it.
    assert warehouse.latest_deployment("demo")["deploy_id"] == deploy_id

    # Re-ingesting either day changes nothing and reports nothing new.
    served_before = table_rows(warehouse, llm_served_models)
    for path, batch in ((day2.path, "day2-again"), (day1.path, "day1-again")):
        assert ingest(settings, warehouse, str(path), batch_id=batch).new_deployments == []
    assert table_rows(warehouse, deployments) == [{**row, "recorded_at": recorded_at}]
    assert table_rows(warehouse, llm_served_models) == served_before
    assert [(r["endpoint"], r["system_fingerprint"], r["first_seen_at"], r["last_seen_at"]) for r in served_before] == [
        ("demo", "fp_a", T0, T0 + dt.timedelta(hours=30)),
        ("demo", "fp_b", T0 + dt.timedelta(hours=26), T0 + dt.timedelta(hours=27)),
        ("other", "fp_a", T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=2)),
    ]
    assert served_before[0]["first_trace_id"] == f"{first.context.trace_id:032x}"


def test_older_traffic_ingested_later_moves_the_change(warehouse, traffic_settings, tmp_path):
    settings = traffic_settings()
    late = SpanFile(tmp_path / "late.jsonl")
    late.chat(start=T0, attributes=served("m-1", None))
    late.chat(start=T0 + dt.timedelta(hours=5), attributes=served("m-2", None))
    assert ingest(settings, warehouse, str(late.path), batch_id="late").new_deployments == ["provider:demo:m-2:-"]
    # Backfill: m-2 was already served earlier than llmmon knew, and m-1 even before that.
    early = SpanFile(tmp_path / "early.jsonl")
    early.chat(start=T0 - dt.timedelta(hours=3), attributes=served("m-2", None))
    early.chat(start=T0 - dt.timedelta(hours=4), attributes=served("m-1", None))
    assert ingest(settings, warehouse, str(early.path), batch_id="early").new_deployments == []
    (row,) = table_rows(warehouse, deployments)
    assert (row["deploy_id"], row["deployed_at"]) == ("provider:demo:m-2:-", T0 - dt.timedelta(hours=3))
    assert row["details"]["previous"]["first_seen"] == (T0 - dt.timedelta(hours=4)).isoformat()
