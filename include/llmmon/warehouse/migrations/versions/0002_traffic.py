"""Tables of the traffic capability: llm_spans, llm_spans_quarantine, ingest_batches, llm_served_models.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Frozen copy of schema_traffic.py at the time (revisions never import llmmon). Timestamps are
DateTime(timezone=True) (schema.UTCDateTime's storage).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "llm_spans",
        sa.Column(
            "trace_id",
            sa.String(length=32),
            nullable=False,
            comment="Trace id, 32 lower-case hex digits.",
        ),
        sa.Column(
            "span_id",
            sa.String(length=16),
            nullable=False,
            comment="Span id, 16 lower-case hex digits.",
        ),
        sa.Column(
            "parent_span_id",
            sa.String(length=16),
            nullable=True,
            comment="Parent span id (16 hex digits); null for a root span.",
        ),
        sa.Column(
            "name",
            sa.String(length=255),
            nullable=True,
            comment="Span name, e.g. chat gpt-4o.",
        ),
        sa.Column(
            "operation",
            sa.String(length=64),
            nullable=True,
            comment="GenAI operation (gen_ai.operation.name), e.g. chat.",
        ),
        sa.Column(
            "start_time",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the call started (UTC).",
        ),
        sa.Column(
            "end_time",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the call ended (UTC).",
        ),
        sa.Column(
            "duration_s",
            sa.Float(),
            nullable=False,
            comment="End-to-end latency: end_time - start_time, seconds.",
        ),
        sa.Column(
            "ttft_s",
            sa.Float(),
            nullable=True,
            comment="Time to first token, seconds; null when not streamed or unknown.",
        ),
        sa.Column(
            "status",
            sa.String(length=16),
            nullable=False,
            comment="ok or error (OTLP status: unset and ok are ok).",
        ),
        sa.Column(
            "error_type",
            sa.String(length=255),
            nullable=True,
            comment="Error class (error.type) of a failed call; null otherwise.",
        ),
        sa.Column(
            "request_model",
            sa.String(length=255),
            nullable=True,
            comment="Model id the caller asked for (gen_ai.request.model).",
        ),
        sa.Column(
            "response_model",
            sa.String(length=255),
            nullable=True,
            comment="Model id the provider said it served (gen_ai.response.model).",
        ),
        sa.Column(
            "system_fingerprint",
            sa.String(length=255),
            nullable=True,
            comment="Provider's backend fingerprint (openai.response.system_fingerprint), if any.",
        ),
        sa.Column(
            "input_tokens",
            sa.Integer(),
            nullable=True,
            comment="Prompt tokens (gen_ai.usage.input_tokens).",
        ),
        sa.Column(
            "output_tokens",
            sa.Integer(),
            nullable=True,
            comment="Completion tokens (gen_ai.usage.output_tokens).",
        ),
        sa.Column(
            "cost_usd",
            sa.Float(),
            nullable=True,
            comment="Cost in USD: carried by the span, else from the price table on the start date; null when unknown, never 0 for unknown.",
        ),
        sa.Column(
            "cost_known",
            sa.Boolean(),
            nullable=False,
            comment="Whether cost_usd is known (false: unpriced model or no tokens).",
        ),
        sa.Column(
            "endpoint",
            sa.String(length=255),
            nullable=True,
            comment="llmmon endpoint name (slicing attribute).",
        ),
        sa.Column(
            "model_version",
            sa.String(length=255),
            nullable=True,
            comment="Model version label (slicing attribute).",
        ),
        sa.Column(
            "prompt_template",
            sa.String(length=255),
            nullable=True,
            comment="Prompt template id (slicing attribute).",
        ),
        sa.Column(
            "user_segment",
            sa.String(length=255),
            nullable=True,
            comment="User segment (slicing attribute).",
        ),
        sa.Column(
            "replica",
            sa.String(length=255),
            nullable=True,
            comment="Serving replica (slicing attribute).",
        ),
        sa.Column(
            "retrieved_doc_ids",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON list of the document ids retrieved for a RAG call, in rank order; null otherwise.",
        ),
        sa.Column(
            "retrieval_scores",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON list of the retrieval scores of those documents, if given.",
        ),
        sa.Column(
            "prompt",
            sa.Text(),
            nullable=True,
            comment="Prompt text: the last user message; null when not captured.",
        ),
        sa.Column(
            "completion",
            sa.Text(),
            nullable=True,
            comment="Completion text; null when not captured or the call failed.",
        ),
        sa.Column(
            "finish_reason",
            sa.String(length=64),
            nullable=True,
            comment="Finish reason of the first choice, e.g. stop or length.",
        ),
        sa.Column(
            "reference",
            sa.Text(),
            nullable=True,
            comment="Ground-truth answer, when the span carries one or it is joined later.",
        ),
        sa.Column(
            "attributes",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON object of the other span and resource attributes.",
        ),
        sa.Column(
            "source",
            sa.Text(),
            nullable=False,
            comment="Where the span was read: file URL, or table:<name>.",
        ),
        sa.Column(
            "ingest_batch_id",
            sa.String(length=255),
            nullable=False,
            comment="Ingestion that first wrote the span (ingest_batches.batch_id).",
        ),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the span was first written (UTC); kept on re-ingestion.",
        ),
        sa.CheckConstraint("status IN ('ok', 'error')", name="ck_llm_spans_status"),
        sa.PrimaryKeyConstraint("trace_id", "span_id", name="pk_llm_spans"),
        comment="Production LLM calls, one row per span (trace_id, span_id), validated and canonical.",
    )
    op.create_index("ix_llm_spans_start_time", "llm_spans", ["start_time"])

    op.create_table(
        "llm_spans_quarantine",
        sa.Column(
            "batch_id",
            sa.String(length=255),
            nullable=False,
            comment="Ingestion that read the record (ingest_batches.batch_id).",
        ),
        sa.Column(
            "row_ref",
            sa.String(length=255),
            nullable=False,
            comment="Where the record is: file:line (a bad line), file:line:span (a span of a line), file#row (Parquet), table:name#row.",
        ),
        sa.Column(
            "trace_id",
            sa.String(length=64),
            nullable=True,
            comment="Trace id as read (may be malformed); null when absent.",
        ),
        sa.Column(
            "span_id",
            sa.String(length=64),
            nullable=True,
            comment="Span id as read (may be malformed); null when absent.",
        ),
        sa.Column(
            "rule",
            sa.String(length=64),
            nullable=False,
            comment="First rule the record failed, e.g. end_before_start.",
        ),
        sa.Column(
            "field",
            sa.String(length=255),
            nullable=True,
            comment="Field of that rule, e.g. end_time.",
        ),
        sa.Column(
            "reason",
            sa.Text(),
            nullable=False,
            comment="Every failure of the record: field, rule and the value found.",
        ),
        sa.Column(
            "details",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON list of the failures: rule, field, message.",
        ),
        sa.Column(
            "raw",
            sa.Text(),
            nullable=True,
            comment="The offending record as JSON (or the bad line), truncated.",
        ),
        sa.Column(
            "quarantined_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the record was quarantined (UTC).",
        ),
        sa.PrimaryKeyConstraint("batch_id", "row_ref", name="pk_llm_spans_quarantine"),
        comment="Records that failed validation, one row per record and batch, with the reason; never ingested.",
    )

    op.create_table(
        "ingest_batches",
        sa.Column(
            "batch_id",
            sa.String(length=255),
            nullable=False,
            comment="Id of the ingestion, given by the caller.",
        ),
        sa.Column(
            "source",
            sa.Text(),
            nullable=False,
            comment="Source as given: fsspec path, glob or folder, or table:<name>.",
        ),
        sa.Column(
            "format",
            sa.String(length=32),
            nullable=True,
            comment="otlp_json, parquet or table; null when the ingestion failed before knowing it.",
        ),
        sa.Column(
            "files",
            sa.Integer(),
            nullable=True,
            comment="Files (or tables) read.",
        ),
        sa.Column(
            "read",
            sa.BigInteger(),
            nullable=True,
            comment="Records read: spans, bad lines and rows.",
        ),
        sa.Column(
            "valid",
            sa.BigInteger(),
            nullable=True,
            comment="Records that passed validation (in llm_spans).",
        ),
        sa.Column(
            "quarantined",
            sa.BigInteger(),
            nullable=True,
            comment="Records quarantined (in llm_spans_quarantine).",
        ),
        sa.Column(
            "skipped",
            sa.BigInteger(),
            nullable=True,
            comment="OTLP spans that are not LLM calls (no gen_ai attribute).",
        ),
        sa.Column(
            "by_reason",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON object: rule -> quarantined records that failed it.",
        ),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the ingestion started (UTC).",
        ),
        sa.Column(
            "finished_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When it committed or failed (UTC).",
        ),
        sa.Column(
            "status",
            sa.String(length=16),
            nullable=False,
            comment="success or failed.",
        ),
        sa.Column(
            "error",
            sa.Text(),
            nullable=True,
            comment="Why the ingestion failed; null unless status is failed.",
        ),
        sa.CheckConstraint("format IN ('otlp_json', 'parquet', 'table')", name="ck_ingest_batches_format"),
        sa.CheckConstraint("status IN ('success', 'failed')", name="ck_ingest_batches_status"),
        sa.PrimaryKeyConstraint("batch_id", name="pk_ingest_batches"),
        comment="One row per ingestion of production traffic: source, counts and outcome.",
    )

    op.create_table(
        "llm_served_models",
        sa.Column(
            "endpoint",
            sa.String(length=255),
            nullable=False,
            comment="llmmon endpoint name.",
        ),
        sa.Column(
            "request_model",
            sa.String(length=255),
            nullable=False,
            comment="Model id the callers asked for.",
        ),
        sa.Column(
            "response_model",
            sa.String(length=255),
            nullable=False,
            comment="Model id the provider said it served.",
        ),
        sa.Column(
            "system_fingerprint",
            sa.String(length=255),
            nullable=False,
            comment="Provider's backend fingerprint; empty string when the spans carry none.",
        ),
        sa.Column(
            "first_seen_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Start of the first ok span served this way (UTC).",
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Start of the latest ok span served this way (UTC).",
        ),
        sa.Column(
            "first_trace_id",
            sa.String(length=32),
            nullable=False,
            comment="Trace id of that first span.",
        ),
        sa.Column(
            "first_span_id",
            sa.String(length=16),
            nullable=False,
            comment="Span id of that first span.",
        ),
        sa.PrimaryKeyConstraint(
            "endpoint", "request_model", "response_model", "system_fingerprint", name="pk_llm_served_models"
        ),
        comment="Every model a provider served per endpoint and requested model, with first and last sighting.",
    )


def downgrade() -> None:
    op.drop_table("llm_served_models")
    op.drop_table("ingest_batches")
    op.drop_table("llm_spans_quarantine")
    op.drop_index("ix_llm_spans_start_time", table_name="llm_spans")
    op.drop_table("llm_spans")
