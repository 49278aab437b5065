"""Tables of the retrieval capability: retrieval_runs (one row per evaluation run of a retriever on a golden
retrieval suite), retrieval_queries (what was retrieved per query), retrieval_results (one value per query and
metric), retrieval_summaries (metric means overall and per intent) and retrieval_context (judge ratings of the
chunks of production RAG spans).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

Frozen copy of schema_retrieval.py at the time (revisions never import llmmon). Timestamps are
DateTime(timezone=True) (schema.UTCDateTime's storage).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retrieval_context",
        sa.Column(
            "window_start",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Start of the judged traffic window (UTC, inclusive).",
        ),
        sa.Column(
            "trace_id", sa.String(length=64), nullable=False, comment="Trace id of the RAG span (llm_spans.trace_id)."
        ),
        sa.Column(
            "span_id", sa.String(length=32), nullable=False, comment="Span id of the RAG span (llm_spans.span_id)."
        ),
        sa.Column("rank", sa.Integer(), nullable=False, comment="Rank of the chunk in the retrieval, from 1."),
        sa.Column(
            "window_end",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="End of the judged window (UTC, exclusive).",
        ),
        sa.Column(
            "endpoint",
            sa.String(length=255),
            nullable=False,
            comment="Endpoint of the span; empty string when unknown.",
        ),
        sa.Column(
            "model_version",
            sa.String(length=255),
            nullable=False,
            comment="Model version of the span; empty string when unknown.",
        ),
        sa.Column(
            "prompt_template",
            sa.String(length=255),
            nullable=False,
            comment="Prompt template of the span; empty string when unknown.",
        ),
        sa.Column(
            "user_segment",
            sa.String(length=255),
            nullable=False,
            comment="User segment of the span; empty string when unknown.",
        ),
        sa.Column(
            "doc_id",
            sa.String(length=255),
            nullable=True,
            comment="Retrieved document id; null when the span's whole context was rated as one chunk.",
        ),
        sa.Column(
            "retrieval_score", sa.Float(), nullable=True, comment="The retriever's score of the chunk, if recorded."
        ),
        sa.Column(
            "chunk_source",
            sa.String(length=16),
            nullable=False,
            comment="Where the chunk text came from: documents (span attribute), corpus or context.",
        ),
        sa.Column(
            "rubric_version", sa.String(length=255), nullable=True, comment="Version of the context_relevance rubric."
        ),
        sa.Column("judge_model", sa.String(length=255), nullable=True, comment="Model that judged."),
        sa.Column(
            "score", sa.Float(), nullable=True, comment="Judge rating on the rubric scale (1-5); null on judge error."
        ),
        sa.Column("relevance", sa.Float(), nullable=True, comment="The rating mapped onto 0..1; null on judge error."),
        sa.Column("error_type", sa.String(length=255), nullable=True, comment="Judge error class; null when rated."),
        sa.Column("error", sa.Text(), nullable=True, comment="Judge error message; null when rated."),
        sa.Column("judged_at", sa.DateTime(timezone=True), nullable=False, comment="When the chunk was rated (UTC)."),
        sa.PrimaryKeyConstraint("window_start", "trace_id", "span_id", "rank", name=op.f("pk_retrieval_context")),
        comment="LLM-judge context relevance of each retrieved chunk of sampled production RAG spans.",
    )
    with op.batch_alter_table("retrieval_context", schema=None) as batch_op:
        batch_op.create_index("ix_retrieval_context_endpoint_window_start", ["endpoint", "window_start"], unique=False)

    op.create_table(
        "retrieval_queries",
        sa.Column(
            "run_key",
            sa.String(length=255),
            nullable=False,
            comment="Run the query belongs to (retrieval_runs.run_key).",
        ),
        sa.Column("query_id", sa.String(length=255), nullable=False, comment="Golden query id."),
        sa.Column("intent", sa.String(length=255), nullable=True, comment="Intent label of the query."),
        sa.Column("status", sa.String(length=16), nullable=False, comment="ok, or error when the retrieval failed."),
        sa.Column(
            "error_type",
            sa.String(length=255),
            nullable=True,
            comment="Failure class (timeout, http_error, malformed, connection); null when ok.",
        ),
        sa.Column("error", sa.Text(), nullable=True, comment="Failure message; null when ok."),
        sa.Column("latency_s", sa.Float(), nullable=True, comment="Time the retriever took to answer, seconds."),
        sa.Column("n_returned", sa.Integer(), nullable=True, comment="Documents the retriever returned."),
        sa.Column(
            "n_relevant", sa.Integer(), nullable=True, comment="Documents judged relevant (grade >= 1) for the query."
        ),
        sa.Column(
            "doc_ids",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON list of the returned document ids, in rank order.",
        ),
        sa.Column(
            "scores",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON list of the retriever's scores of those documents.",
        ),
        sa.Column(
            "grades",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON list of the golden grade of each returned document (0 when unjudged or repeated).",
        ),
        sa.Column(
            "relevance",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON list of the judge's context-relevance rating (1-5) per rank; null where not rated.",
        ),
        sa.PrimaryKeyConstraint("run_key", "query_id", name=op.f("pk_retrieval_queries")),
        comment="What the retriever returned for each golden query of a run, or why the retrieval failed.",
    )
    op.create_table(
        "retrieval_results",
        sa.Column(
            "run_key",
            sa.String(length=255),
            nullable=False,
            comment="Run the value belongs to (retrieval_runs.run_key).",
        ),
        sa.Column("query_id", sa.String(length=255), nullable=False, comment="Golden query id."),
        sa.Column(
            "metric",
            sa.String(length=64),
            nullable=False,
            comment="Metric name with its cutoff: recall@10, precision@5, hit@5, mrr@10, ndcg@10, map@10, map, context_relevance@5.",
        ),
        sa.Column("intent", sa.String(length=255), nullable=True, comment="Intent label of the query."),
        sa.Column(
            "value",
            sa.Float(),
            nullable=True,
            comment="Value of the metric for the query, from 0 to 1; null when undefined (no relevant document).",
        ),
        sa.PrimaryKeyConstraint("run_key", "query_id", "metric", name=op.f("pk_retrieval_results")),
        comment="Per-query retrieval metrics of successful retrievals, one row per run, query and metric.",
    )
    op.create_table(
        "retrieval_runs",
        sa.Column(
            "run_key",
            sa.String(length=255),
            nullable=False,
            comment="Unique key of the run: DAG id, slash, DAG run id (rag_eval/manual__2026-11-01T09:00:00+00:00).",
        ),
        sa.Column(
            "dag_id", sa.String(length=255), nullable=True, comment="Airflow DAG that ran the evaluation (or cli)."
        ),
        sa.Column("dag_run_id", sa.String(length=255), nullable=True, comment="Airflow DAG run id."),
        sa.Column(
            "retriever",
            sa.String(length=255),
            nullable=False,
            comment="Retriever evaluated: its name in settings.retrieval.retrievers.",
        ),
        sa.Column(
            "index_version",
            sa.String(length=255),
            nullable=False,
            comment="Version label of the index or embedding model behind the retriever.",
        ),
        sa.Column("suite", sa.String(length=255), nullable=False, comment="Golden retrieval suite name."),
        sa.Column("suite_version", sa.String(length=255), nullable=True, comment="Content hash of the suite's files."),
        sa.Column(
            "stage", sa.String(length=16), nullable=False, comment="Why the run happened: deploy, daily or manual."
        ),
        sa.Column(
            "deploy_id", sa.String(length=255), nullable=True, comment="Deployment id of the index, for deploy runs."
        ),
        sa.Column("top_k", sa.Integer(), nullable=True, comment="Documents asked of the retriever per query."),
        sa.Column("status", sa.String(length=16), nullable=False, comment="running, success or failed."),
        sa.Column("error", sa.Text(), nullable=True, comment="Why the run failed; null unless status is failed."),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True, comment="When the run started (UTC)."),
        sa.Column(
            "finished_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the run succeeded or failed (UTC); null while running.",
        ),
        sa.Column("n_queries", sa.Integer(), nullable=True, comment="Golden queries sent to the retriever."),
        sa.Column(
            "n_failed",
            sa.Integer(),
            nullable=True,
            comment="Queries whose retrieval failed (timeout, HTTP error, malformed answer).",
        ),
        sa.Column("error_share", sa.Float(), nullable=True, comment="n_failed / n_queries, from 0 to 1."),
        sa.Column(
            "n_judged",
            sa.Integer(),
            nullable=True,
            comment="Retrieved chunks rated by the LLM judge for context relevance.",
        ),
        sa.Column(
            "context_relevance",
            sa.Float(),
            nullable=True,
            comment="Mean judge rating of the rated chunks, mapped onto 0..1; null when none was rated.",
        ),
        sa.Column(
            "baseline_run_key",
            sa.String(length=255),
            nullable=True,
            comment="Run of the baseline index version this one was compared with (retrieval_runs.run_key).",
        ),
        sa.Column(
            "verdict",
            sa.String(length=32),
            nullable=True,
            comment="regression, no_regression, inconclusive or no_baseline; null until compared.",
        ),
        sa.Column("verdict_reason", sa.Text(), nullable=True, comment="The verdict in one sentence, with its numbers."),
        sa.Column(
            "verdict_details",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON with the paired statistics per metric and slice behind the verdict.",
        ),
        sa.CheckConstraint("stage IN ('deploy', 'daily', 'manual')", name=op.f("ck_retrieval_runs_stage")),
        sa.CheckConstraint("status IN ('running', 'success', 'failed')", name=op.f("ck_retrieval_runs_status")),
        sa.CheckConstraint(
            "verdict IS NULL OR verdict IN ('regression', 'no_regression', 'inconclusive', 'no_baseline')",
            name=op.f("ck_retrieval_runs_verdict"),
        ),
        sa.PrimaryKeyConstraint("run_key", name=op.f("pk_retrieval_runs")),
        comment="One row per retrieval evaluation run (retriever, index version, golden suite), with its verdict.",
    )
    with op.batch_alter_table("retrieval_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_retrieval_runs_baseline", ["retriever", "suite_version", "status", "finished_at"], unique=False
        )

    op.create_table(
        "retrieval_summaries",
        sa.Column("run_key", sa.String(length=255), nullable=False, comment="Run summarised (retrieval_runs.run_key)."),
        sa.Column("dimension", sa.String(length=32), nullable=False, comment="Slice kind: overall or intent."),
        sa.Column(
            "value", sa.String(length=255), nullable=False, comment="Slice value, e.g. refund; 'all' for overall."
        ),
        sa.Column(
            "metric", sa.String(length=64), nullable=False, comment="Metric name with its cutoff, e.g. recall@10."
        ),
        sa.Column("n", sa.Integer(), nullable=False, comment="Queries of the slice where the metric is defined."),
        sa.Column(
            "mean", sa.Float(), nullable=True, comment="Mean of the metric over those queries; null when n is 0."
        ),
        sa.CheckConstraint("dimension IN ('overall', 'intent')", name=op.f("ck_retrieval_summaries_dimension")),
        sa.PrimaryKeyConstraint("run_key", "dimension", "value", "metric", name=op.f("pk_retrieval_summaries")),
        comment="Mean retrieval metrics per run, overall and per intent.",
    )


def downgrade() -> None:
    op.drop_table("retrieval_summaries")
    with op.batch_alter_table("retrieval_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_retrieval_runs_baseline")

    op.drop_table("retrieval_runs")
    op.drop_table("retrieval_results")
    op.drop_table("retrieval_queries")
    with op.batch_alter_table("retrieval_context", schema=None) as batch_op:
        batch_op.drop_index("ix_retrieval_context_endpoint_window_start")

    op.drop_table("retrieval_context")
