"""Tables of the slo capability: slo_windows (infrastructure figures per window and slice) and slo_batches
(ingestions already included in the windows).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

Frozen copy of schema_slo.py at the time (revisions never import llmmon). Timestamps are
DateTime(timezone=True) (schema.UTCDateTime's storage).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slo_windows",
        sa.Column(
            "window_start",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Start of the window (UTC, inclusive); windows are aligned to UTC midnight.",
        ),
        sa.Column(
            "model",
            sa.String(length=255),
            nullable=False,
            comment="Model served: llm_spans.response_model, else request_model; empty string when unknown.",
        ),
        sa.Column(
            "endpoint",
            sa.String(length=255),
            nullable=False,
            comment="Endpoint of the spans (llm_spans.endpoint); empty string when unknown.",
        ),
        sa.Column(
            "dimension",
            sa.String(length=32),
            nullable=False,
            comment="Slice kind: all (every span of the model and endpoint), model_version, prompt_template, user_segment or replica.",
        ),
        sa.Column(
            "value",
            sa.String(length=255),
            nullable=False,
            comment="Value of the dimension; empty string for all, or when the spans carry none.",
        ),
        sa.Column(
            "window_end",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="End of the window (UTC, exclusive).",
        ),
        sa.Column(
            "n_requests",
            sa.Integer(),
            nullable=False,
            comment="Spans in the slice and window (by start_time).",
        ),
        sa.Column("n_errors", sa.Integer(), nullable=False, comment="Spans with status error."),
        sa.Column("error_rate", sa.Float(), nullable=True, comment="n_errors / n_requests."),
        sa.Column(
            "n_latency",
            sa.Integer(),
            nullable=False,
            comment="Answered (ok) spans with a usable duration: the latency percentiles' sample.",
        ),
        sa.Column(
            "n_bad_duration",
            sa.Integer(),
            nullable=False,
            comment="Spans whose duration is missing or negative: counted, left out of latency figures.",
        ),
        sa.Column(
            "n_ttft",
            sa.Integer(),
            nullable=False,
            comment="Answered spans with a usable time to first token: the TTFT percentiles' sample.",
        ),
        sa.Column(
            "ttft_p50_s",
            sa.Float(),
            nullable=True,
            comment="Median time to first token of answered spans, seconds (exact).",
        ),
        sa.Column(
            "ttft_p95_s",
            sa.Float(),
            nullable=True,
            comment="95th percentile time to first token, seconds (exact, linear interpolation).",
        ),
        sa.Column(
            "ttft_p99_s",
            sa.Float(),
            nullable=True,
            comment="99th percentile time to first token, seconds (exact, linear interpolation).",
        ),
        sa.Column(
            "latency_p50_s",
            sa.Float(),
            nullable=True,
            comment="Median end-to-end latency of answered spans, seconds (exact).",
        ),
        sa.Column(
            "latency_p95_s",
            sa.Float(),
            nullable=True,
            comment="95th percentile end-to-end latency, seconds (exact, linear interpolation).",
        ),
        sa.Column(
            "latency_p99_s",
            sa.Float(),
            nullable=True,
            comment="99th percentile end-to-end latency, seconds (exact, linear interpolation).",
        ),
        sa.Column(
            "output_tokens_per_s",
            sa.Float(),
            nullable=True,
            comment="Output tokens per second of generation: sum of output tokens / sum of (duration - TTFT) over answered spans that produced tokens.",
        ),
        sa.Column(
            "input_tokens", sa.BigInteger(), nullable=False, comment="Prompt tokens of the slice's spans."
        ),
        sa.Column(
            "output_tokens",
            sa.BigInteger(),
            nullable=False,
            comment="Completion tokens of the slice's spans.",
        ),
        sa.Column(
            "n_priced",
            sa.Integer(),
            nullable=False,
            comment="Spans with a known cost (carried by the span or from the price table).",
        ),
        sa.Column(
            "n_cost_unknown",
            sa.Integer(),
            nullable=False,
            comment="Spans whose cost is unknown (unpriced model or missing tokens): never counted as 0.",
        ),
        sa.Column(
            "cost_usd",
            sa.Float(),
            nullable=True,
            comment="Cost of the priced spans in USD; null when none is priced.",
        ),
        sa.Column(
            "cost_per_request_usd",
            sa.Float(),
            nullable=True,
            comment="cost_usd / n_priced; null when none is priced.",
        ),
        sa.Column(
            "cost_per_1k_usd",
            sa.Float(),
            nullable=True,
            comment="Cost per 1,000 priced requests in USD (1000 x cost_per_request_usd).",
        ),
        sa.Column(
            "ttft_slow_s",
            sa.Float(),
            nullable=True,
            comment="TTFT objective in force when computed (slo.objectives.ttft_p95_s); null when disabled.",
        ),
        sa.Column(
            "n_ttft_slow",
            sa.Integer(),
            nullable=False,
            comment="Answered spans whose TTFT exceeded ttft_slow_s: the bad events of the TTFT budget.",
        ),
        sa.Column(
            "latency_slow_s",
            sa.Float(),
            nullable=True,
            comment="Latency objective in force when computed (slo.objectives.latency_p99_s); null when disabled.",
        ),
        sa.Column(
            "n_latency_slow",
            sa.Integer(),
            nullable=False,
            comment="Answered spans whose latency exceeded latency_slow_s: bad events of the latency budget.",
        ),
        sa.Column(
            "error_rate_objective",
            sa.Float(),
            nullable=True,
            comment="Error-rate objective in force when computed (slo.objectives.error_rate): the error budget; null when disabled.",
        ),
        sa.Column(
            "n_clock_skew",
            sa.Integer(),
            nullable=False,
            comment="Spans that ended more than slo.clock_skew_s after they were ingested: a clock ahead of the ingester's.",
        ),
        sa.Column(
            "sparse",
            sa.Boolean(),
            nullable=False,
            comment="True when n_requests < slo.min_requests: figures are stored, alert series read them as no data.",
        ),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the window was last computed (UTC).",
        ),
        sa.PrimaryKeyConstraint(
            "window_start", "model", "endpoint", "dimension", "value", name=op.f("pk_slo_windows")
        ),
        comment="Infrastructure figures of production spans, one row per window, model, endpoint and slice.",
    )
    op.create_index(
        "ix_slo_windows_model_endpoint",
        "slo_windows",
        ["model", "endpoint", "dimension", "window_start"],
        unique=False,
    )
    op.create_index("ix_slo_windows_window_end", "slo_windows", ["window_end"], unique=False)
    op.create_table(
        "slo_batches",
        sa.Column(
            "batch_id",
            sa.String(length=255),
            nullable=False,
            comment="Ingestion whose spans the windows include (ingest_batches.batch_id).",
        ),
        sa.Column(
            "n_spans",
            sa.BigInteger(),
            nullable=False,
            comment="Spans the ingestion wrote first (llm_spans rows).",
        ),
        sa.Column(
            "n_windows", sa.Integer(), nullable=False, comment="Windows those spans fall in, all recomputed."
        ),
        sa.Column(
            "run_key",
            sa.String(length=255),
            nullable=True,
            comment="Run that processed the ingestion, e.g. the DAG run.",
        ),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the windows were recomputed and committed (UTC).",
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_slo_batches")),
        comment="Ingestions already included in slo_windows, one row per ingest batch.",
    )


def downgrade() -> None:
    op.drop_table("slo_batches")
    op.drop_index("ix_slo_windows_model_endpoint", table_name="slo_windows")
    op.drop_index("ix_slo_windows_window_end", table_name="slo_windows")
    op.drop_table("slo_windows")
