"""The canonical span: the columns of ``llm_spans`` and how a source's attributes or columns map onto them.

Every source becomes the same *working table* (pyarrow, one row per record; schema :func:`work_schema`) before
validation: ids lower-case hex, times as integer nanoseconds since the epoch, JSON columns as JSON text, plus two
helper columns, ``_row_ref`` (where the record is) and ``_type_errors`` (values that had the wrong type).
OTLP spans map through :class:`AttributeMapper` (attribute names from ``settings.traffic.attributes``); Parquet
files and tables through :func:`normalize_flat` (column names, renamed by ``settings.traffic.columns``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from llmmon.traffic import TrafficError
from llmmon.traffic_config import TrafficConfig

# The columns of llm_spans, in table order (the ingestion contract; a test checks them against the schema).
SPAN_COLUMNS: tuple[str, ...] = (
    "trace_id", "span_id", "parent_span_id", "name", "operation", "start_time", "end_time", "duration_s",
    "ttft_s", "status", "error_type", "request_model", "response_model", "system_fingerprint", "input_tokens",
    "output_tokens", "cost_usd", "cost_known", "endpoint", "model_version", "prompt_template", "user_segment",
    "replica", "retrieved_doc_ids", "retrieval_scores", "prompt", "completion", "finish_reason", "reference",
    "attributes", "source", "ingest_batch_id", "ingested_at",
)

# Working-table columns filled from attributes (OTLP) or same-named columns (Parquet, tables), by kind.
STRING_COLUMNS = (
    "name", "operation", "error_type", "request_model", "response_model", "system_fingerprint", "endpoint",
    "model_version", "prompt_template", "user_segment", "replica", "finish_reason", "reference",
)
INT_COLUMNS = ("input_tokens", "output_tokens")
FLOAT_COLUMNS = ("ttft_s", "cost_usd")
TEXT_COLUMNS = ("prompt", "completion")
JSON_COLUMNS = ("retrieved_doc_ids", "retrieval_scores", "attributes")
ROW_REF, TYPE_ERRORS = "_row_ref", "_type_errors"
# Attribute-mapped columns (everything the config's ``attributes`` section names).
MAPPED_COLUMNS = (
    "operation", "request_model", "response_model", "system_fingerprint", "input_tokens", "output_tokens",
    "finish_reason", "error_type", "ttft_s", "cost_usd", "endpoint", "model_version", "prompt_template",
    "user_segment", "replica", "retrieved_doc_ids", "retrieval_scores", "reference", "prompt", "completion",
)

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
NS_PER_S = 1_000_000_000


@functools.cache
def work_schema() -> Any:
    """The pyarrow schema of the working table every source is turned into."""
    import pyarrow as pa

    fields = [
        ("trace_id", pa.string()), ("span_id", pa.string()), ("parent_span_id", pa.string()),
        ("start_ns", pa.int64()), ("end_ns", pa.int64()), ("status", pa.string()),
    ]
    fields += [(c, pa.string()) for c in STRING_COLUMNS]
    fields += [(c, pa.int64()) for c in INT_COLUMNS]
    fields += [(c, pa.float64()) for c in FLOAT_COLUMNS]
    fields += [(c, pa.string()) for c in TEXT_COLUMNS + JSON_COLUMNS]
    fields += [("source", pa.string()), (ROW_REF, pa.string()), (TYPE_ERRORS, pa.string())]
    return pa.schema(fields)


# ------------------------------------------------------------------------------------------ ids and values
def normalize_id(value: Any, n_bytes: int) -> str | None:
    """A trace or span id as lower-case hex; base64 (protobuf's own JSON mapping) is converted.

    Anything else comes back as given (as text), so the id-format rule reports it with its value.
    """
    if value is None or value == "":
        return None
    text = str(value)
    if len(text) == 2 * n_bytes and _HEX.match(text):
        return text.lower()
    if _BASE64.match(text) and len(text) % 4 == 0:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) == n_bytes:
            return raw.hex()
    return text


def _text_of_content(content: Any) -> str | None:
    """Message content as text: a string, or the text of a list of parts (``{"type": "text", ...}``)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type", "text") == "text":
                text = part.get("content", part.get("text"))
                if isinstance(text, str):
                    texts.append(text)
        return "".join(texts) if texts else None
    return None


def _message_text(message: dict[str, Any]) -> str | None:
    # Older OpenAI-style {"role", "content"}; newer GenAI semconv {"role", "parts": [{"type": "text", "content"}]}.
    if "parts" in message:
        return _text_of_content(message["parts"])
    return _text_of_content(message.get("content"))


def _is_message(value: Any) -> bool:
    return isinstance(value, dict) and "role" in value and ("content" in value or "parts" in value)


def content_text(value: Any, kind: str) -> str | None:
    """Prompt (``kind="prompt"``) or completion text from a content attribute value.

    A plain string is the text — also when it is JSON that is not chat messages (a structured answer stays as
    it was written). A list of chat messages (or its JSON text) gives, for a prompt, the last user message
    (what the user asked; all messages joined when there is no user message) and, for a completion, the text
    of the output messages joined. Anything else: None.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if not value.lstrip().startswith(("[", "{")):
            return value
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if _is_message(parsed):
            parsed = [parsed]
        if not isinstance(parsed, list) or not parsed or not all(_is_message(m) for m in parsed):
            return value
        value = parsed
    if _is_message(value):
        value = [value]
    if not isinstance(value, list):
        return None
    messages = [m for m in value if _is_message(m)]
    if not messages:
        return None
    if kind == "prompt":
        users = [m for m in messages if m.get("role") == "user"]
        if users:
            return _message_text(users[-1])
    texts = [t for t in (_message_text(m) for m in messages) if t is not None]
    return "\n".join(texts) if texts else None


def _indexed_messages(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]] | None:
    """Messages flattened as ``<prefix>.<i>.role`` / ``<prefix>.<i>.content`` (OpenLLMetry's layout)."""
    messages: dict[int, dict[str, Any]] = {}
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d+)\.(role|content)$")
    for key, value in attrs.items():
        m = pattern.match(key)
        if m:
            messages.setdefault(int(m.group(1)), {})[m.group(2)] = value
    return [messages[i] for i in sorted(messages)] if messages else None


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise TypeError
        return int(value)
    return value


def _as_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError
    value = float(value)
    if not math.isfinite(value):
        raise TypeError
    return value


def _as_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError


def _json_list(value: Any, item: Callable[[Any], Any]) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise TypeError from None
    if not isinstance(value, list):
        raise TypeError
    return json.dumps([item(v) for v in value], separators=(",", ":"), allow_nan=False)


def _doc_id(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError


def _score(value: Any) -> float:
    return _as_float(value)


def _first_string(value: Any) -> str:
    # gen_ai.response.finish_reasons is a string array: the first choice's reason.
    if isinstance(value, list):
        if not value:
            raise TypeError
        value = value[0]
    return _as_string(value)


_CONVERTERS: dict[str, tuple[Callable[[Any], Any], str]] = {
    **{c: (_as_string, "a string") for c in STRING_COLUMNS},
    "finish_reason": (_first_string, "a string or a list of strings"),
    **{c: (_as_int, "an integer") for c in INT_COLUMNS},
    **{c: (_as_float, "a finite number") for c in FLOAT_COLUMNS},
    "retrieved_doc_ids": (lambda v: _json_list(v, _doc_id), "a list of ids (or its JSON)"),
    "retrieval_scores": (lambda v: _json_list(v, _score), "a list of numbers (or its JSON)"),
}


def shown(value: Any, limit: int = 60) -> str:
    """A value for an error message: its repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_text(value: Any) -> str:
    """Compact JSON of an attribute value (bytes as base64), for the ``attributes`` column."""

    def default(v: Any) -> Any:
        if isinstance(v, bytes):
            return base64.b64encode(v).decode()
        raise TypeError(f"{type(v).__name__} is not JSON serializable")

    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=default, allow_nan=False)


# ------------------------------------------------------------------------------------------ OTLP attributes
class AttributeMapper:
    """Maps one span's attributes (and its resource's, and its events) to working-table columns.

    Names come from ``settings.traffic.attributes`` and are tried in order, span attributes before resource
    attributes. The attributes that fed a column are left out of the ``attributes`` column; the others stay.
    """

    def __init__(self, config: TrafficConfig) -> None:
        self.config = config
        names = config.attributes
        self.names: dict[str, tuple[str, ...]] = {c: tuple(getattr(names, c)) for c in MAPPED_COLUMNS}
        self.llm_markers = set(self.names["operation"]) | set(self.names["request_model"])
        self.prompt_events = [(e.event, e.attribute) for e in config.prompt_events]
        self.completion_events = [(e.event, e.attribute) for e in config.completion_events]

    def is_llm_span(self, attrs: dict[str, Any]) -> bool:
        """Whether a span is an LLM call: any ``gen_ai.*`` attribute, or a configured operation/model one."""
        return any(k.startswith("gen_ai.") or k in self.llm_markers for k in attrs)

    def map(
        self,
        attrs: dict[str, Any],
        resource: dict[str, Any],
        events: Iterable[tuple[str, dict[str, Any]]],
        type_errors: list[str],
    ) -> dict[str, Any]:
        """Canonical column values of one span; problems are appended to ``type_errors``."""
        row: dict[str, Any] = {}
        used: set[str] = set()
        for column, names in self.names.items():
            found = None
            for scope in (attrs, resource):
                # An empty value is a missing one (it stays among the other attributes).
                key = next((n for n in names if scope.get(n) is not None and scope[n] != ""), None)
                if key is not None:
                    found = (key, scope[key])
                    break
            if found is None:
                continue
            key, value = found
            used.add(key)
            if column in TEXT_COLUMNS:
                text = content_text(value, column)
                if text is None:
                    type_errors.append(f"{column}: attribute {key} holds no text ({shown(value)})")
                row[column] = text
                continue
            convert, expected = _CONVERTERS[column]
            try:
                row[column] = convert(value)
            except (TypeError, ValueError):
                type_errors.append(f"{column}: attribute {key} must be {expected}, got {shown(value)}")
        event_list = list(events)
        for column, event_names in (("prompt", self.prompt_events), ("completion", self.completion_events)):
            if row.get(column) is not None:
                continue
            text = self._from_events(event_list, event_names, column)
            if text is None:
                text = self._from_indexed(attrs, column, used)
            row[column] = text
        if row.get("endpoint") is None and self.config.default_endpoint is not None:
            row["endpoint"] = self.config.default_endpoint
        rest = {k: v for k, v in resource.items() if k not in used}
        rest.update({k: v for k, v in attrs.items() if k not in used})
        try:
            row["attributes"] = json_text(rest) if rest else None
        except ValueError:
            type_errors.append("attributes: hold NaN or Infinity, which JSON cannot store")
            row["attributes"] = None
        return row

    @staticmethod
    def _from_events(events: list[tuple[str, dict[str, Any]]], wanted: list[tuple[str, str]], kind: str) -> str | None:
        for event_name, attribute in wanted:
            for name, event_attrs in events:
                if name == event_name and event_attrs.get(attribute) is not None:
                    return content_text(event_attrs[attribute], kind)
        return None

    def _from_indexed(self, attrs: dict[str, Any], kind: str, used: set[str]) -> str | None:
        for prefix in self.names[kind]:
            messages = _indexed_messages(attrs, prefix)
            if messages:
                used.update(k for k in attrs if k.startswith(prefix + "."))
                return content_text(messages, kind)
        return None


# ------------------------------------------------------------------------------------------ flat tables
def normalize_flat(
    table: Any, config: TrafficConfig, *, where: str, source: str, ref_prefix: str, offset: int,
    assume_utc: bool | None = None,
) -> Any:
    """A Parquet record batch or table chunk (canonical column names after ``config.columns``) as a working table.

    Ids and timestamps are required columns: ``start_time``/``end_time`` as timestamps with a time zone (or
    ``start_time_unix_nano``/``end_time_unix_nano`` integers). A column that is missing or cannot hold its type
    raises :class:`TrafficError` naming ``where`` and the column: a schema problem is the whole file's, not a
    row's. Row ``i`` is named ``<ref_prefix><offset + i>`` in the quarantine.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    renamed = {source_col: canonical for canonical, source_col in config.columns.items()}
    names = [renamed.get(n, n) for n in table.column_names]
    table = pa.Table.from_batches([table]) if isinstance(table, pa.RecordBatch) else table
    table = table.rename_columns(names)
    n = table.num_rows
    out: dict[str, Any] = {}

    def column(name: str) -> Any:
        return table.column(name) if name in table.column_names else None

    def need(*options: str) -> tuple[str, Any]:
        for name in options:
            if name in table.column_names:
                return name, table.column(name)
        hint = " (or map yours with traffic.columns)"
        raise TrafficError(
            f"{where}: required column {' or '.join(map(repr, options))} is missing{hint}; "
            f"columns are: {', '.join(table.column_names)}"
        )

    def cast(name: str, col: Any, to: Any) -> Any:
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        try:
            return pc.cast(col, to)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise TrafficError(f"{where}: column {name!r} of type {col.type} cannot be read as {to}: {exc}") from None

    for name in ("trace_id", "span_id"):
        _, col = need(name)
        out[name] = _empty_to_null(pc.utf8_lower(cast(name, col, pa.string())))
    parent = column("parent_span_id")
    out["parent_span_id"] = (
        pa.nulls(n, pa.string()) if parent is None
        else _empty_to_null(pc.utf8_lower(cast("parent_span_id", parent, pa.string())))
    )
    utc = config.assume_utc if assume_utc is None else assume_utc
    for name in ("start", "end"):
        col_name, col = need(f"{name}_time", f"{name}_time_unix_nano")
        out[f"{name}_ns"] = _nanoseconds(col_name, col, where, utc)
    out["status"] = _status(column("status"), n, where)
    for name in STRING_COLUMNS:
        col = column(name)
        out[name] = pa.nulls(n, pa.string()) if col is None else _empty_to_null(cast(name, col, pa.string()))
    for name in INT_COLUMNS:
        col = column(name)
        out[name] = pa.nulls(n, pa.int64()) if col is None else cast(name, col, pa.int64())
    for name in FLOAT_COLUMNS:
        col = column(name)
        out[name] = pa.nulls(n, pa.float64()) if col is None else cast(name, col, pa.float64())
    for name in TEXT_COLUMNS:
        col = column(name)
        out[name] = pa.nulls(n, pa.string()) if col is None else cast(name, col, pa.string())
    type_errors: list[str | None] = [None] * n
    for name in JSON_COLUMNS:
        out[name] = _json_column(name, column(name), n, where, type_errors)
    for name in FLOAT_COLUMNS:  # NaN and infinities: a value of the wrong kind, not a number to compare
        col = out[name]
        if col.null_count < n:
            nonfinite = pc.and_(pc.is_valid(col), pc.invert(pc.is_finite(col)))
            if pc.any(nonfinite).as_py():
                for i in pc.indices_nonzero(nonfinite).to_pylist():
                    _add_error(type_errors, i, f"{name}: must be a finite number, got {col[i].as_py()}")
    out["source"] = pa.array([source] * n, pa.string()) if n else pa.array([], pa.string())
    numbers = pc.cast(pa.array(range(offset, offset + n), pa.int64()), pa.string())
    out[ROW_REF] = pc.binary_join_element_wise(ref_prefix, numbers, "")
    out[TYPE_ERRORS] = pa.array(type_errors, pa.string())
    schema = work_schema()
    return pa.table([out[f.name] for f in schema], schema=schema)


def _empty_to_null(col: Any) -> Any:
    """Empty strings as nulls (an empty attribute is a missing one); lengths first, as most columns have none."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(col) == 0 or col.null_count == len(col) or pc.min(pc.binary_length(col)).as_py() != 0:
        return col
    return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)


def _nanoseconds(name: str, col: Any, where: str, assume_utc: bool) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_timestamp(col.type):
        if col.type.tz is None and not assume_utc:
            raise TrafficError(
                f"{where}: column {name!r} is a timestamp without time zone; llmmon needs UTC: write "
                "timestamp[..., tz=UTC] (or *_unix_nano integers), or set traffic.assume_utc: true"
            )
        return pc.cast(pc.cast(col, pa.timestamp("ns", tz=col.type.tz)), pa.int64())
    if pa.types.is_integer(col.type) and name.endswith("_unix_nano"):
        return pc.cast(col, pa.int64())
    raise TrafficError(
        f"{where}: column {name!r} must be a timestamp with a time zone ({name}_unix_nano: integer "
        f"nanoseconds), got {col.type}"
    )


_STATUS_NAMES = {
    "ok": "ok", "unset": "ok", "status_code_ok": "ok", "status_code_unset": "ok", "0": "ok", "1": "ok",
    "error": "error", "status_code_error": "error", "2": "error",
}


def status_value(value: Any) -> str | None:
    """``ok`` or ``error`` from an OTLP status code (0, 1, 2 or its name) or a status word; else the value as
    text, which the known-status rule then reports. None when absent."""
    if value is None:
        return None
    text = str(value).strip().lower()
    return _STATUS_NAMES.get(text, text)


def _status(col: Any, n: int, where: str) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if col is None:  # a flat table without status: every call is taken as ok
        return pa.array(["ok"] * n, pa.string())
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or pa.types.is_integer(col.type)):
        raise TrafficError(f"{where}: column 'status' must hold text (ok, error) or OTLP codes, got {col.type}")
    text = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(col, pa.string())))
    # Vectorised: map the known spellings, keep the others as they are for the known-status rule.
    keys = pa.array(list(_STATUS_NAMES))
    values = pa.array(list(_STATUS_NAMES.values()))
    idx = pc.index_in(text, value_set=keys)
    mapped = pc.take(values, idx)
    return pc.if_else(pc.is_null(idx), text, mapped)


def _json_column(name: str, col: Any, n: int, where: str, type_errors: list[str | None]) -> Any:
    """A JSON column as JSON text: list columns vectorised; text columns checked row by row."""
    import pyarrow as pa

    if col is None:
        return pa.nulls(n, pa.string())
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if name != "attributes" and (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)):
        value_type = col.type.value_type
        if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
            return _json_string_lists(col)
        if pa.types.is_floating(value_type) or pa.types.is_integer(value_type):
            return _json_number_lists(col)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        values = col.to_pylist()
        out: list[str | None] = []
        for i, v in enumerate(values):
            if v is None:
                out.append(None)
                continue
            try:
                parsed = json.loads(v)
            except ValueError:
                parsed = _INVALID
            ok = parsed is not _INVALID and (isinstance(parsed, dict) if name == "attributes" else isinstance(parsed, list))
            if not ok:
                kind = "a JSON object" if name == "attributes" else "a JSON list"
                _add_error(type_errors, i, f"{name}: must be {kind}, got {shown(v)}")
                out.append(None)
            else:
                out.append(v)
        return pa.array(out, pa.string())
    if name == "attributes" and not (pa.types.is_struct(col.type) or pa.types.is_map(col.type)):
        raise TrafficError(f"{where}: column 'attributes' must hold a JSON object (text, struct or map), got {col.type}")
    # Structs, maps, other lists: Python JSON per row (uncommon layouts, small tables).
    out = []
    for i, v in enumerate(col.to_pylist()):
        try:
            out.append(None if v is None else json_text(dict(v) if isinstance(v, list) and name == "attributes" else v))
        except (TypeError, ValueError):
            _add_error(type_errors, i, f"{name}: cannot be stored as JSON ({shown(v)})")
            out.append(None)
    return pa.array(out, pa.string())


_INVALID = object()


def _add_error(errors: list[str | None], i: int, message: str) -> None:
    errors[i] = message if errors[i] is None else f"{errors[i]}; {message}"


def _json_string_lists(col: Any) -> Any:
    """list<string> -> JSON text, vectorised (escape backslash, quote and control characters, then join)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = col.cast(pa.list_(pa.string()))
    values = col.values
    if pc.any(pc.match_substring_regex(values, r"[\x00-\x1f]")).as_py():
        # Control characters need \u escapes: rare enough for Python.
        return pa.array([None if v is None else json.dumps(v, separators=(",", ":")) for v in col.to_pylist()],
                        pa.string())
    escaped = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    quoted = pc.if_else(pc.is_null(values), "null", quoted)
    lists = pa.ListArray.from_arrays(col.offsets, quoted, mask=col.is_null())
    joined = pc.binary_join(lists, ",")
    return pc.binary_join_element_wise("[", joined, "]", "")


def _json_number_lists(col: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    col = col.cast(pa.list_(pa.float64()))
    values = col.values
    if pc.any(pc.invert(pc.is_finite(pc.fill_null(values, 0.0)))).as_py():
        raise TrafficError("a retrieval_scores list holds NaN or Infinity, which JSON cannot store")
    text = pc.cast(values, pa.string())
    text = pc.if_else(pc.is_null(values), "null", text)
    lists = pa.ListArray.from_arrays(col.offsets, text, mask=col.is_null())
    return pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")
