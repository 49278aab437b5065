"""Tables of the quality capability: traffic_quality (checks on every span per window and slice) and judge_shift
(judge-score shift per window, stratum and rubric).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

Frozen copy of schema_quality.py at the time (revisions never import llmmon). Timestamps are
DateTime(timezone=True) (schema.UTCDateTime's storage).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "judge_shift",
        sa.Column(
            "window_start",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Start of the judged window (UTC, inclusive).",
        ),
        sa.Column("endpoint", sa.String(length=255), nullable=False, comment="Endpoint of the judged spans."),
        sa.Column(
            "stratum",
            sa.String(length=511),
            nullable=False,
            comment="Stratum of the judged spans: prompt_template|user_segment (judge_scores.stratum).",
        ),
        sa.Column("rubric", sa.String(length=255), nullable=False, comment="Rubric the judge scored with."),
        sa.Column(
            "window_end",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="End of the judged window (UTC, exclusive).",
        ),
        sa.Column(
            "reference_start",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Start of the reference window (UTC); it ends where the judged window starts.",
        ),
        sa.Column(
            "rubric_version",
            sa.String(length=255),
            nullable=True,
            comment="Rubric version compared; reference scores of other versions are left out.",
        ),
        sa.Column(
            "test",
            sa.String(length=32),
            nullable=False,
            comment="Two-sample test: mann_whitney, ks or permutation.",
        ),
        sa.Column("n_ref", sa.Integer(), nullable=False, comment="Judge scores in the reference window."),
        sa.Column("n_cur", sa.Integer(), nullable=False, comment="Judge scores in the judged window."),
        sa.Column(
            "mean_ref",
            sa.Float(),
            nullable=True,
            comment="Mean score of the reference window (rubric scale).",
        ),
        sa.Column(
            "mean_cur", sa.Float(), nullable=True, comment="Mean score of the judged window (rubric scale)."
        ),
        sa.Column(
            "effect",
            sa.Float(),
            nullable=True,
            comment="mean_cur - mean_ref in scale points; negative when scores dropped.",
        ),
        sa.Column(
            "statistic",
            sa.Float(),
            nullable=True,
            comment="Test statistic: Mann-Whitney U of the judged window, KS D, or the mean difference.",
        ),
        sa.Column("p_value", sa.Float(), nullable=True, comment="p-value of the test; null when not tested."),
        sa.Column(
            "p_adjusted",
            sa.Float(),
            nullable=True,
            comment="p-value adjusted across the tested strata of the rubric in the window (Holm or BH).",
        ),
        sa.Column(
            "tested",
            sa.Boolean(),
            nullable=False,
            comment="False when either side had fewer scores than the minimum (see reason).",
        ),
        sa.Column(
            "shifted",
            sa.Boolean(),
            nullable=False,
            comment="True when p_adjusted < alpha and the mean moved by at least the effect floor.",
        ),
        sa.Column(
            "reason",
            sa.Text(),
            nullable=True,
            comment="Why the stratum was not tested, or why it did not shift.",
        ),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the window was last computed (UTC).",
        ),
        sa.PrimaryKeyConstraint("window_start", "endpoint", "stratum", "rubric", name=op.f("pk_judge_shift")),
        comment="Judge-score shift per window, stratum and rubric against the reference window before it.",
    )
    op.create_table(
        "traffic_quality",
        sa.Column(
            "window_start",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Start of the window (UTC, inclusive); windows are aligned to UTC midnight.",
        ),
        sa.Column(
            "endpoint",
            sa.String(length=255),
            nullable=False,
            comment="Endpoint of the spans (llm_spans.endpoint); empty string when unknown.",
        ),
        sa.Column(
            "model_version",
            sa.String(length=255),
            nullable=False,
            comment="Model version of the spans (llm_spans.model_version); empty string when unknown.",
        ),
        sa.Column(
            "prompt_template",
            sa.String(length=255),
            nullable=False,
            comment="Prompt template id of the spans; empty string when unknown.",
        ),
        sa.Column(
            "user_segment",
            sa.String(length=255),
            nullable=False,
            comment="User segment of the spans; empty string when unknown.",
        ),
        sa.Column(
            "window_end",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="End of the window (UTC, exclusive).",
        ),
        sa.Column(
            "n", sa.Integer(), nullable=False, comment="Spans in the slice and window (by start_time)."
        ),
        sa.Column(
            "n_ok",
            sa.Integer(),
            nullable=False,
            comment="Spans with status ok: the answered ones, denominator of the answer checks.",
        ),
        sa.Column("n_errors", sa.Integer(), nullable=False, comment="Spans with status error."),
        sa.Column("error_rate", sa.Float(), nullable=True, comment="n_errors / n."),
        sa.Column(
            "n_empty",
            sa.Integer(),
            nullable=False,
            comment="Answered spans whose completion is missing or only whitespace.",
        ),
        sa.Column("empty_rate", sa.Float(), nullable=True, comment="n_empty / n_ok; null when n_ok is 0."),
        sa.Column(
            "n_truncated",
            sa.Integer(),
            nullable=False,
            comment="Answered spans cut off by the token limit (finish_reason length or max_tokens).",
        ),
        sa.Column(
            "truncated_rate", sa.Float(), nullable=True, comment="n_truncated / n_ok; null when n_ok is 0."
        ),
        sa.Column(
            "n_refusals",
            sa.Integer(),
            nullable=False,
            comment="Answered spans whose completion matches a refusal pattern.",
        ),
        sa.Column(
            "refusal_rate", sa.Float(), nullable=True, comment="n_refusals / n_ok; null when n_ok is 0."
        ),
        sa.Column(
            "n_structured",
            sa.Integer(),
            nullable=False,
            comment="Answered spans of a template that promises structured output (JSON).",
        ),
        sa.Column(
            "n_json_invalid",
            sa.Integer(),
            nullable=False,
            comment="Structured answers that are not valid JSON (empty answers included).",
        ),
        sa.Column(
            "json_invalid_rate",
            sa.Float(),
            nullable=True,
            comment="n_json_invalid / n_structured; null when n_structured is 0.",
        ),
        sa.Column(
            "n_schema_invalid",
            sa.Integer(),
            nullable=False,
            comment="Structured answers that are valid JSON but do not conform to the template's schema.",
        ),
        sa.Column(
            "schema_invalid_rate",
            sa.Float(),
            nullable=True,
            comment="n_schema_invalid / n_structured; null when n_structured is 0.",
        ),
        sa.Column(
            "n_labelled",
            sa.Integer(),
            nullable=False,
            comment="Answered spans with ground truth (llm_spans.reference or the feedback table).",
        ),
        sa.Column(
            "n_correct",
            sa.Integer(),
            nullable=False,
            comment="Labelled spans whose answer is correct by the template's accuracy rule.",
        ),
        sa.Column(
            "accuracy",
            sa.Float(),
            nullable=True,
            comment="n_correct / n_labelled; null when n_labelled is 0.",
        ),
        sa.Column(
            "ref_n_ok",
            sa.Integer(),
            nullable=False,
            comment="Answered spans of the same endpoint, template and segment (any version) in the reference period before the window.",
        ),
        sa.Column(
            "ref_refusal_rate",
            sa.Float(),
            nullable=True,
            comment="Refusal rate of the reference period (same endpoint, template and segment); null when it has no answered spans.",
        ),
        sa.Column(
            "refusal_rate_increase",
            sa.Float(),
            nullable=True,
            comment="refusal_rate - ref_refusal_rate; null when either side has fewer answered spans than quality.min_window_spans.",
        ),
        sa.Column(
            "sparse",
            sa.Boolean(),
            nullable=False,
            comment="True when n < quality.min_window_spans: rates are stored, alert series read them as no data.",
        ),
        sa.Column(
            "sparse_labels",
            sa.Boolean(),
            nullable=False,
            comment="True when n_labelled < quality.min_labelled: accuracy is stored, alert series read it as no data.",
        ),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the window was last computed (UTC).",
        ),
        sa.PrimaryKeyConstraint(
            "window_start",
            "endpoint",
            "model_version",
            "prompt_template",
            "user_segment",
            name=op.f("pk_traffic_quality"),
        ),
        comment="Deterministic quality checks on every span, one row per window and slice (endpoint, model_version, prompt_template, user_segment).",
    )
    with op.batch_alter_table("traffic_quality", schema=None) as batch_op:
        batch_op.create_index(
            "ix_traffic_quality_endpoint_window_start", ["endpoint", "window_start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("traffic_quality", schema=None) as batch_op:
        batch_op.drop_index("ix_traffic_quality_endpoint_window_start")

    op.drop_table("traffic_quality")
    op.drop_table("judge_shift")
