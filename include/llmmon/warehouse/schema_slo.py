"""Tables of the slo capability, on the shared MetaData (see schema.py); created by their own Alembic revision.

``slo_windows``: infrastructure figures of production spans per window and slice (replaced window by window, so
late or replayed spans recompute a window instead of adding to it). ``slo_batches``: the ingestions whose spans the
windows already include: the DAG recomputes the windows touched by any other successful ingestion.
docs/warehouse/slo.md mirrors the comments; migration 0007 is the frozen copy.
"""

from __future__ import annotations

import sqlalchemy as sa

from llmmon.warehouse.schema import KEY, _count, _number, _ts, metadata

SLO_DIMENSIONS = ("all", "model_version", "prompt_template", "user_segment", "replica")





slo_windows = sa.Table(
    "slo_windows",
    metadata,
    _ts("window_start", "Start of the window (UTC, inclusive); windows are aligned to UTC midnight.",
        nullable=False, primary_key=True),
    sa.Column("model", sa.String(KEY), primary_key=True,
              comment="Model served: llm_spans.response_model, else request_model; empty string when unknown."),
    sa.Column("endpoint", sa.String(KEY), primary_key=True,
              comment="Endpoint of the spans (llm_spans.endpoint); empty string when unknown."),
    sa.Column("dimension", sa.String(32), primary_key=True,
              comment="Slice kind: all (every span of the model and endpoint), model_version, prompt_template, "
                      "user_segment or replica."),
    sa.Column("value", sa.String(KEY), primary_key=True,
              comment="Value of the dimension; empty string for all, or when the spans carry none."),
    _ts("window_end", "End of the window (UTC, exclusive).", nullable=False),
    _count("n_requests", "Spans in the slice and window (by start_time)."),
    _count("n_errors", "Spans with status error."),
    _number("error_rate", "n_errors / n_requests."),
    _count("n_latency", "Answered (ok) spans with a usable duration: the latency percentiles' sample."),
    _count("n_bad_duration", "Spans whose duration is missing or negative: counted, left out of latency figures."),
    _count("n_ttft", "Answered spans with a usable time to first token: the TTFT percentiles' sample."),
    _number("ttft_p50_s", "Median time to first token of answered spans, seconds (exact)."),
    _number("ttft_p95_s", "95th percentile time to first token, seconds (exact, linear interpolation)."),
    _number("ttft_p99_s", "99th percentile time to first token, seconds (exact, linear interpolation)."),
    _number("latency_p50_s", "Median end-to-end latency of answered spans, seconds (exact)."),
    _number("latency_p95_s", "95th percentile end-to-end latency, seconds (exact, linear interpolation)."),
    _number("latency_p99_s", "99th percentile end-to-end latency, seconds (exact, linear interpolation)."),
    _number("output_tokens_per_s", "Output tokens per second of generation: sum of output tokens / sum of "
                                "(duration - TTFT) over answered spans that produced tokens."),
    sa.Column("input_tokens", sa.BigInteger, nullable=False, comment="Prompt tokens of the slice's spans."),
    sa.Column("output_tokens", sa.BigInteger, nullable=False, comment="Completion tokens of the slice's spans."),
    _count("n_priced", "Spans with a known cost (carried by the span or from the price table)."),
    _count("n_cost_unknown", "Spans whose cost is unknown (unpriced model or missing tokens): never counted as 0."),
    _number("cost_usd", "Cost of the priced spans in USD; null when none is priced."),
    _number("cost_per_request_usd", "cost_usd / n_priced; null when none is priced."),
    _number("cost_per_1k_usd", "Cost per 1,000 priced requests in USD (1000 x cost_per_request_usd)."),
    _number("ttft_slow_s", "TTFT objective in force when computed (slo.objectives.ttft_p95_s); null when disabled."),
    _count("n_ttft_slow", "Answered spans whose TTFT exceeded ttft_slow_s: the bad events of the TTFT budget."),
    _number("latency_slow_s", "Latency objective in force when computed (slo.objectives.latency_p99_s); null when "
                           "disabled."),
    _count("n_latency_slow", "Answered spans whose latency exceeded latency_slow_s: bad events of the latency budget."),
    _number("error_rate_objective", "Error-rate objective in force when computed (slo.objectives.error_rate): the "
                                 "error budget; null when disabled."),
    _count("n_clock_skew", "Spans that ended more than slo.clock_skew_s after they were ingested: a clock ahead "
                           "of the ingester's."),
    sa.Column("sparse", sa.Boolean, nullable=False,
              comment="True when n_requests < slo.min_requests: figures are stored, alert series read them as no data."),
    _ts("computed_at", "When the window was last computed (UTC).", nullable=False),
    sa.Index("ix_slo_windows_model_endpoint", "model", "endpoint", "dimension", "window_start"),
    sa.Index("ix_slo_windows_window_end", "window_end"),
    comment="Infrastructure figures of production spans, one row per window, model, endpoint and slice.",
)

slo_batches = sa.Table(
    "slo_batches",
    metadata,
    sa.Column("batch_id", sa.String(KEY), primary_key=True,
              comment="Ingestion whose spans the windows include (ingest_batches.batch_id)."),
    sa.Column("n_spans", sa.BigInteger, nullable=False, comment="Spans the ingestion wrote first (llm_spans rows)."),
    sa.Column("n_windows", sa.Integer, nullable=False, comment="Windows those spans fall in, all recomputed."),
    sa.Column("run_key", sa.String(KEY), nullable=True, comment="Run that processed the ingestion, e.g. the DAG run."),
    _ts("processed_at", "When the windows were recomputed and committed (UTC).", nullable=False),
    comment="Ingestions already included in slo_windows, one row per ingest batch.",
)

SLO_TABLES: tuple[sa.Table, ...] = (slo_windows, slo_batches)
