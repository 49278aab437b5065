"""Warehouse tables of the traffic capability (issue 4), on llmmon's one MetaData.

``llm_spans`` is the canonical table of production LLM calls (one row per span, keyed by trace and span id);
``llm_spans_quarantine`` keeps every record that failed validation with its reason; ``ingest_batches`` has one
row per ingestion; ``llm_served_models`` remembers which model each endpoint was served for each requested model
(the state behind silent-model-change detection). docs/warehouse.md mirrors the comments; migration 0002 is the
frozen copy of these tables.
"""

from __future__ import annotations

import sqlalchemy as sa

from llmmon.warehouse.schema import KEY, _ts, metadata

SPAN_STATUSES = ("ok", "error")
INGEST_FORMATS = ("otlp_json", "parquet", "table")
INGEST_STATUSES = ("success", "failed")


def _check_in(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    # NULL passes a CHECK (NULL IN (...) is unknown), so nullable columns need no extra clause.
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)



def _str(name: str, comment: str, length: int = KEY, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable, comment=comment)


llm_spans = sa.Table(
    "llm_spans",
    metadata,
    sa.Column("trace_id", sa.String(32), primary_key=True, comment="Trace id, 32 lower-case hex digits."),
    sa.Column("span_id", sa.String(16), primary_key=True, comment="Span id, 16 lower-case hex digits."),
    _str("parent_span_id", "Parent span id (16 hex digits); null for a root span.", 16),
    _str("name", "Span name, e.g. chat gpt-4o."),
    _str("operation", "GenAI operation (gen_ai.operation.name), e.g. chat.", 64),
    _ts("start_time", "When the call started (UTC).", nullable=False),
    _ts("end_time", "When the call ended (UTC).", nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False, comment="End-to-end latency: end_time - start_time, seconds."),
    sa.Column("ttft_s", sa.Float, nullable=True, comment="Time to first token, seconds; null when not streamed or unknown."),
    _str("status", "ok or error (OTLP status: unset and ok are ok).", 16, nullable=False),
    _str("error_type", "Error class (error.type) of a failed call; null otherwise."),
    _str("request_model", "Model id the caller asked for (gen_ai.request.model)."),
    _str("response_model", "Model id the provider said it served (gen_ai.response.model)."),
    _str("system_fingerprint", "Provider's backend fingerprint (openai.response.system_fingerprint), if any."),
    sa.Column("input_tokens", sa.Integer, nullable=True, comment="Prompt tokens (gen_ai.usage.input_tokens)."),
    sa.Column("output_tokens", sa.Integer, nullable=True, comment="Completion tokens (gen_ai.usage.output_tokens)."),
    sa.Column("cost_usd", sa.Float, nullable=True,
              comment="Cost in USD: carried by the span, else from the price table on the start date; null when unknown, never 0 for unknown."),
    sa.Column("cost_known", sa.Boolean, nullable=False, comment="Whether cost_usd is known (false: unpriced model or no tokens)."),
    _str("endpoint", "llmmon endpoint name (slicing attribute)."),
    _str("model_version", "Model version label (slicing attribute)."),
    _str("prompt_template", "Prompt template id (slicing attribute)."),
    _str("user_segment", "User segment (slicing attribute)."),
    _str("replica", "Serving replica (slicing attribute)."),
    sa.Column("retrieved_doc_ids", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON list of the document ids retrieved for a RAG call, in rank order; null otherwise."),
    sa.Column("retrieval_scores", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON list of the retrieval scores of those documents, if given."),
    sa.Column("prompt", sa.Text, nullable=True, comment="Prompt text: the last user message; null when not captured."),
    sa.Column("completion", sa.Text, nullable=True, comment="Completion text; null when not captured or the call failed."),
    _str("finish_reason", "Finish reason of the first choice, e.g. stop or length.", 64),
    sa.Column("reference", sa.Text, nullable=True, comment="Ground-truth answer, when the span carries one or it is joined later."),
    sa.Column("attributes", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON object of the other span and resource attributes."),
    sa.Column("source", sa.Text, nullable=False, comment="Where the span was read: file URL, or table:<name>."),
    _str("ingest_batch_id", "Ingestion that first wrote the span (ingest_batches.batch_id).", nullable=False),
    _ts("ingested_at", "When the span was first written (UTC); kept on re-ingestion.", nullable=False),
    _check_in("status", SPAN_STATUSES, "status"),
    sa.Index("ix_llm_spans_start_time", "start_time"),
    sa.Index("ix_llm_spans_ingest_batch_id", "ingest_batch_id"),  # which windows an ingestion touched (SLO job)
    comment="Production LLM calls, one row per span (trace_id, span_id), validated and canonical.",
)

llm_spans_quarantine = sa.Table(
    "llm_spans_quarantine",
    metadata,
    _str("batch_id", "Ingestion that read the record (ingest_batches.batch_id).", nullable=False),
    sa.Column("row_ref", sa.String(KEY), nullable=False,
              comment="Where the record is: file:line (a bad line), file:line:span (a span of a line), file#row (Parquet), table:name#row."),
    _str("trace_id", "Trace id as read (may be malformed); null when absent.", 64),
    _str("span_id", "Span id as read (may be malformed); null when absent.", 64),
    _str("rule", "First rule the record failed, e.g. end_before_start.", 64, nullable=False),
    _str("field", "Field of that rule, e.g. end_time."),
    sa.Column("reason", sa.Text, nullable=False, comment="Every failure of the record: field, rule and the value found."),
    sa.Column("details", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON list of the failures: rule, field, message."),
    sa.Column("raw", sa.Text, nullable=True, comment="The offending record as JSON (or the bad line), truncated."),
    _ts("quarantined_at", "When the record was quarantined (UTC).", nullable=False),
    sa.PrimaryKeyConstraint("batch_id", "row_ref"),
    comment="Records that failed validation, one row per record and batch, with the reason; never ingested.",
)

ingest_batches = sa.Table(
    "ingest_batches",
    metadata,
    sa.Column("batch_id", sa.String(KEY), primary_key=True, comment="Id of the ingestion, given by the caller."),
    sa.Column("source", sa.Text, nullable=False, comment="Source as given: fsspec path, glob or folder, or table:<name>."),
    _str("format", "otlp_json, parquet or table; null when the ingestion failed before knowing it.", 32),
    sa.Column("files", sa.Integer, nullable=True, comment="Files (or tables) read."),
    sa.Column("read", sa.BigInteger, nullable=True, comment="Records read: spans, bad lines and rows."),
    sa.Column("valid", sa.BigInteger, nullable=True, comment="Records that passed validation (in llm_spans)."),
    sa.Column("quarantined", sa.BigInteger, nullable=True, comment="Records quarantined (in llm_spans_quarantine)."),
    sa.Column("skipped", sa.BigInteger, nullable=True, comment="OTLP spans that are not LLM calls (no gen_ai attribute)."),
    sa.Column("by_reason", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON object: rule -> quarantined records that failed it."),
    _ts("started_at", "When the ingestion started (UTC).", nullable=False),
    _ts("finished_at", "When it committed or failed (UTC)."),
    _str("status", "success or failed.", 16, nullable=False),
    sa.Column("error", sa.Text, nullable=True, comment="Why the ingestion failed; null unless status is failed."),
    _check_in("format", INGEST_FORMATS, "format"),
    _check_in("status", INGEST_STATUSES, "status"),
    comment="One row per ingestion of production traffic: source, counts and outcome.",
)

llm_served_models = sa.Table(
    "llm_served_models",
    metadata,
    sa.Column("endpoint", sa.String(KEY), primary_key=True, comment="llmmon endpoint name."),
    sa.Column("request_model", sa.String(KEY), primary_key=True, comment="Model id the callers asked for."),
    sa.Column("response_model", sa.String(KEY), primary_key=True, comment="Model id the provider said it served."),
    sa.Column("system_fingerprint", sa.String(KEY), primary_key=True,
              comment="Provider's backend fingerprint; empty string when the spans carry none."),
    _ts("first_seen_at", "Start of the first ok span served this way (UTC).", nullable=False),
    _ts("last_seen_at", "Start of the latest ok span served this way (UTC).", nullable=False),
    sa.Column("first_trace_id", sa.String(32), nullable=False, comment="Trace id of that first span."),
    sa.Column("first_span_id", sa.String(16), nullable=False, comment="Span id of that first span."),
    comment="Every model a provider served per endpoint and requested model, with first and last sighting.",
)

TRAFFIC_TABLES: tuple[sa.Table, ...] = (llm_spans, llm_spans_quarantine, ingest_batches, llm_served_models)
