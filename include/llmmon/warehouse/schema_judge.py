"""Warehouse tables of the judge capability (issue 4), on llmmon's one MetaData.

``judge_runs``: one row per judging run (a window of production traffic, or a pairwise comparison).
``judge_scores``: one row per judged span and rubric of a run. ``judge_agreement``: judge-vs-human agreement
on the calibration set, per measurement, judge model and rubric version. Docs: docs/warehouse.md, docs/judge.md.
"""

from __future__ import annotations

import sqlalchemy as sa

from llmmon.warehouse.schema import KEY, _check_in, _ts, metadata

JUDGE_RUN_STATUSES = ("running", "success", "failed")
JUDGE_KINDS = ("pointwise", "pairwise")
ID = 64  # trace and span ids: 32 and 16 hex digits in OpenTelemetry; room for other id schemes
STRATUM = 2 * KEY + 1  # prompt_template|user_segment

judge_runs = sa.Table(
    "judge_runs",
    metadata,
    sa.Column("judge_run_key", sa.String(KEY), primary_key=True,
              comment="Unique key of the judging run, given by the caller; traffic_judge uses DAG id, slash, window start (traffic_judge/2026-11-28T09:00:00+00:00)."),
    sa.Column("kind", sa.String(16), nullable=False,
              comment="pointwise (spans scored on a rubric's scale) or pairwise (two answers compared)."),
    _ts("window_start", "Start of the traffic window judged, inclusive (UTC).", nullable=False),
    _ts("window_end", "End of the traffic window judged, exclusive (UTC).", nullable=False),
    sa.Column("rubrics", sa.JSON(none_as_null=True), nullable=False,
              comment="JSON list of the rubrics applied, each name@version."),
    sa.Column("judge_endpoint", sa.String(KEY), nullable=False, comment="llmmon endpoint name of the judge."),
    sa.Column("judge_model", sa.String(KEY), nullable=False, comment="Model id requested from the judge endpoint."),
    sa.Column("spans_in_window", sa.Integer, nullable=True,
              comment="Judgeable spans in the window (status ok, with prompt and completion)."),
    sa.Column("sampled", sa.Integer, nullable=True, comment="Spans drawn by the sampler, before the budget cap."),
    sa.Column("planned", sa.Integer, nullable=True,
              comment="Judge items (span x rubric) kept within the budget; skipped items not included."),
    sa.Column("budget_cut", sa.Integer, nullable=True, comment="Judge items the budget cap left out."),
    sa.Column("skipped", sa.Integer, nullable=True,
              comment="Items not judged because the span lacks what the rubric requires (reference, context)."),
    sa.Column("judged", sa.Integer, nullable=True, comment="judge_scores rows of the run with a score."),
    sa.Column("errors", sa.Integer, nullable=True,
              comment="judge_scores rows of the run that ended in a judge error (no score)."),
    sa.Column("calls", sa.Integer, nullable=True, comment="Judge calls made, retries included."),
    sa.Column("input_tokens", sa.BigInteger, nullable=True, comment="Judge prompt tokens over all calls."),
    sa.Column("output_tokens", sa.BigInteger, nullable=True, comment="Judge completion tokens over all calls."),
    sa.Column("cost_usd", sa.Float, nullable=True,
              comment="Cost of the judge calls in USD from the price table; null when the judge model has no price."),
    sa.Column("position_inconsistency_rate", sa.Float, nullable=True,
              comment="Pairwise runs: share of pairs judged differently in the two orders (0 to 1); null otherwise."),
    sa.Column("status", sa.String(16), nullable=False, comment="running, success or failed."),
    sa.Column("error", sa.Text, nullable=True,
              comment="Why the run failed (e.g. judge errors beyond the error budget); null otherwise."),
    _ts("started_at", "When the run (or its latest try) started (UTC).", nullable=False),
    _ts("finished_at", "When the run succeeded or failed (UTC); null while running."),
    sa.Column("details", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON: sampling settings, spans and sample size per stratum, budget estimates."),
    _check_in("status", JUDGE_RUN_STATUSES, "status"),
    _check_in("kind", JUDGE_KINDS, "kind"),
    sa.Index("ix_judge_runs_window_start", "window_start"),
    comment="One row per LLM-as-judge run over a traffic window: sample, budget, calls, cost and outcome.",
)

judge_scores = sa.Table(
    "judge_scores",
    metadata,
    sa.Column("judge_run_key", sa.String(KEY), primary_key=True,
              comment="Run that judged the span (judge_runs.judge_run_key)."),
    sa.Column("trace_id", sa.String(ID), primary_key=True, comment="Trace id of the judged span (llm_spans.trace_id)."),
    sa.Column("span_id", sa.String(ID), primary_key=True, comment="Span id of the judged span (llm_spans.span_id)."),
    sa.Column("rubric", sa.String(KEY), primary_key=True, comment="Rubric name, e.g. helpfulness."),
    sa.Column("rubric_version", sa.String(64), nullable=False,
              comment="Content hash of the rubric file that was applied."),
    sa.Column("kind", sa.String(16), nullable=False,
              comment="pointwise, or pairwise (score: 1 candidate better, 0.5 tie, 0 baseline better)."),
    sa.Column("stratum", sa.String(STRATUM), nullable=False,
              comment="Sampling stratum of the span: prompt template, |, user segment."),
    sa.Column("prompt_template", sa.String(KEY), nullable=True, comment="Prompt template id of the span."),
    sa.Column("user_segment", sa.String(KEY), nullable=True, comment="User segment of the span."),
    _ts("window_start", "Start of the window the span was judged in (UTC).", nullable=False),
    _ts("window_end", "End of the window the span was judged in (UTC).", nullable=False),
    _ts("span_start_time", "When the judged call started (llm_spans.start_time, UTC)."),
    sa.Column("endpoint", sa.String(KEY), nullable=True, comment="Endpoint that served the judged call."),
    sa.Column("model_version", sa.String(KEY), nullable=True, comment="Model version that served the judged call."),
    sa.Column("judge_model", sa.String(KEY), nullable=False,
              comment="Model id the judge endpoint answered with (its response model, else the requested one)."),
    sa.Column("score", sa.Float, nullable=True, comment="Score on the rubric's scale; null on a judge error."),
    sa.Column("score_norm", sa.Float, nullable=True,
              comment="Score mapped onto 0..1 (scale minimum 0, maximum 1); null on a judge error."),
    sa.Column("rationale", sa.Text, nullable=True, comment="The judge's explanation of the score."),
    sa.Column("error_type", sa.String(KEY), nullable=True,
              comment="Null, or why there is no score: unparsable (after one retry) or the endpoint error class."),
    sa.Column("error", sa.Text, nullable=True, comment="Judge error message, secrets removed; null when scored."),
    sa.Column("judge_calls", sa.Integer, nullable=False, comment="Judge calls made for this row, retries included."),
    sa.Column("judge_input_tokens", sa.Integer, nullable=True, comment="Judge prompt tokens over those calls."),
    sa.Column("judge_output_tokens", sa.Integer, nullable=True, comment="Judge completion tokens over those calls."),
    sa.Column("judge_cost_usd", sa.Float, nullable=True,
              comment="Cost of those calls in USD from the price table; null when unknown, never 0 for unknown."),
    sa.Column("details", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON: parse problems of retried answers; pairwise, the verdict of each order."),
    _ts("judged_at", "When the judge answered (UTC).", nullable=False),
    _check_in("kind", JUDGE_KINDS, "kind"),
    sa.Index("ix_judge_scores_rubric_window_start", "rubric", "window_start"),
    sa.Index("ix_judge_scores_stratum", "stratum"),
    comment="One row per judged span and rubric of a judge run: score, rationale, judge model, tokens and cost.",
)

judge_agreement = sa.Table(
    "judge_agreement",
    metadata,
    sa.Column("measure_key", sa.String(KEY), primary_key=True,
              comment="Key of the measurement, e.g. the DAG run that measured it; re-measuring under it overwrites."),
    sa.Column("rubric", sa.String(KEY), primary_key=True, comment="Rubric name."),
    sa.Column("rubric_version", sa.String(64), nullable=False, comment="Content hash of the rubric measured."),
    sa.Column("judge_model", sa.String(KEY), nullable=False,
              comment="Model id the judge answered with (its response model, else the requested one)."),
    sa.Column("judge_endpoint", sa.String(KEY), nullable=False, comment="llmmon endpoint name of the judge."),
    sa.Column("calibration_set", sa.String(KEY), nullable=False, comment="Human-labelled set measured against."),
    sa.Column("calibration_version", sa.String(64), nullable=False, comment="Content hash of that set."),
    _ts("measured_at", "When the agreement was measured (UTC).", nullable=False),
    sa.Column("n", sa.Integer, nullable=False, comment="Items with both a human label and a judge score."),
    sa.Column("errors", sa.Integer, nullable=False, comment="Items the judge could not score (judge errors)."),
    sa.Column("accuracy", sa.Float, nullable=True, comment="Share of items where judge and human gave the same score."),
    sa.Column("within_one", sa.Float, nullable=True,
              comment="Share of items where judge and human scores differ by at most 1."),
    sa.Column("kappa", sa.Float, nullable=True,
              comment="Cohen's kappa of judge vs human over the rubric's scale; null when undefined."),
    sa.Column("weighted_kappa", sa.Float, nullable=True,
              comment="Cohen's kappa with quadratic weights (partial credit for near misses); null when undefined."),
    sa.Column("kappa_floor", sa.Float, nullable=False, comment="Configured kappa floor at measurement time (on weighted_kappa unless configured plain)."),
    sa.Column("accuracy_floor", sa.Float, nullable=False, comment="Configured accuracy floor at measurement time."),
    sa.Column("below_floor", sa.Boolean, nullable=False,
              comment="True when the floored kappa or accuracy is below its floor (or undefined)."),
    sa.Column("previous_judge_model", sa.String(KEY), nullable=True,
              comment="Judge model of the previous measurement of this rubric; null for the first."),
    sa.Column("judge_model_changed", sa.Boolean, nullable=False,
              comment="True when judge_model differs from previous_judge_model."),
    sa.Column("details", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON: confusion matrix (human score x judge score) and the items that disagree."),
    sa.Index("ix_judge_agreement_rubric_measured_at", "rubric", "measured_at"),
    comment="Judge-vs-human agreement on the calibration set, per measurement, judge model and rubric version.",
)

JUDGE_TABLES: tuple[sa.Table, ...] = (judge_runs, judge_scores, judge_agreement)
