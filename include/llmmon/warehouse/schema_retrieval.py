"""Tables of the retrieval capability, on the shared MetaData (see schema.py); created by their own Alembic revision.

``retrieval_runs``: one row per evaluation of a retriever (index version) on a golden retrieval suite, with its
verdict against the baseline index version. ``retrieval_queries``: what the retriever returned per query (or why
it failed). ``retrieval_results``: one value per run, query and metric (long format: metric names such as
``recall@10`` are data). ``retrieval_summaries``: the metric means overall and per intent. ``retrieval_context``:
the LLM judge's relevance rating of each retrieved chunk of sampled production RAG spans.
Writes are keyed by run (or window) and item (``llmmon.warehouse.retrieval_store``): a retry converges.
"""

from __future__ import annotations

import sqlalchemy as sa

from llmmon.warehouse.schema import KEY, RUN_STATUSES, _check_in, _ts, metadata

RETRIEVAL_STAGES = ("deploy", "daily", "manual")
RETRIEVAL_VERDICTS = ("regression", "no_regression", "inconclusive", "no_baseline")
QUERY_STATUSES = ("ok", "error")
SUMMARY_DIMENSIONS = ("overall", "intent")
CHUNK_SOURCES = ("documents", "corpus", "context")



retrieval_runs = sa.Table(
    "retrieval_runs",
    metadata,
    sa.Column("run_key", sa.String(KEY), primary_key=True,
              comment="Unique key of the run: DAG id, slash, DAG run id (rag_eval/manual__2026-11-01T09:00:00+00:00)."),
    sa.Column("dag_id", sa.String(KEY), nullable=True, comment="Airflow DAG that ran the evaluation (or cli)."),
    sa.Column("dag_run_id", sa.String(KEY), nullable=True, comment="Airflow DAG run id."),
    sa.Column("retriever", sa.String(KEY), nullable=False,
              comment="Retriever evaluated: its name in settings.retrieval.retrievers."),
    sa.Column("index_version", sa.String(KEY), nullable=False,
              comment="Version label of the index or embedding model behind the retriever."),
    sa.Column("suite", sa.String(KEY), nullable=False, comment="Golden retrieval suite name."),
    sa.Column("suite_version", sa.String(KEY), nullable=True, comment="Content hash of the suite's files."),
    sa.Column("stage", sa.String(16), nullable=False, comment="Why the run happened: deploy, daily or manual."),
    sa.Column("deploy_id", sa.String(KEY), nullable=True, comment="Deployment id of the index, for deploy runs."),
    sa.Column("top_k", sa.Integer, nullable=True, comment="Documents asked of the retriever per query."),
    sa.Column("status", sa.String(16), nullable=False, comment="running, success or failed."),
    sa.Column("error", sa.Text, nullable=True, comment="Why the run failed; null unless status is failed."),
    _ts("started_at", "When the run started (UTC)."),
    _ts("finished_at", "When the run succeeded or failed (UTC); null while running."),
    sa.Column("n_queries", sa.Integer, nullable=True, comment="Golden queries sent to the retriever."),
    sa.Column("n_failed", sa.Integer, nullable=True,
              comment="Queries whose retrieval failed (timeout, HTTP error, malformed answer)."),
    sa.Column("error_share", sa.Float, nullable=True, comment="n_failed / n_queries, from 0 to 1."),
    sa.Column("n_judged", sa.Integer, nullable=True,
              comment="Retrieved chunks rated by the LLM judge for context relevance."),
    sa.Column("context_relevance", sa.Float, nullable=True,
              comment="Mean judge rating of the rated chunks, mapped onto 0..1; null when none was rated."),
    sa.Column("baseline_run_key", sa.String(KEY), nullable=True,
              comment="Run of the baseline index version this one was compared with (retrieval_runs.run_key)."),
    sa.Column("verdict", sa.String(32), nullable=True,
              comment="regression, no_regression, inconclusive or no_baseline; null until compared."),
    sa.Column("verdict_reason", sa.Text, nullable=True, comment="The verdict in one sentence, with its numbers."),
    sa.Column("verdict_details", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON with the paired statistics per metric and slice behind the verdict."),
    _check_in("status", RUN_STATUSES, "status"),
    _check_in("stage", RETRIEVAL_STAGES, "stage"),
    _check_in("verdict", RETRIEVAL_VERDICTS, "verdict", nullable=True),
    # the baseline lookup: equality on the first three columns, range and order on finished_at
    sa.Index("ix_retrieval_runs_baseline", "retriever", "suite_version", "status", "finished_at"),
    comment="One row per retrieval evaluation run (retriever, index version, golden suite), with its verdict.",
)

retrieval_queries = sa.Table(
    "retrieval_queries",
    metadata,
    sa.Column("run_key", sa.String(KEY), primary_key=True, comment="Run the query belongs to (retrieval_runs.run_key)."),
    sa.Column("query_id", sa.String(KEY), primary_key=True, comment="Golden query id."),
    sa.Column("intent", sa.String(KEY), nullable=True, comment="Intent label of the query."),
    sa.Column("status", sa.String(16), nullable=False, comment="ok, or error when the retrieval failed."),
    sa.Column("error_type", sa.String(KEY), nullable=True,
              comment="Failure class (timeout, http_error, malformed, connection); null when ok."),
    sa.Column("error", sa.Text, nullable=True, comment="Failure message; null when ok."),
    sa.Column("latency_s", sa.Float, nullable=True, comment="Time the retriever took to answer, seconds."),
    sa.Column("n_returned", sa.Integer, nullable=True, comment="Documents the retriever returned."),
    sa.Column("n_relevant", sa.Integer, nullable=True, comment="Documents judged relevant (grade >= 1) for the query."),
    sa.Column("doc_ids", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON list of the returned document ids, in rank order."),
    sa.Column("scores", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON list of the retriever's scores of those documents."),
    sa.Column("grades", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON list of the golden grade of each returned document (0 when unjudged or repeated)."),
    sa.Column("relevance", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON list of the judge's context-relevance rating (1-5) per rank; null where not rated."),
    comment="What the retriever returned for each golden query of a run, or why the retrieval failed.",
)

retrieval_results = sa.Table(
    "retrieval_results",
    metadata,
    sa.Column("run_key", sa.String(KEY), primary_key=True, comment="Run the value belongs to (retrieval_runs.run_key)."),
    sa.Column("query_id", sa.String(KEY), primary_key=True, comment="Golden query id."),
    sa.Column("metric", sa.String(64), primary_key=True,
              comment="Metric name with its cutoff: recall@10, precision@5, hit@5, mrr@10, ndcg@10, map@10, map, "
                      "context_relevance@5."),
    sa.Column("intent", sa.String(KEY), nullable=True, comment="Intent label of the query."),
    sa.Column("value", sa.Float, nullable=True,
              comment="Value of the metric for the query, from 0 to 1; null when undefined (no relevant document)."),
    comment="Per-query retrieval metrics of successful retrievals, one row per run, query and metric.",
)

retrieval_summaries = sa.Table(
    "retrieval_summaries",
    metadata,
    sa.Column("run_key", sa.String(KEY), primary_key=True, comment="Run summarised (retrieval_runs.run_key)."),
    sa.Column("dimension", sa.String(32), primary_key=True, comment="Slice kind: overall or intent."),
    sa.Column("value", sa.String(KEY), primary_key=True, comment="Slice value, e.g. refund; 'all' for overall."),
    sa.Column("metric", sa.String(64), primary_key=True, comment="Metric name with its cutoff, e.g. recall@10."),
    sa.Column("n", sa.Integer, nullable=False, comment="Queries of the slice where the metric is defined."),
    sa.Column("mean", sa.Float, nullable=True, comment="Mean of the metric over those queries; null when n is 0."),
    _check_in("dimension", SUMMARY_DIMENSIONS, "dimension"),
    comment="Mean retrieval metrics per run, overall and per intent.",
)

retrieval_context = sa.Table(
    "retrieval_context",
    metadata,
    _ts("window_start", "Start of the judged traffic window (UTC, inclusive).", nullable=False, primary_key=True),
    sa.Column("trace_id", sa.String(64), primary_key=True, comment="Trace id of the RAG span (llm_spans.trace_id)."),
    sa.Column("span_id", sa.String(32), primary_key=True, comment="Span id of the RAG span (llm_spans.span_id)."),
    sa.Column("rank", sa.Integer, primary_key=True, comment="Rank of the chunk in the retrieval, from 1."),
    _ts("window_end", "End of the judged window (UTC, exclusive).", nullable=False),
    sa.Column("endpoint", sa.String(KEY), nullable=False, comment="Endpoint of the span; empty string when unknown."),
    sa.Column("model_version", sa.String(KEY), nullable=False,
              comment="Model version of the span; empty string when unknown."),
    sa.Column("prompt_template", sa.String(KEY), nullable=False,
              comment="Prompt template of the span; empty string when unknown."),
    sa.Column("user_segment", sa.String(KEY), nullable=False, comment="User segment of the span; empty string when unknown."),
    sa.Column("doc_id", sa.String(KEY), nullable=True,
              comment="Retrieved document id; null when the span's whole context was rated as one chunk."),
    sa.Column("retrieval_score", sa.Float, nullable=True, comment="The retriever's score of the chunk, if recorded."),
    sa.Column("chunk_source", sa.String(16), nullable=False,
              comment="Where the chunk text came from: documents (span attribute), corpus or context."),
    sa.Column("rubric_version", sa.String(KEY), nullable=True, comment="Version of the context_relevance rubric."),
    sa.Column("judge_model", sa.String(KEY), nullable=True, comment="Model that judged."),
    sa.Column("score", sa.Float, nullable=True, comment="Judge rating on the rubric scale (1-5); null on judge error."),
    sa.Column("relevance", sa.Float, nullable=True, comment="The rating mapped onto 0..1; null on judge error."),
    sa.Column("error_type", sa.String(KEY), nullable=True, comment="Judge error class; null when rated."),
    sa.Column("error", sa.Text, nullable=True, comment="Judge error message; null when rated."),
    _ts("judged_at", "When the chunk was rated (UTC).", nullable=False),
    sa.Index("ix_retrieval_context_endpoint_window_start", "endpoint", "window_start"),
    comment="LLM-judge context relevance of each retrieved chunk of sampled production RAG spans.",
)

RETRIEVAL_TABLES: tuple[sa.Table, ...] = (
    retrieval_runs, retrieval_queries, retrieval_results, retrieval_summaries, retrieval_context,
)
