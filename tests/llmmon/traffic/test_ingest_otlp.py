"""OTLP JSON written by the OpenTelemetry SDK lands in llm_spans with every contract column right; bad input is
quarantined with its reason and counted; re-ingesting changes nothing. Real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from llmmon.traffic import TrafficError
from llmmon.traffic.canonical import SPAN_COLUMNS
from llmmon.traffic.ingest import ingest
from llmmon.warehouse.schema_traffic import ingest_batches, llm_spans, llm_spans_quarantine
from llmmon.warehouse.traffic_store import count_spans, get_ingest_batch, quarantined, read_spans

from ..warehouse import table_rows
from .conftest import T0, llm_attributes, ns

MESSAGES = [{"role": "system", "content": "You route messages."}, {"role": "user", "content": "Where is KC123?"}]


def test_span_columns_are_the_table_columns():
    assert SPAN_COLUMNS == tuple(c.name for c in llm_spans.columns)


def test_sdk_spans_round_trip_with_every_column(warehouse, traffic_settings, span_file):
    parent = span_file.app_span()
    attrs = llm_attributes(**{
        "openai.response.system_fingerprint": "fp_1",
        "llmmon.retrieved_doc_ids": ["kb-7", "kb-2"],
        "llmmon.retrieval_scores": [0.9, 0.5],
        "llmmon.reference": "order_status",
        "llmmon.retrieval.context": "Orders ship in 2 days.",
        "server.port": 8765,
    })
    ok = span_file.chat(attributes=attrs, prompt=json.dumps(MESSAGES), completion="order_status", parent=parent,
                        duration_s=1.5)
    failed = span_file.chat(start=T0 + dt.timedelta(minutes=1), duration_s=0.25,
                            attributes=llm_attributes(**{"gen_ai.response.model": None,
                                                         "gen_ai.usage.output_tokens": None,
                                                         "gen_ai.response.finish_reasons": None,
                                                         "llmmon.ttft_s": None}),
                            error="server_error")
    parent.end(end_time=ns(T0) + 2 * 10**9)
    before = dt.datetime.now(dt.UTC)

    report = ingest(traffic_settings(), warehouse, str(span_file.path), batch_id="b1")

    assert (report.read, report.valid, report.quarantined, report.skipped, report.inserted) == (3, 2, 0, 1, 2)
    assert report.format == "otlp_json" and report.files == [str(span_file.path)]
    rows = read_spans(warehouse)
    assert [r["span_id"] for r in rows] == [f"{ok.context.span_id:016x}", f"{failed.context.span_id:016x}"]
    first, second = rows
    resource = {k: v for k, v in span_file.provider.resource.attributes.items()}
    assert first == {
        "trace_id": f"{ok.context.trace_id:032x}",
        "span_id": f"{ok.context.span_id:016x}",
        "parent_span_id": f"{parent.context.span_id:016x}",
        "name": "chat llmmon-demo-v1",
        "operation": "chat",
        "start_time": T0,
        "end_time": T0 + dt.timedelta(seconds=1.5),
        "duration_s": 1.5,
        "ttft_s": 0.25,
        "status": "ok",
        "error_type": None,
        "request_model": "llmmon-demo-v1",
        "response_model": "llmmon-demo-v1",
        "system_fingerprint": "fp_1",
        "input_tokens": 1000,
        "output_tokens": 200,
        # llmmon-demo-v1: 0.50 USD/Mtok in, 1.50 out: (1000 * 0.5 + 200 * 1.5) / 1e6
        "cost_usd": pytest.approx(0.0008, rel=1e-12),
        "cost_known": True,
        "endpoint": "demo",
        "model_version": "v1",
        "prompt_template": "support_routing",
        "user_segment": "free",
        "replica": "r-0",
        "retrieved_doc_ids": ["kb-7", "kb-2"],
        "retrieval_scores": [0.9, 0.5],
        "prompt": "Where is KC123?",  # the last user message of the gen_ai.prompt event
        "completion": "order_status",
        "finish_reason": "stop",
        "reference": "order_status",
        "attributes": {**resource, "llmmon.retrieval.context": "Orders ship in 2 days.", "server.port": 8765},
        "source": str(span_file.path),
        "ingest_batch_id": "b1",
        "ingested_at": first["ingested_at"],
    }
    assert before <= first["ingested_at"] <= dt.datetime.now(dt.UTC)
    assert second["status"] == "error" and second["error_type"] == "server_error"
    assert second["duration_s"] == 0.25 and second["ttft_s"] is None and second["completion"] is None
    # No output tokens: no cost, and not a free call either.
    assert second["cost_usd"] is None and second["cost_known"] is False
    assert second["attributes"]["otel.status_description"] == "server_error happened"
    batch = get_ingest_batch(warehouse, "b1")
    assert {k: batch[k] for k in ("source", "format", "files", "read", "valid", "quarantined", "skipped",
                                  "by_reason", "status", "error")} == {
        "source": str(span_file.path), "format": "otlp_json", "files": 1, "read": 3, "valid": 2,
        "quarantined": 0, "skipped": 1, "by_reason": {}, "status": "success", "error": None}


def _bad_input_file(span_file) -> None:
    """One file with every kind of bad input, each on its own line (and one good span)."""
    span_file.chat()  # line 1: good
    good = span_file.lines()[0]
    span_file.chat(attributes=llm_attributes(**{"gen_ai.request.model": None}))  # 2: required attribute missing
    span_file.chat(duration_s=-2.0)  # 3: end before start
    span_file.chat(attributes=llm_attributes(**{"gen_ai.usage.input_tokens": -5}))  # 4: negative tokens
    span_file.chat(attributes=llm_attributes(**{"llmmon.ttft_s": "fast"}))  # 5: wrong type
    span_file.append_line('{"resourceSpans": [{"scopeSpans": [{"spans": [')  # 6: corrupt JSON (cut off)
    odd = json.loads(json.dumps(good))
    odd_span = odd["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    odd_span.update(spanId="0000000000000000", status={"code": 7})  # 7: all-zero span id, unknown status
    span_file.append_line(json.dumps(odd))
    dup = json.loads(json.dumps(good))  # 8: the good span again (a retried export): not new, not quarantined
    span_file.append_line(json.dumps(dup))


def test_each_kind_of_bad_input_is_quarantined_with_its_reason(warehouse, traffic_settings, span_file):
    _bad_input_file(span_file)
    report = ingest(traffic_settings(), warehouse, str(span_file.path), batch_id="bad")
    assert (report.read, report.valid, report.inserted, report.quarantined) == (8, 2, 1, 6)
    assert report.by_reason == {
        "end_before_start": 1, "input_tokens_range": 1, "json": 1, "required_request_model": 1,
        "span_id_format": 1, "status_known": 1, "types": 1,
    }
    rows = {q["row_ref"].rsplit("/", 1)[-1]: q for q in quarantined(warehouse, "bad")}
    assert sorted(rows) == ["spans.jsonl:2:0", "spans.jsonl:3:0", "spans.jsonl:4:0", "spans.jsonl:5:0",
                            "spans.jsonl:6", "spans.jsonl:7:0"]
    assert rows["spans.jsonl:2:0"]["reason"] == (
        "request_model: is required (traffic.required; looked for gen_ai.request.model)")
    assert (rows["spans.jsonl:3:0"]["rule"], rows["spans.jsonl:3:0"]["field"]) == ("end_before_start", "end_time")
    assert rows["spans.jsonl:3:0"]["reason"] == (
        "end_time 2026-11-27T09:59:58+00:00 is before start_time 2026-11-27T10:00:00+00:00 (duration -2 s)")
    assert rows["spans.jsonl:4:0"]["reason"] == "input_tokens: must be between 0 and 10000000, got -5"
    assert rows["spans.jsonl:5:0"]["reason"] == (
        "ttft_s: attribute llmmon.ttft_s must be a finite number, got 'fast'")
    assert rows["spans.jsonl:5:0"]["field"] == "ttft_s"
    assert rows["spans.jsonl:6"]["rule"] == "json" and rows["spans.jsonl:6"]["trace_id"] is None
    assert rows["spans.jsonl:6"]["reason"].startswith("line 6: not valid JSON")
    seventh = rows["spans.jsonl:7:0"]
    assert [d["rule"] for d in seventh["details"]] == ["span_id_format", "status_known"]
    assert seventh["reason"] == ("span_id: must be 16 hex digits, not all zero, got '0000000000000000'; "
                                 "status: must be ok or error (OTLP code 0, 1 or 2), got '7'")
    assert seventh["span_id"] == "0000000000000000" and len(seventh["trace_id"]) == 32
    raw = json.loads(seventh["raw"])  # the offending span as read
    assert raw["status"] == {"code": 7}
    assert count_spans(warehouse) == 1  # the repeated span is valid, and stored once


def test_reingesting_converges(warehouse, traffic_settings, span_file):
    _bad_input_file(span_file)
    settings = traffic_settings()
    first = ingest(settings, warehouse, str(span_file.path), batch_id="b")
    snapshot = {t.name: table_rows(warehouse, t) for t in (llm_spans, llm_spans_quarantine)}
    again = ingest(settings, warehouse, str(span_file.path), batch_id="b")  # a retried task
    other = ingest(settings, warehouse, str(span_file.path), batch_id="b2")  # the same file, another batch
    assert (again.valid, again.inserted, again.quarantined) == (first.valid, 0, first.quarantined)
    assert other.inserted == 0
    assert table_rows(warehouse, llm_spans) == snapshot["llm_spans"]  # first ingestion wins, untouched
    quarantine = table_rows(warehouse, llm_spans_quarantine)
    assert [q for q in quarantine if q["batch_id"] == "b"] == [
        {**q, "quarantined_at": quarantine[0]["quarantined_at"]} for q in snapshot["llm_spans_quarantine"]]
    assert len([q for q in quarantine if q["batch_id"] == "b2"]) == first.quarantined
    assert [r["batch_id"] for r in table_rows(warehouse, ingest_batches)] == ["b", "b2"]


def test_nothing_is_half_written_when_a_source_fails(warehouse, traffic_settings, tmp_path, span_file):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "parquet"
    folder.mkdir()
    good = pa.table({"trace_id": ["ab" * 16], "span_id": ["cd" * 8], "operation": ["chat"],
                     "request_model": ["m"], "endpoint": ["e"],
                     "start_time": pa.array([T0], pa.timestamp("us", tz="UTC")),
                     "end_time": pa.array([T0 + dt.timedelta(seconds=1)], pa.timestamp("us", tz="UTC"))})
    pq.write_table(good, folder / "a.parquet")
    pq.write_table(good.drop_columns(["span_id"]), folder / "b.parquet")  # read second: no span_id column
    with pytest.raises(TrafficError, match=r"b\.parquet: required column 'span_id' is missing"):
        ingest(traffic_settings(), warehouse, str(folder), batch_id="half")
    assert count_spans(warehouse) == 0  # a.parquet's row was rolled back with the rest
    failed = get_ingest_batch(warehouse, "half")
    assert failed["status"] == "failed" and "span_id" in failed["error"] and failed["valid"] is None
    with warehouse.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(llm_spans_quarantine)).scalar_one() == 0
    # A failed retry never overwrites a batch that succeeded.
    span_file.chat()
    ingest(traffic_settings(), warehouse, str(span_file.path), batch_id="ok")
    with pytest.raises(TrafficError, match="no such file"):
        ingest(traffic_settings(), warehouse, str(tmp_path / "missing.jsonl"), batch_id="ok")
    assert get_ingest_batch(warehouse, "ok")["status"] == "success"
