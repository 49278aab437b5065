"""Warehouse tables of the quality capability (issue 4), on llmmon's one MetaData.

``traffic_quality``: the deterministic checks computed on every span, per window and slice. ``judge_shift``: the
judge-score distribution of each stratum in a window against its reference window. Both are replaced window by
window (``llmmon.warehouse.quality_store``), so recomputing a window converges to the same rows.
"""

from __future__ import annotations

import sqlalchemy as sa

from llmmon.warehouse.schema import KEY, _count, _number, _ts, metadata

traffic_quality = sa.Table(
    "traffic_quality",
    metadata,
    _ts("window_start", "Start of the window (UTC, inclusive); windows are aligned to UTC midnight.",
        nullable=False, primary_key=True),
    sa.Column("endpoint", sa.String(KEY), primary_key=True,
              comment="Endpoint of the spans (llm_spans.endpoint); empty string when unknown."),
    sa.Column("model_version", sa.String(KEY), primary_key=True,
              comment="Model version of the spans (llm_spans.model_version); empty string when unknown."),
    sa.Column("prompt_template", sa.String(KEY), primary_key=True,
              comment="Prompt template id of the spans; empty string when unknown."),
    sa.Column("user_segment", sa.String(KEY), primary_key=True,
              comment="User segment of the spans; empty string when unknown."),
    _ts("window_end", "End of the window (UTC, exclusive).", nullable=False),
    _count("n", "Spans in the slice and window (by start_time)."),
    _count("n_ok", "Spans with status ok: the answered ones, denominator of the answer checks."),
    _count("n_errors", "Spans with status error."),
    _number("error_rate", "n_errors / n."),
    _count("n_empty", "Answered spans whose completion is missing or only whitespace."),
    _number("empty_rate", "n_empty / n_ok; null when n_ok is 0."),
    _count("n_truncated", "Answered spans cut off by the token limit (finish_reason length or max_tokens)."),
    _number("truncated_rate", "n_truncated / n_ok; null when n_ok is 0."),
    _count("n_refusals", "Answered spans whose completion matches a refusal pattern."),
    _number("refusal_rate", "n_refusals / n_ok; null when n_ok is 0."),
    _count("n_structured", "Answered spans of a template that promises structured output (JSON)."),
    _count("n_json_invalid", "Structured answers that are not valid JSON (empty answers included)."),
    _number("json_invalid_rate", "n_json_invalid / n_structured; null when n_structured is 0."),
    _count("n_schema_invalid", "Structured answers that are valid JSON but do not conform to the template's schema."),
    _number("schema_invalid_rate", "n_schema_invalid / n_structured; null when n_structured is 0."),
    _count("n_labelled", "Answered spans with ground truth (llm_spans.reference or the feedback table)."),
    _count("n_correct", "Labelled spans whose answer is correct by the template's accuracy rule."),
    _number("accuracy", "n_correct / n_labelled; null when n_labelled is 0."),
    sa.Column("ref_n_ok", sa.Integer, nullable=False,
              comment="Answered spans of the same endpoint, template and segment (any version) in the reference "
                      "period before the window."),
    _number("ref_refusal_rate", "Refusal rate of the reference period (same endpoint, template and segment); "
                              "null when it has no answered spans."),
    _number("refusal_rate_increase", "refusal_rate - ref_refusal_rate; null when either side has fewer answered "
                                   "spans than quality.min_window_spans."),
    sa.Column("sparse", sa.Boolean, nullable=False,
              comment="True when n < quality.min_window_spans: rates are stored, alert series read them as no data."),
    sa.Column("sparse_labels", sa.Boolean, nullable=False,
              comment="True when n_labelled < quality.min_labelled: accuracy is stored, alert series read it as no data."),
    _ts("computed_at", "When the window was last computed (UTC).", nullable=False),
    sa.Index("ix_traffic_quality_endpoint_window_start", "endpoint", "window_start"),
    comment="Deterministic quality checks on every span, one row per window and slice "
            "(endpoint, model_version, prompt_template, user_segment).",
)

judge_shift = sa.Table(
    "judge_shift",
    metadata,
    _ts("window_start", "Start of the judged window (UTC, inclusive).", nullable=False, primary_key=True),
    sa.Column("endpoint", sa.String(KEY), primary_key=True, comment="Endpoint of the judged spans."),
    sa.Column("stratum", sa.String(2 * KEY + 1), primary_key=True,
              comment="Stratum of the judged spans: prompt_template|user_segment (judge_scores.stratum)."),
    sa.Column("rubric", sa.String(KEY), primary_key=True, comment="Rubric the judge scored with."),
    _ts("window_end", "End of the judged window (UTC, exclusive).", nullable=False),
    _ts("reference_start", "Start of the reference window (UTC); it ends where the judged window starts.",
        nullable=False),
    sa.Column("rubric_version", sa.String(KEY), nullable=True,
              comment="Rubric version compared; reference scores of other versions are left out."),
    sa.Column("test", sa.String(32), nullable=False,
              comment="Two-sample test: mann_whitney, ks or permutation."),
    sa.Column("n_ref", sa.Integer, nullable=False, comment="Judge scores in the reference window."),
    sa.Column("n_cur", sa.Integer, nullable=False, comment="Judge scores in the judged window."),
    sa.Column("mean_ref", sa.Float, nullable=True, comment="Mean score of the reference window (rubric scale)."),
    sa.Column("mean_cur", sa.Float, nullable=True, comment="Mean score of the judged window (rubric scale)."),
    sa.Column("effect", sa.Float, nullable=True,
              comment="mean_cur - mean_ref in scale points; negative when scores dropped."),
    sa.Column("statistic", sa.Float, nullable=True,
              comment="Test statistic: Mann-Whitney U of the judged window, KS D, or the mean difference."),
    sa.Column("p_value", sa.Float, nullable=True, comment="p-value of the test; null when not tested."),
    sa.Column("p_adjusted", sa.Float, nullable=True,
              comment="p-value adjusted across the tested strata of the rubric in the window (Holm or BH)."),
    sa.Column("tested", sa.Boolean, nullable=False,
              comment="False when either side had fewer scores than the minimum (see reason)."),
    sa.Column("shifted", sa.Boolean, nullable=False,
              comment="True when p_adjusted < alpha and the mean moved by at least the effect floor."),
    sa.Column("reason", sa.Text, nullable=True, comment="Why the stratum was not tested, or why it did not shift."),
    _ts("computed_at", "When the window was last computed (UTC).", nullable=False),
    comment="Judge-score shift per window, stratum and rubric against the reference window before it.",
)

QUALITY_TABLES: tuple[sa.Table, ...] = (traffic_quality, judge_shift)
