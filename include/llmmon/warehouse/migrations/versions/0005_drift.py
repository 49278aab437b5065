"""Tables of the drift capability: drift_runs (one row per drift run) and drift_metrics (one row per feature and
method of a run).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

Frozen copy of schema_drift.py at the time (revisions never import llmmon). Timestamps are
DateTime(timezone=True) (schema.UTCDateTime's storage).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drift_runs",
        sa.Column(
            "run_key",
            sa.String(length=255),
            nullable=False,
            comment="Key of the run: drift_report/<endpoint or all>/<window start>/<reference>; re-running a window replaces it.",
        ),
        sa.Column(
            "endpoint",
            sa.String(length=255),
            nullable=False,
            comment="Endpoint of the spans compared; empty string when all endpoints.",
        ),
        sa.Column(
            "window_start",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Start of the current window (UTC, inclusive).",
        ),
        sa.Column(
            "window_end",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="End of the current window (UTC, exclusive).",
        ),
        sa.Column(
            "reference",
            sa.String(length=255),
            nullable=False,
            comment="Reference used: a named reference of drift.references, or rolling-<N>d.",
        ),
        sa.Column(
            "reference_start",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Start of the reference window (UTC, inclusive).",
        ),
        sa.Column(
            "reference_end",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="End of the reference window (UTC, exclusive).",
        ),
        sa.Column(
            "status",
            sa.String(length=16),
            nullable=False,
            comment="success, inconclusive (see reason: too few spans, nothing testable) or failed.",
        ),
        sa.Column(
            "reason",
            sa.Text(),
            nullable=True,
            comment="Why the run is inconclusive or failed; null on success.",
        ),
        sa.Column("n_ref", sa.Integer(), nullable=False, comment="Spans in the reference window."),
        sa.Column("n_cur", sa.Integer(), nullable=False, comment="Spans in the current window."),
        sa.Column(
            "n_features_tested",
            sa.Integer(),
            nullable=False,
            comment="Features with a verdict (enough non-null values on both sides).",
        ),
        sa.Column(
            "n_features_drifted", sa.Integer(), nullable=False, comment="Features whose verdict is drifted."
        ),
        sa.Column("drifted", sa.Boolean(), nullable=False, comment="True when at least one feature drifted."),
        sa.Column(
            "attack_share_ref",
            sa.Float(),
            nullable=True,
            comment="Share of reference prompts that look like injection or jailbreak attempts.",
        ),
        sa.Column(
            "attack_share_cur",
            sa.Float(),
            nullable=True,
            comment="Share of current prompts that look like injection or jailbreak attempts.",
        ),
        sa.Column(
            "embedding_provider",
            sa.String(length=255),
            nullable=True,
            comment="Embedding provider and model, e.g. local:hashed-ngrams-256.",
        ),
        sa.Column(
            "settings",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON of the settings that decided: alpha, correction, calibration replicates, floors.",
        ),
        sa.Column(
            "report_uri",
            sa.Text(),
            nullable=True,
            comment="Where the Evidently HTML report is (file path or fsspec URL); null until rendered.",
        ),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the run's statistics were computed (UTC).",
        ),
        sa.CheckConstraint(
            "status IN ('success', 'inconclusive', 'failed')", name=op.f("ck_drift_runs_status")
        ),
        sa.PrimaryKeyConstraint("run_key", name=op.f("pk_drift_runs")),
        comment="One row per drift run: a window of production spans tested against a reference window.",
    )
    op.create_index(
        "ix_drift_runs_endpoint_window_start", "drift_runs", ["endpoint", "window_start"], unique=False
    )
    op.create_table(
        "drift_metrics",
        sa.Column(
            "run_key",
            sa.String(length=255),
            nullable=False,
            comment="Run the row belongs to (drift_runs.run_key).",
        ),
        sa.Column(
            "feature",
            sa.String(length=255),
            nullable=False,
            comment="Feature tested, e.g. prompt_chars, embedding_distance, language, attack_signal, vocabulary.",
        ),
        sa.Column(
            "method",
            sa.String(length=32),
            nullable=False,
            comment="psi, ks, wasserstein (numeric); js, chi2, new_categories (categorical); js (vocabulary).",
        ),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="numeric, categorical or window."),
        sa.Column(
            "decisive",
            sa.Boolean(),
            nullable=False,
            comment="True for the row that decides the feature's verdict; the others are for information.",
        ),
        sa.Column(
            "statistic",
            sa.Float(),
            nullable=True,
            comment="Value of the statistic on all rows; null when untested.",
        ),
        sa.Column(
            "threshold",
            sa.Float(),
            nullable=True,
            comment="Calibrated threshold: the statistic's null quantile at 1 - alpha for these sample sizes.",
        ),
        sa.Column(
            "p_value",
            sa.Float(),
            nullable=True,
            comment="p-value: calibrated (psi, js), asymptotic (ks, chi2); null for finding-only rows.",
        ),
        sa.Column(
            "p_adjusted",
            sa.Float(),
            nullable=True,
            comment="p-value adjusted across the run's decisive rows (Holm or BH); null on other rows.",
        ),
        sa.Column(
            "calibration",
            sa.String(length=64),
            nullable=True,
            comment="How the null was obtained, e.g. multinomial-bootstrap-499+gamma-tail, prompt-permutation-499, asymptotic.",
        ),
        sa.Column(
            "effect",
            sa.Float(),
            nullable=True,
            comment="Effect size in the feature's units: Wasserstein-1 (numeric), total variation or share increase (categorical), JS divergence beyond its permutation mean (vocabulary).",
        ),
        sa.Column(
            "effect_floor",
            sa.Float(),
            nullable=True,
            comment="Smallest effect called drift (configured per feature).",
        ),
        sa.Column("n_ref", sa.Integer(), nullable=False, comment="Non-null reference values tested."),
        sa.Column("n_cur", sa.Integer(), nullable=False, comment="Non-null current values tested."),
        sa.Column(
            "ref_summary",
            sa.Float(),
            nullable=True,
            comment="Reference mean (numeric) or share of the top changing category (categorical).",
        ),
        sa.Column(
            "cur_summary", sa.Float(), nullable=True, comment="The same summary in the current window."
        ),
        sa.Column(
            "tested",
            sa.Boolean(),
            nullable=False,
            comment="False when the feature could not be tested (see reason).",
        ),
        sa.Column(
            "drifted",
            sa.Boolean(),
            nullable=False,
            comment="Decisive row: p_adjusted < alpha and effect >= effect_floor; other rows: the same rule with their own p-value (informational).",
        ),
        sa.Column(
            "reason",
            sa.Text(),
            nullable=True,
            comment="Why untested, which categories are new, or why a significant change is not drift.",
        ),
        sa.Column(
            "details",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON: bin edges or category shares of both windows, null shares.",
        ),
        sa.CheckConstraint(
            "kind IN ('numeric', 'categorical', 'window')", name=op.f("ck_drift_metrics_kind")
        ),
        sa.PrimaryKeyConstraint("run_key", "feature", "method", name=op.f("pk_drift_metrics")),
        comment="One row per feature and method of a drift run: statistic, calibrated threshold, effect, verdict.",
    )


def downgrade() -> None:
    op.drop_table("drift_metrics")
    op.drop_index("ix_drift_runs_endpoint_window_start", table_name="drift_runs")
    op.drop_table("drift_runs")
