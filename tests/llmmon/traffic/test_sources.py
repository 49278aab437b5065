"""Sources besides OTLP files: Parquet (local and any fsspec path), a warehouse table, folders and globs."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from llmmon.traffic import TrafficError
from llmmon.traffic.ingest import ingest, resolve_source
from llmmon.warehouse.traffic_store import count_spans, quarantined, read_spans

from .conftest import T0

TS = pa.timestamp("us", tz="UTC")


def spans_table(n: int = 3) -> pa.Table:
    """n spans in the canonical flat layout: the second is a RAG call, the third is bad (ends before it starts)."""
    starts = [T0 + dt.timedelta(minutes=i) for i in range(n)]
    ends = [s + dt.timedelta(seconds=2) for s in starts]
    if n >= 3:
        ends[2] = starts[2] - dt.timedelta(seconds=1)
    return pa.table({
        "trace_id": [f"{i + 1:032x}" for i in range(n)],
        "span_id": [f"{i + 1:016X}" for i in range(n)],  # upper case: ids are normalised
        "operation": ["chat"] * n,
        "start_time": pa.array(starts, TS),
        "end_time": pa.array(ends, TS),
        "status": ["ok"] + ["STATUS_CODE_OK"] * (n - 1),
        "request_model": ["llmmon-demo-v2"] * n,
        "response_model": ["llmmon-demo-v2"] * n,
        "input_tokens": pa.array([100] * n, pa.int32()),
        "output_tokens": pa.array([50] * n, pa.int32()),
        "endpoint": ["chat"] * n,
        "user_segment": ["plus"] * n,
        "retrieved_doc_ids": pa.array(([None, ["d\"1", "d2"]] + [None] * n)[:n], pa.list_(pa.string())),
        "retrieval_scores": pa.array(([None, [0.75, 0.5]] + [None] * n)[:n], pa.list_(pa.float64())),
        "attributes": [json.dumps({"tenant": "acme"})] + [None] * (n - 1),
        "prompt": [f"question {i}" for i in range(n)],
    })


def test_parquet_file(warehouse, traffic_settings, tmp_path):
    path = tmp_path / "spans.parquet"
    pq.write_table(spans_table(), path)
    report = ingest(traffic_settings(), warehouse, str(path), batch_id="pq")
    assert (report.format, report.read, report.valid, report.quarantined) == ("parquet", 3, 2, 1)
    rows = read_spans(warehouse)
    assert [r["span_id"] for r in rows] == ["0000000000000001", "0000000000000002"]
    assert rows[0]["attributes"] == {"tenant": "acme"} and rows[0]["retrieved_doc_ids"] is None
    assert rows[1]["retrieved_doc_ids"] == ['d"1', "d2"] and rows[1]["retrieval_scores"] == [0.75, 0.5]
    assert rows[1]["start_time"] == T0 + dt.timedelta(minutes=1) and rows[1]["duration_s"] == 2.0
    # llmmon-demo-v2: 0.40 in, 1.20 out per Mtok: (100 * 0.4 + 50 * 1.2) / 1e6
    assert rows[1]["cost_usd"] == pytest.approx(1e-4, rel=1e-12) and rows[1]["status"] == "ok"
    (bad,) = quarantined(warehouse, "pq")
    assert bad["row_ref"] == f"{path}#2" and bad["rule"] == "end_before_start"
    assert json.loads(bad["raw"])["span_id"] == "0000000000000003"


def test_parquet_column_mapping_and_schema_errors(warehouse, traffic_settings, tmp_path):
    table = spans_table(2).rename_columns(["tid", "sid", *spans_table(2).column_names[2:]])
    path = tmp_path / "renamed.parquet"
    pq.write_table(table, path)
    with pytest.raises(TrafficError, match=r"required column 'trace_id' is missing \(or map yours with traffic\.columns\)"):
        ingest(traffic_settings(), warehouse, str(path), batch_id="unmapped")
    report = ingest(traffic_settings(columns={"trace_id": "tid", "span_id": "sid"}), warehouse, str(path),
                    batch_id="mapped")
    assert report.valid == 2

    naive = spans_table(1).set_column(3, "start_time", pa.array([T0.replace(tzinfo=None)], pa.timestamp("us")))
    pq.write_table(naive, tmp_path / "naive.parquet")
    with pytest.raises(TrafficError, match="timestamp without time zone"):
        ingest(traffic_settings(), warehouse, str(tmp_path / "naive.parquet"), batch_id="naive")
    assert ingest(traffic_settings(assume_utc=True), warehouse, str(tmp_path / "naive.parquet"),
                  batch_id="naive-utc").valid == 1


def test_nan_and_unparsable_json_are_type_problems(warehouse, traffic_settings, tmp_path):
    table = spans_table(2)
    table = table.append_column("ttft_s", pa.array([float("nan"), 0.1]))
    table = table.set_column(table.schema.get_field_index("attributes"), "attributes", pa.array(["{oops", None]))
    pq.write_table(table, tmp_path / "t.parquet")
    report = ingest(traffic_settings(), warehouse, str(tmp_path / "t.parquet"), batch_id="t")
    assert (report.valid, report.by_reason) == (1, {"types": 1})
    (bad,) = quarantined(warehouse, "t")
    assert bad["reason"] == "attributes: must be a JSON object, got '{oops'; ttft_s: must be a finite number, got nan"


def test_fsspec_memory_path_and_globs(warehouse, traffic_settings):
    root = f"memory://llmmon-test-{uuid.uuid4().hex[:8]}"
    fs = fsspec.filesystem("memory")
    for name, rows in (("day1/a.parquet", spans_table(2)), ("day2/b.parquet", spans_table(2).slice(1))):
        with fs.open(f"{root}/{name}", "wb") as f:
            pq.write_table(rows, f)
    with fs.open(f"{root}/day2/_SUCCESS", "wb") as f:
        f.write(b"")  # marker files are not data
    src = resolve_source(root)  # a folder: every data file under it
    url = root.replace("memory://", "memory:///")  # fsspec's canonical memory URL
    assert src.format == "parquet" and [u for _, _, u in src.files] == [f"{url}/day1/a.parquet", f"{url}/day2/b.parquet"]
    report = ingest(traffic_settings(), warehouse, f"{root}/*/*.parquet", batch_id="mem")
    assert (report.read, report.valid, report.inserted) == (3, 3, 2)
    assert {r["source"] for r in read_spans(warehouse)} == {f"{url}/day1/a.parquet"}
    with pytest.raises(TrafficError, match="no file matches"):
        ingest(traffic_settings(), warehouse, f"{root}/*.jsonl", batch_id="none")
    fs.rm(root, recursive=True)


def test_a_folder_of_mixed_formats_is_refused(tmp_path):
    (tmp_path / "a.jsonl").write_text("")
    pq.write_table(spans_table(1), tmp_path / "b.parquet")
    with pytest.raises(TrafficError, match=r"mixes formats \(otlp_json, parquet\)"):
        resolve_source(str(tmp_path))
    (tmp_path / "c.txt").write_text("")
    with pytest.raises(TrafficError, match="cannot tell the format of .*c.txt from its name"):
        resolve_source(str(tmp_path / "c.txt"))
    assert resolve_source(str(tmp_path / "c.txt"), "otlp_json").format == "otlp_json"


def test_an_existing_warehouse_table(warehouse, traffic_settings):
    meta = sa.MetaData()
    app = sa.Table("app_llm_calls", meta,
                   sa.Column("call_trace", sa.String(32), primary_key=True),
                   sa.Column("call_span", sa.String(16), primary_key=True),
                   sa.Column("operation", sa.String(16)),
                   sa.Column("request_model", sa.String(64)),
                   sa.Column("endpoint", sa.String(64)),
                   sa.Column("start_time", sa.DateTime(timezone=True)),
                   sa.Column("end_time", sa.DateTime(timezone=True)),
                   sa.Column("input_tokens", sa.Integer), sa.Column("output_tokens", sa.Integer),
                   sa.Column("retrieved_doc_ids", sa.JSON))
    meta.create_all(warehouse.engine)
    with warehouse.engine.begin() as conn:
        conn.execute(app.insert(), [
            {"call_trace": "a" * 32, "call_span": "b" * 16, "operation": "chat", "request_model": "unpriced-x",
             "endpoint": "e", "start_time": T0, "end_time": T0 + dt.timedelta(seconds=3), "input_tokens": 5,
             "output_tokens": 6, "retrieved_doc_ids": ["x", "y"]},
            {"call_trace": "c" * 32, "call_span": "d" * 16, "operation": "chat", "request_model": None,
             "endpoint": "e", "start_time": T0, "end_time": T0, "input_tokens": 1, "output_tokens": 1,
             "retrieved_doc_ids": None},
        ])
    settings = traffic_settings(columns={"trace_id": "call_trace", "span_id": "call_span"})
    report = ingest(settings, warehouse, "table:app_llm_calls", batch_id="tbl")
    assert (report.format, report.read, report.valid, report.quarantined) == ("table", 2, 1, 1)
    (row,) = read_spans(warehouse)
    assert row["start_time"] == T0 and row["duration_s"] == 3.0 and row["retrieved_doc_ids"] == ["x", "y"]
    assert row["cost_usd"] is None and row["cost_known"] is False  # a model the price table does not know
    assert row["source"] == "table:app_llm_calls"
    (bad,) = quarantined(warehouse, "tbl")
    assert bad["row_ref"] == "table:app_llm_calls#1" and bad["rule"] == "required_request_model"
    with pytest.raises(TrafficError, match="no table 'nope'"):
        ingest(settings, warehouse, "table:nope", batch_id="nope")
    with pytest.raises(TrafficError, match="expected table:<name>"):
        ingest(settings, warehouse, "table:x; DROP TABLE llm_spans", batch_id="evil")
    assert count_spans(warehouse) == 1


def test_compressed_otlp_json_on_an_fsspec_path(warehouse, traffic_settings, span_file):
    import gzip

    span_file.chat()
    url = f"memory://llmmon-test-{uuid.uuid4().hex[:8]}/otel/spans.jsonl.gz"
    fs = fsspec.filesystem("memory")
    with fs.open(url, "wb") as f:
        f.write(gzip.compress(span_file.path.read_bytes() + b"{broken\n"))
    report = ingest(traffic_settings(), warehouse, url, batch_id="gz")
    assert (report.format, report.valid, report.by_reason) == ("otlp_json", 1, {"json": 1})
    assert quarantined(warehouse, "gz")[0]["row_ref"] == url.replace("memory://", "memory:///") + ":2"
    fs.rm(url)


def test_the_default_source_resolves_against_the_config_file(tmp_path):
    from llmmon.config import load_settings
    from llmmon.traffic.ingest import resolve_default_source

    path = tmp_path / "conf" / "llmmon.yaml"
    path.parent.mkdir()
    path.write_text("endpoints: [{name: e, base_url: 'http://x/v1', model: m}]\ntraffic: {source: spans/today}\n")
    assert resolve_default_source(load_settings(path)) == str(tmp_path / "conf" / "spans" / "today")
    path.write_text("endpoints: [{name: e, base_url: 'http://x/v1', model: m}]\ntraffic: {source: 's3://b/x'}\n")
    assert resolve_default_source(load_settings(path)) == "s3://b/x"
