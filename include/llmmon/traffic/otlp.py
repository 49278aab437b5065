"""OTLP JSON, as the OpenTelemetry Collector's file exporter writes it: one ExportTraceServiceRequest per line.

The encoding follows the OTLP specification's "JSON Protobuf Encoding": lowerCamelCase keys, trace and span
ids as hex strings (not protobuf's base64), enums as integers, 64-bit integers (``startTimeUnixNano``,
``intValue``) as decimal strings. Reading is tolerant where the specification says receivers must be: unknown
fields are ignored, 64-bit integers may be numbers or strings, hex is case-insensitive; base64 ids (protobuf's
own JSON mapping, written by some exporters) are converted. A file may also hold one pretty-printed request.

Reading: :func:`read_otlp_json` yields working-table chunks (see ``canonical``); a line that is not JSON, or not
a request, becomes a quarantine record naming ``file:line``; a span that cannot be mapped keeps its problems in
``_type_errors`` for the validation to report.

Writing: :class:`OtlpJsonFileExporter` is an OpenTelemetry SDK ``SpanExporter`` that appends one request per
export call to a file, in the same format (what ``llmmon demo-traffic`` uses).
"""

from __future__ import annotations

import base64
import json
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from llmmon.traffic.canonical import (
    ROW_REF,
    TYPE_ERRORS,
    AttributeMapper,
    normalize_id,
    shown,
    status_value,
    work_schema,
)

# Spans per working-table chunk: the OTLP path builds Python rows, so chunks stay small.
CHUNK_SPANS = 5000
# A first line that does not parse may start a pretty-printed request: read the whole file up to this size.
WHOLE_DOCUMENT_MAX_BYTES = 64 * 1024 * 1024

# OTLP enums: Span.SpanKind is the Python SpanKind + 1; Status.StatusCode matches Python's StatusCode.
_FLAG_HAS_IS_REMOTE, _FLAG_IS_REMOTE = 0x100, 0x200


class _ValueError(Exception):
    """An AnyValue that does not decode (message says why)."""


# --------------------------------------------------------------------------------------------- decoding
def decode_value(value: Any) -> Any:
    """An OTLP JSON ``AnyValue`` as a Python value (int, float, str, bool, bytes, list, dict or None)."""
    if not isinstance(value, dict):
        raise _ValueError(f"an AnyValue must be an object, got {shown(value)}")
    if not value:
        return None
    if "stringValue" in value:
        v = value["stringValue"]
        if not isinstance(v, str):
            raise _ValueError(f"stringValue must be a string, got {shown(v)}")
        return v
    if "intValue" in value:
        v = value["intValue"]
        if isinstance(v, bool) or not isinstance(v, int | str):
            raise _ValueError(f"intValue must be an integer or its decimal string, got {shown(v)}")
        try:
            return int(v)
        except ValueError:
            raise _ValueError(f"intValue {shown(v)} is not an integer") from None
    if "doubleValue" in value:
        v = value["doubleValue"]
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise _ValueError(f"doubleValue must be a number, got {shown(v)}")
        try:
            return float(v)  # protobuf JSON also allows "NaN", "Infinity" and numeric strings
        except ValueError:
            raise _ValueError(f"doubleValue {shown(v)} is not a number") from None
    if "boolValue" in value:
        v = value["boolValue"]
        if not isinstance(v, bool):
            raise _ValueError(f"boolValue must be true or false, got {shown(v)}")
        return v
    if "arrayValue" in value:
        values = (value["arrayValue"] or {}).get("values") or []
        if not isinstance(values, list):
            raise _ValueError("arrayValue.values must be a list")
        return [decode_value(v) for v in values]
    if "kvlistValue" in value:
        return decode_attributes((value["kvlistValue"] or {}).get("values") or [])
    if "bytesValue" in value:
        try:
            return base64.b64decode(value["bytesValue"], validate=True)
        except (ValueError, TypeError):
            raise _ValueError(f"bytesValue {shown(value['bytesValue'])} is not base64") from None
    return None  # an unknown kind of value: ignored, as the specification asks of unknown fields


def decode_attributes(kvs: Any, errors: list[str] | None = None, where: str = "attribute") -> dict[str, Any]:
    """A list of OTLP ``KeyValue`` as a dict; undecodable values go to ``errors`` (raised when None)."""
    if not isinstance(kvs, list):
        message = f"{where}s must be a list of key/value objects"
        if errors is None:
            raise _ValueError(message)
        errors.append(message)
        return {}
    out: dict[str, Any] = {}
    for kv in kvs:
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            message = f"{where} {shown(kv)} is not a key/value object"
            if errors is None:
                raise _ValueError(message)
            errors.append(message)
            continue
        try:
            out[kv["key"]] = decode_value(kv.get("value") or {})
        except _ValueError as exc:
            if errors is None:
                raise
            errors.append(f"{where} {kv['key']}: {exc}")
    return out


def _nanos(value: Any, name: str, errors: list[str]) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        errors.append(f"{name}: must be integer nanoseconds, got {shown(value)}")
        return None
    try:
        nanos = int(value)
    except ValueError:
        errors.append(f"{name}: {shown(value)} is not integer nanoseconds")
        return None
    if isinstance(value, float) and value != nanos:
        errors.append(f"{name}: {shown(value)} is not integer nanoseconds")
        return None
    if not -(2**63) <= nanos < 2**63:
        errors.append(f"{name}: {value} is out of range")
        return None
    return nanos


@dataclass
class Chunk:
    """Part of a source as a working table, plus what could not become a row.

    ``bad``: quarantine records decided while reading (a line that is not JSON...); ``raw(i)``: the JSON text
    of row ``i`` for the quarantine; ``read``: records read (rows + bad + skipped); ``skipped``: non-LLM spans.
    """

    table: Any
    raw: Any
    bad: list[dict[str, Any]] = field(default_factory=list)
    read: int = 0
    skipped: int = 0


def _bad(row_ref: str, rule: str, field_name: str | None, reason: str, raw: str | None) -> dict[str, Any]:
    return {"row_ref": row_ref, "trace_id": None, "span_id": None, "rule": rule, "field": field_name,
            "reason": reason, "details": [{"rule": rule, "field": field_name, "message": reason}], "raw": raw}


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _documents(f: Any) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each non-blank line; a pretty-printed single request comes back as line 1."""
    first = True
    for lineno, line in enumerate(f, 1):
        if first and line.strip():
            first = False
            try:
                json.loads(line)
            except ValueError:
                rest = f.read(WHOLE_DOCUMENT_MAX_BYTES + 1)
                whole = line + rest
                if len(rest) <= WHOLE_DOCUMENT_MAX_BYTES:
                    try:
                        json.loads(whole)
                    except ValueError:
                        pass
                    else:
                        yield lineno, whole
                        return
                for n, part in enumerate(whole.splitlines(keepends=True), lineno):
                    if part.strip():
                        yield n, part
                if len(rest) > WHOLE_DOCUMENT_MAX_BYTES:  # never seen in practice; keep going line by line
                    for n, part in enumerate(f, lineno + len(whole.splitlines())):
                        if part.strip():
                            yield n, part
                return
        if line.strip():
            yield lineno, line


def read_otlp_json(
    fileobj: Any, url: str, mapper: AttributeMapper, *, ref: Any, raw_chars: int, chunk_spans: int = CHUNK_SPANS,
) -> Iterator[Chunk]:
    """Working-table chunks of one OTLP JSON file (binary file object); ``ref(suffix)`` names a record."""
    import pyarrow as pa

    schema = work_schema()
    rows: list[dict[str, Any]] = []
    spans: list[Any] = []
    pending = Chunk(table=None, raw=None)

    def flush() -> Chunk:
        nonlocal rows, spans, pending
        kept = spans
        table = pa.Table.from_pylist(rows, schema=schema)
        chunk = Chunk(table=table, raw=lambda i: _truncate(json.dumps(kept[i], ensure_ascii=False), raw_chars),
                      bad=pending.bad, read=pending.read, skipped=pending.skipped)
        rows, spans, pending = [], [], Chunk(table=None, raw=None)
        return chunk

    for lineno, line in _documents(fileobj):
        try:
            request = json.loads(line)
        except UnicodeDecodeError as exc:
            pending.read += 1
            pending.bad.append(_bad(ref(f"{lineno}"), "json", None, f"line {lineno}: not UTF-8 text ({exc.reason})",
                                    _truncate(line.decode("utf-8", "replace").rstrip("\r\n"), raw_chars)))
            continue
        except ValueError as exc:
            pending.read += 1
            where = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            reason = f"line {lineno}: not valid JSON: {getattr(exc, 'msg', str(exc))}{where}"
            pending.bad.append(_bad(ref(f"{lineno}"), "json", None, reason,
                                    _truncate(line.decode("utf-8", "replace").rstrip("\r\n"), raw_chars)))
            continue
        problems: list[str] = []
        k = 0
        for resource, span_path, span in _walk(request, problems):
            if not isinstance(span, dict):
                pending.read += 1
                reason = f"line {lineno}: {span_path} is not a span object"
                pending.bad.append(_bad(ref(f"{lineno}:{k}"), "otlp_structure", None, reason,
                                        _truncate(json.dumps(span), raw_chars)))
                k += 1
                continue
            pending.read += 1
            row = _span_row(span, resource, mapper)
            if row is None:
                pending.skipped += 1
            else:
                row["source"] = url
                row[ROW_REF] = ref(f"{lineno}:{k}")
                rows.append(row)
                spans.append(span)
            k += 1
            if len(rows) >= chunk_spans:
                yield flush()
        if problems:
            pending.read += 1
            reason = f"line {lineno}: not an OTLP ExportTraceServiceRequest: " + "; ".join(problems[:10])
            pending.bad.append(_bad(ref(f"{lineno}"), "otlp_structure", None, reason,
                                    _truncate(line.decode("utf-8", "replace").rstrip("\r\n"), raw_chars)))
    yield flush()


def _walk(request: Any, problems: list[str]) -> Iterator[tuple[tuple[dict, list], str, Any]]:
    """((resource attributes, their errors), span path, span) of every span in a request."""
    if not isinstance(request, dict) or not isinstance(request.get("resourceSpans"), list):
        problems.append("no resourceSpans list")
        return
    for i, rs in enumerate(request["resourceSpans"]):
        path = f"resourceSpans[{i}]"
        if not isinstance(rs, dict):
            problems.append(f"{path} is not an object")
            continue
        errors: list[str] = []
        resource = rs.get("resource") or {}
        attrs = decode_attributes(resource.get("attributes") or [], errors, "resource attribute") \
            if isinstance(resource, dict) else {}
        # scopeSpans; instrumentationLibrarySpans is its name before OTLP 0.15.
        scopes = rs.get("scopeSpans", rs.get("instrumentationLibrarySpans", []))
        if not isinstance(scopes, list):
            problems.append(f"{path}.scopeSpans is not a list")
            continue
        for j, ss in enumerate(scopes):
            spath = f"{path}.scopeSpans[{j}]"
            spans = ss.get("spans", []) if isinstance(ss, dict) else None
            if not isinstance(spans, list):
                problems.append(f"{spath}.spans is not a list")
                continue
            for k, span in enumerate(spans):
                yield (attrs, errors), f"{spath}.spans[{k}]", span


def _span_row(span: dict[str, Any], resource: tuple[dict, list], mapper: AttributeMapper) -> dict[str, Any] | None:
    """The working-table row of one span; None when it is not an LLM call."""
    errors: list[str] = list(resource[1])
    attrs = decode_attributes(span.get("attributes") or [], errors)
    if not mapper.is_llm_span(attrs):
        return None
    events = []
    raw_events = span.get("events") or []
    if not isinstance(raw_events, list):
        errors.append("events must be a list")
        raw_events = []
    for event in raw_events:
        if isinstance(event, dict):
            events.append((event.get("name"), decode_attributes(event.get("attributes") or [], errors,
                                                                 "event attribute")))
    status = span.get("status")
    code: Any = 0  # no status: UNSET
    message = None
    if isinstance(status, dict):
        code, message = status.get("code", 0), status.get("message")
    elif status is not None:
        errors.append(f"status: must be an object with a code, got {shown(status)}")
        code = None
    if isinstance(message, str) and message:
        attrs = {**attrs, "otel.status_description": message}
    row = mapper.map(attrs, resource[0], events, errors)
    ids = {}
    for key, name, size in (("traceId", "trace_id", 16), ("spanId", "span_id", 8), ("parentSpanId", "parent_span_id", 8)):
        value = span.get(key)
        if value is not None and not isinstance(value, str):
            errors.append(f"{name}: {key} must be a hex string, got {shown(value)}")
        ids[name] = normalize_id(value, size)
    name = span.get("name")
    if name is not None and not isinstance(name, str):
        errors.append(f"name: must be a string, got {shown(name)}")
        name = None
    row.update(
        ids,
        name=name or None,
        start_ns=_nanos(span.get("startTimeUnixNano"), "start_time", errors),
        end_ns=_nanos(span.get("endTimeUnixNano"), "end_time", errors),
        status=status_value(code),
    )
    row[TYPE_ERRORS] = "; ".join(errors) if errors else None
    return row


# --------------------------------------------------------------------------------------------- encoding
def encode_value(value: Any) -> dict[str, Any]:
    """A Python attribute value as an OTLP JSON ``AnyValue``."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value if math.isfinite(value) else str(value).replace("inf", "Infinity").replace("nan", "NaN")}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": encode_attributes(value)}}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [encode_value(v) for v in value]}}
    return {"stringValue": str(value)}


def encode_attributes(attrs: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": k, "value": encode_value(v)} for k, v in (attrs or {}).items()]


def _span_json(span: Any) -> dict[str, Any]:
    ctx = span.context
    out: dict[str, Any] = {
        "traceId": f"{ctx.trace_id:032x}",
        "spanId": f"{ctx.span_id:016x}",
    }
    if ctx.trace_state:
        out["traceState"] = ctx.trace_state.to_header()
    if span.parent is not None:
        out["parentSpanId"] = f"{span.parent.span_id:016x}"
    out["name"] = span.name
    out["kind"] = span.kind.value + 1
    out["startTimeUnixNano"] = str(span.start_time)
    out["endTimeUnixNano"] = str(span.end_time)
    if span.attributes:
        out["attributes"] = encode_attributes(span.attributes)
    if span.dropped_attributes:
        out["droppedAttributesCount"] = span.dropped_attributes
    if span.events:
        out["events"] = [
            {"timeUnixNano": str(e.timestamp), "name": e.name,
             **({"attributes": encode_attributes(e.attributes)} if e.attributes else {})}
            for e in span.events
        ]
    if span.links:
        out["links"] = [
            {"traceId": f"{link.context.trace_id:032x}", "spanId": f"{link.context.span_id:016x}",
             **({"attributes": encode_attributes(link.attributes)} if link.attributes else {}),
             "flags": _FLAG_HAS_IS_REMOTE | (_FLAG_IS_REMOTE if link.context.is_remote else 0)}
            for link in span.links
        ]
    status: dict[str, Any] = {}
    if span.status.description:
        status["message"] = span.status.description
    if span.status.status_code.value:
        status["code"] = span.status.status_code.value
    out["status"] = status
    remote = span.parent is not None and span.parent.is_remote
    out["flags"] = _FLAG_HAS_IS_REMOTE | (_FLAG_IS_REMOTE if remote else 0)
    return out


def encode_spans(spans: Sequence[Any]) -> dict[str, Any]:
    """SDK ``ReadableSpan``s as one OTLP JSON ExportTraceServiceRequest, grouped by resource and scope."""
    by_resource: dict[int, tuple[Any, dict[Any, list[Any]]]] = {}
    for span in spans:
        entry = by_resource.setdefault(id(span.resource), (span.resource, {}))
        scope = span.instrumentation_scope
        key = (scope.name, scope.version, scope.schema_url) if scope is not None else None
        entry[1].setdefault(key, []).append(span)
    resource_spans = []
    for resource, scopes in by_resource.values():
        scope_spans = []
        for key, members in scopes.items():
            scope: dict[str, Any] = {}
            if key is not None:
                scope["name"] = key[0]
                if key[1]:
                    scope["version"] = key[1]
            entry = {"scope": scope, "spans": [_span_json(s) for s in members]}
            if key is not None and key[2]:
                entry["schemaUrl"] = key[2]
            scope_spans.append(entry)
        rs: dict[str, Any] = {"resource": {"attributes": encode_attributes(resource.attributes)},
                              "scopeSpans": scope_spans}
        if resource.schema_url:
            rs["schemaUrl"] = resource.schema_url
        resource_spans.append(rs)
    return {"resourceSpans": resource_spans}


class OtlpJsonFileExporter(SpanExporter):
    """An OpenTelemetry SDK span exporter writing the Collector file exporter's format: each ``export`` call
    appends one ExportTraceServiceRequest as one JSON line to ``path`` (created with its folder)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._closed = False
        self.spans_written = 0

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        if self._closed:
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        line = json.dumps(encode_spans(spans), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
            self.spans_written += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._closed = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
