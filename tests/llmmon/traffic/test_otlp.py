"""OTLP JSON: the exporter writes what the OpenTelemetry proto encoder means, and the reader is spec-tolerant."""

from __future__ import annotations

import base64
import io
import json

import pytest

from llmmon.traffic.canonical import AttributeMapper, content_text, normalize_id
from llmmon.traffic.otlp import decode_value, encode_value, read_otlp_json
from llmmon.traffic_config import TrafficConfig

from .conftest import T0, llm_attributes, ns


def _ids_to_hex(obj):
    """Protobuf's JSON mapping (base64 ids) turned into OTLP JSON's (hex ids), recursively."""
    if isinstance(obj, dict):
        return {k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") else _ids_to_hex(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_ids_to_hex(v) for v in obj]
    return obj


def test_exporter_writes_what_the_official_otlp_encoder_encodes(span_file):
    encoder = pytest.importorskip("opentelemetry.exporter.otlp.proto.common.trace_encoder")
    json_format = pytest.importorskip("google.protobuf.json_format")
    parent = span_file.app_span()
    span_file.chat(attributes=llm_attributes(**{"llmmon.retrieved_doc_ids": ["d1", "d2"], "flag": True,
                                                "llmmon.retrieval_scores": [0.5, 0.25]}),
                   prompt="hello", completion="hi", error="server_error", parent=parent)
    parent.end(end_time=ns(T0) + 2 * 10**9)
    ours = span_file.lines()
    assert len(ours) == 2  # SimpleSpanProcessor: one export call, so one request line, per span
    official = [json_format.MessageToDict(encoder.encode_spans([s]), use_integers_for_enums=True)
                for s in span_file.spans + [parent]]
    assert ours == [_ids_to_hex(o) for o in official]
    chat = ours[0]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    # The OTLP JSON rules, spelled out: hex ids, enum integers, 64-bit integers as decimal strings.
    assert chat["traceId"] == f"{span_file.spans[0].context.trace_id:032x}" and len(chat["spanId"]) == 16
    assert chat["parentSpanId"] == f"{parent.context.span_id:016x}"
    assert chat["kind"] == 3 and chat["status"] == {"code": 2, "message": "server_error happened"}
    assert chat["startTimeUnixNano"] == str(ns(T0))
    tokens = next(a for a in chat["attributes"] if a["key"] == "gen_ai.usage.input_tokens")
    assert tokens["value"] == {"intValue": "1000"}


@pytest.mark.parametrize(("value", "expected"), [
    ({"stringValue": "x"}, "x"),
    ({"intValue": "12"}, 12),
    ({"intValue": 12}, 12),  # the spec: receivers accept 64-bit integers as numbers too
    ({"doubleValue": 0.5}, 0.5),
    ({"doubleValue": "NaN"}, "nan"),
    ({"boolValue": False}, False),
    ({"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "2"}]}}, ["a", 2]),
    ({"kvlistValue": {"values": [{"key": "k", "value": {"stringValue": "v"}}]}}, {"k": "v"}),
    ({"bytesValue": base64.b64encode(b"\x01\x02").decode()}, b"\x01\x02"),
    ({}, None),
    ({"someFutureValue": 1}, None),  # unknown fields are ignored
])
def test_decode_value(value, expected):
    got = decode_value(value)
    assert (str(got) if expected == "nan" else got) == expected


def test_encode_then_decode_round_trips():
    for value in ("s", 3, 2.5, True, ["a", "b"], [1, 2], {"k": [1, "x"]}, b"\x00\xff"):
        assert decode_value(json.loads(json.dumps(encode_value(value)))) == value


def test_ids_are_normalised_to_lower_case_hex():
    trace = "5B8EFFF798038103D269B633813FC60C"
    assert normalize_id(trace, 16) == trace.lower()
    raw = bytes.fromhex("00f067aa0ba902b7")
    assert normalize_id(base64.b64encode(raw).decode(), 8) == "00f067aa0ba902b7"  # protobuf's base64 mapping
    assert normalize_id("not-an-id", 8) == "not-an-id"  # kept as given: the id-format rule reports it
    assert normalize_id("", 8) is None


def test_content_text_of_each_convention():
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Where is my order?"}]
    assert content_text(json.dumps(messages), "prompt") == "Where is my order?"
    newer = [{"role": "user", "parts": [{"type": "text", "content": "Hi "}, {"type": "text", "content": "there"}]}]
    assert content_text(newer, "prompt") == "Hi there"
    output = [{"role": "assistant", "parts": [{"type": "text", "content": "Shipped."}], "finish_reason": "stop"}]
    assert content_text(json.dumps(output), "completion") == "Shipped."
    assert content_text("plain text", "completion") == "plain text"
    assert content_text("[not json", "prompt") == "[not json"
    structured = '{"intent": "refund", "priority": "high"}'  # a JSON answer is text, not a message
    assert content_text(structured, "completion") == structured
    assert content_text("[1, 2]", "completion") == "[1, 2]"


def _read(text: bytes, **config):
    mapper = AttributeMapper(TrafficConfig(**config))
    chunks = list(read_otlp_json(io.BytesIO(text), "f.jsonl", mapper, ref=lambda s: f"f.jsonl:{s}", raw_chars=200))
    rows = [r for c in chunks for r in c.table.to_pylist()]
    bad = [b for c in chunks for b in c.bad]
    return rows, bad, sum(c.read for c in chunks), sum(c.skipped for c in chunks)


def test_a_bad_line_is_quarantined_with_file_and_line_and_the_rest_is_read(span_file):
    span_file.chat()
    span_file.append_line('{"resourceSpans": [}')  # line 2: not JSON
    span_file.append_line('{"hello": "world"}')  # line 3: JSON, but not an ExportTraceServiceRequest
    span_file.chat(start=T0.replace(minute=5))
    rows, bad, read, skipped = _read(span_file.path.read_bytes())
    assert [r["_row_ref"] for r in rows] == ["f.jsonl:1:0", "f.jsonl:4:0"]
    assert [(b["row_ref"], b["rule"]) for b in bad] == [("f.jsonl:2", "json"), ("f.jsonl:3", "otlp_structure")]
    assert bad[0]["reason"].startswith("line 2: not valid JSON") and bad[0]["raw"] == '{"resourceSpans": [}'
    assert "no resourceSpans list" in bad[1]["reason"]
    assert (read, skipped) == (4, 0)


def test_a_pretty_printed_request_is_one_document(span_file):
    span_file.chat()
    request = span_file.lines()[0]
    rows, bad, read, _ = _read(json.dumps(request, indent=2).encode())
    assert (len(rows), bad, read) == (1, [], 1)
    assert rows[0]["_row_ref"] == "f.jsonl:1:0"


def test_non_llm_spans_are_skipped_and_counted(span_file):
    parent = span_file.app_span()
    span_file.chat(parent=parent)
    parent.end(end_time=ns(T0) + 2 * 10**9)
    rows, bad, read, skipped = _read(span_file.path.read_bytes())
    assert (len(rows), bad, read, skipped) == (1, [], 2, 1)


def test_wrong_types_are_collected_for_the_types_rule():
    span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "chat m", "startTimeUnixNano": "1",
            "endTimeUnixNano": "x", "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.usage.input_tokens", "value": {"stringValue": "twelve"}},
                {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "1.5"}},
            ]}
    line = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()
    rows, bad, _, _ = _read(line)
    assert bad == []
    errors = rows[0]["_type_errors"]
    assert "end_time: 'x' is not integer nanoseconds" in errors
    assert "attribute gen_ai.usage.output_tokens: intValue '1.5' is not an integer" in errors
    assert "input_tokens: attribute gen_ai.usage.input_tokens must be an integer, got 'twelve'" in errors
    assert rows[0]["end_ns"] is None and rows[0]["input_tokens"] is None


def test_an_empty_attribute_is_a_missing_one():
    mapper = AttributeMapper(TrafficConfig(default_endpoint="fallback"))
    errors: list[str] = []
    row = mapper.map({"gen_ai.request.model": "", "llmmon.endpoint": ""}, {"service.name": "app"}, [], errors)
    assert (row.get("request_model"), row["endpoint"], errors) == (None, "fallback", [])
    assert json.loads(row["attributes"]) == {"service.name": "app", "gen_ai.request.model": "", "llmmon.endpoint": ""}
