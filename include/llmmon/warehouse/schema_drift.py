"""Tables of the drift capability, on the shared MetaData (see schema.py); created by their own Alembic revision.

``drift_runs``: one row per drift job run (a window of production spans against a reference). ``drift_metrics``:
one row per feature and method of a run. A run is replaced whole (``llmmon.warehouse.drift_store``), so a retried
or re-run window converges to the same rows.
"""

from __future__ import annotations

import sqlalchemy as sa

from llmmon.warehouse.schema import KEY, _check_in, _ts, metadata

DRIFT_STATUSES = ("success", "inconclusive", "failed")
FEATURE_KINDS = ("numeric", "categorical", "window")

drift_runs = sa.Table(
    "drift_runs",
    metadata,
    sa.Column("run_key", sa.String(KEY), primary_key=True,
              comment="Key of the run: drift_report/<endpoint or all>/<window start>/<reference>; re-running a "
                      "window replaces it."),
    sa.Column("endpoint", sa.String(KEY), nullable=False,
              comment="Endpoint of the spans compared; empty string when all endpoints."),
    _ts("window_start", "Start of the current window (UTC, inclusive).", nullable=False),
    _ts("window_end", "End of the current window (UTC, exclusive).", nullable=False),
    sa.Column("reference", sa.String(KEY), nullable=False,
              comment="Reference used: a named reference of drift.references, or rolling-<N>d."),
    _ts("reference_start", "Start of the reference window (UTC, inclusive).", nullable=False),
    _ts("reference_end", "End of the reference window (UTC, exclusive).", nullable=False),
    sa.Column("status", sa.String(16), nullable=False,
              comment="success, inconclusive (see reason: too few spans, nothing testable) or failed."),
    sa.Column("reason", sa.Text, nullable=True, comment="Why the run is inconclusive or failed; null on success."),
    sa.Column("n_ref", sa.Integer, nullable=False, comment="Spans in the reference window."),
    sa.Column("n_cur", sa.Integer, nullable=False, comment="Spans in the current window."),
    sa.Column("n_features_tested", sa.Integer, nullable=False,
              comment="Features with a verdict (enough non-null values on both sides)."),
    sa.Column("n_features_drifted", sa.Integer, nullable=False, comment="Features whose verdict is drifted."),
    sa.Column("drifted", sa.Boolean, nullable=False, comment="True when at least one feature drifted."),
    sa.Column("attack_share_ref", sa.Float, nullable=True,
              comment="Share of reference prompts that look like injection or jailbreak attempts."),
    sa.Column("attack_share_cur", sa.Float, nullable=True,
              comment="Share of current prompts that look like injection or jailbreak attempts."),
    sa.Column("embedding_provider", sa.String(KEY), nullable=True,
              comment="Embedding provider and model, e.g. local:hashed-ngrams-256."),
    sa.Column("settings", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON of the settings that decided: alpha, correction, calibration replicates, floors."),
    sa.Column("report_uri", sa.Text, nullable=True,
              comment="Where the Evidently HTML report is (file path or fsspec URL); null until rendered."),
    _ts("computed_at", "When the run's statistics were computed (UTC).", nullable=False),
    _check_in("status", DRIFT_STATUSES, "status"),
    sa.Index("ix_drift_runs_endpoint_window_start", "endpoint", "window_start"),
    comment="One row per drift run: a window of production spans tested against a reference window.",
)

drift_metrics = sa.Table(
    "drift_metrics",
    metadata,
    sa.Column("run_key", sa.String(KEY), primary_key=True, comment="Run the row belongs to (drift_runs.run_key)."),
    sa.Column("feature", sa.String(KEY), primary_key=True,
              comment="Feature tested, e.g. prompt_chars, embedding_distance, language, attack_signal, vocabulary."),
    sa.Column("method", sa.String(32), primary_key=True,
              comment="psi, ks, wasserstein (numeric); js, chi2, new_categories (categorical); js (vocabulary)."),
    sa.Column("kind", sa.String(16), nullable=False, comment="numeric, categorical or window."),
    sa.Column("decisive", sa.Boolean, nullable=False,
              comment="True for the row that decides the feature's verdict; the others are for information."),
    sa.Column("statistic", sa.Float, nullable=True, comment="Value of the statistic on all rows; null when untested."),
    sa.Column("threshold", sa.Float, nullable=True,
              comment="Calibrated threshold: the statistic's null quantile at 1 - alpha for these sample sizes."),
    sa.Column("p_value", sa.Float, nullable=True,
              comment="p-value: calibrated (psi, js), asymptotic (ks, chi2); null for finding-only rows."),
    sa.Column("p_adjusted", sa.Float, nullable=True,
              comment="p-value adjusted across the run's decisive rows (Holm or BH); null on other rows."),
    sa.Column("calibration", sa.String(64), nullable=True,
              comment="How the null was obtained, e.g. multinomial-bootstrap-499+gamma-tail, prompt-permutation-499, "
                      "asymptotic."),
    sa.Column("effect", sa.Float, nullable=True,
              comment="Effect size in the feature's units: Wasserstein-1 (numeric), total variation or share "
                      "increase (categorical), JS divergence beyond its permutation mean (vocabulary)."),
    sa.Column("effect_floor", sa.Float, nullable=True, comment="Smallest effect called drift (configured per feature)."),
    sa.Column("n_ref", sa.Integer, nullable=False, comment="Non-null reference values tested."),
    sa.Column("n_cur", sa.Integer, nullable=False, comment="Non-null current values tested."),
    sa.Column("ref_summary", sa.Float, nullable=True,
              comment="Reference mean (numeric) or share of the top changing category (categorical)."),
    sa.Column("cur_summary", sa.Float, nullable=True, comment="The same summary in the current window."),
    sa.Column("tested", sa.Boolean, nullable=False, comment="False when the feature could not be tested (see reason)."),
    sa.Column("drifted", sa.Boolean, nullable=False,
              comment="Decisive row: p_adjusted < alpha and effect >= effect_floor; other rows: the same rule "
                      "with their own p-value (informational)."),
    sa.Column("reason", sa.Text, nullable=True,
              comment="Why untested, which categories are new, or why a significant change is not drift."),
    sa.Column("details", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON: bin edges or category shares of both windows, null shares."),
    _check_in("kind", FEATURE_KINDS, "kind"),
    comment="One row per feature and method of a drift run: statistic, calibrated threshold, effect, verdict.",
)

DRIFT_TABLES: tuple[sa.Table, ...] = (drift_runs, drift_metrics)
