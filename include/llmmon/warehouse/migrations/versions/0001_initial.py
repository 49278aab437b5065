"""The initial llmmon warehouse: deployments, eval runs and their results, alerts with their events and deliveries.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Frozen copy of schema.py at the time: revisions never import llmmon, so later edits to schema.py cannot
change what an old revision does. Timestamps are DateTime(timezone=True) (schema.UTCDateTime's storage).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column(
            "deploy_id",
            sa.String(length=255),
            nullable=False,
            comment="Unique id of the deployment, given by the release pipeline or derived from the event.",
        ),
        sa.Column(
            "endpoint",
            sa.String(length=255),
            nullable=False,
            comment="llmmon endpoint name that was deployed to.",
        ),
        sa.Column(
            "model", sa.String(length=255), nullable=False, comment="Model id served after the deployment."
        ),
        sa.Column(
            "model_version",
            sa.String(length=255),
            nullable=False,
            comment="Version label of the model, prompt or index that shipped.",
        ),
        sa.Column(
            "stage", sa.String(length=64), nullable=True, comment="Release stage, e.g. deploy, canary, daily."
        ),
        sa.Column(
            "source",
            sa.String(length=32),
            nullable=False,
            comment="Who reported it: deploy_hook, airflow, provider or manual.",
        ),
        sa.Column(
            "deployed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the deployment took effect (UTC).",
        ),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When llmmon first recorded the deployment (UTC); kept on re-recording.",
        ),
        sa.Column(
            "details",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="Free-form JSON from the reporter: commit, ticket, image, prompt hash.",
        ),
        sa.CheckConstraint(
            "source IN ('deploy_hook', 'airflow', 'provider', 'manual')", name="ck_deployments_source"
        ),
        sa.PrimaryKeyConstraint("deploy_id", name="pk_deployments"),
        comment="Every deployment of a model, prompt or index to an endpoint, one row per deploy_id.",
    )
    op.create_index("ix_deployments_endpoint_deployed_at", "deployments", ["endpoint", "deployed_at"])

    op.create_table(
        "eval_runs",
        sa.Column(
            "run_key",
            sa.String(length=255),
            nullable=False,
            comment="Unique key of the run: DAG id, slash, DAG run id (golden_eval/manual__2026-11-01T09:00:00+00:00).",
        ),
        sa.Column("dag_id", sa.String(length=255), nullable=True, comment="Airflow DAG that ran the eval."),
        sa.Column("dag_run_id", sa.String(length=255), nullable=True, comment="Airflow DAG run id."),
        sa.Column("suite", sa.String(length=255), nullable=True, comment="Golden-set suite name."),
        sa.Column(
            "suite_version", sa.String(length=255), nullable=True, comment="Version of the golden-set suite."
        ),
        sa.Column(
            "endpoint",
            sa.String(length=255),
            nullable=True,
            comment="llmmon endpoint name that was evaluated.",
        ),
        sa.Column(
            "model", sa.String(length=255), nullable=True, comment="Model id requested from the endpoint."
        ),
        sa.Column(
            "model_version",
            sa.String(length=255),
            nullable=True,
            comment="Model version label under evaluation.",
        ),
        sa.Column(
            "deploy_id",
            sa.String(length=255),
            nullable=True,
            comment="Deployment that triggered or preceded the run (deployments.deploy_id), if known.",
        ),
        sa.Column(
            "stage",
            sa.String(length=64),
            nullable=True,
            comment="Stage of the eval: daily, deploy, canary, shadow or manual.",
        ),
        sa.Column("trials", sa.Integer(), nullable=True, comment="Calls per example (repeated trials)."),
        sa.Column("status", sa.String(length=16), nullable=False, comment="running, success or failed."),
        sa.Column(
            "error", sa.Text(), nullable=True, comment="Why the run failed; null unless status is failed."
        ),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), nullable=True, comment="When the run started (UTC)."
        ),
        sa.Column(
            "finished_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the run succeeded or failed (UTC); null while running.",
        ),
        sa.Column("n_examples", sa.Integer(), nullable=True, comment="Golden-set examples evaluated."),
        sa.Column("n_calls", sa.Integer(), nullable=True, comment="Endpoint calls made (examples x trials)."),
        sa.Column("n_errors", sa.Integer(), nullable=True, comment="Calls that ended in an endpoint error."),
        sa.Column("n_passed", sa.Integer(), nullable=True, comment="Calls whose output passed its scorer."),
        sa.Column("pass_rate", sa.Float(), nullable=True, comment="n_passed / n_calls, from 0 to 1."),
        sa.Column(
            "mean_score", sa.Float(), nullable=True, comment="Mean scorer score over calls, from 0 to 1."
        ),
        sa.Column("ttft_p50_s", sa.Float(), nullable=True, comment="Median time to first token, seconds."),
        sa.Column(
            "ttft_p95_s", sa.Float(), nullable=True, comment="95th percentile time to first token, seconds."
        ),
        sa.Column("latency_p50_s", sa.Float(), nullable=True, comment="Median end-to-end latency, seconds."),
        sa.Column(
            "latency_p95_s", sa.Float(), nullable=True, comment="95th percentile end-to-end latency, seconds."
        ),
        sa.Column(
            "latency_p99_s", sa.Float(), nullable=True, comment="99th percentile end-to-end latency, seconds."
        ),
        sa.Column("input_tokens", sa.BigInteger(), nullable=True, comment="Prompt tokens over all calls."),
        sa.Column(
            "output_tokens", sa.BigInteger(), nullable=True, comment="Completion tokens over all calls."
        ),
        sa.Column(
            "cost_usd", sa.Float(), nullable=True, comment="Cost of all calls in USD, from the price table."
        ),
        sa.Column(
            "loop_lag_p95_ms",
            sa.Float(),
            nullable=True,
            comment="95th percentile event-loop lag of the eval client, milliseconds.",
        ),
        sa.Column(
            "timing_suspect_share",
            sa.Float(),
            nullable=True,
            comment="Share of calls whose timings the client may have distorted (0 to 1).",
        ),
        sa.Column(
            "baseline_run_key",
            sa.String(length=255),
            nullable=True,
            comment="Run this one was compared with (eval_runs.run_key), if any.",
        ),
        sa.Column(
            "verdict",
            sa.String(length=64),
            nullable=True,
            comment="Outcome of the comparison with the baseline; null until decided.",
        ),
        sa.Column(
            "verdict_details",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON with the statistics behind the verdict.",
        ),
        sa.CheckConstraint("status IN ('running', 'success', 'failed')", name="ck_eval_runs_status"),
        sa.PrimaryKeyConstraint("run_key", name="pk_eval_runs"),
        comment="One row per golden-set eval run, with its aggregate metrics and verdict.",
    )
    op.create_index(
        "ix_eval_runs_baseline",
        "eval_runs",
        ["suite_version", "endpoint", "model_version", "status", "finished_at"],
    )

    op.create_table(
        "eval_summaries",
        sa.Column(
            "run_key", sa.String(length=255), nullable=False, comment="Run summarised (eval_runs.run_key)."
        ),
        sa.Column(
            "dimension",
            sa.String(length=32),
            nullable=False,
            comment="Slice kind: overall, intent or task_type.",
        ),
        sa.Column(
            "value",
            sa.String(length=255),
            nullable=False,
            comment="Slice value, e.g. refund; 'all' for the overall dimension.",
        ),
        sa.Column("n", sa.Integer(), nullable=False, comment="Calls in the slice."),
        sa.Column("n_passed", sa.Integer(), nullable=True, comment="Calls in the slice that passed."),
        sa.Column(
            "n_errors",
            sa.Integer(),
            nullable=True,
            comment="Calls in the slice that ended in an endpoint error.",
        ),
        sa.Column("pass_rate", sa.Float(), nullable=True, comment="n_passed / n, from 0 to 1."),
        sa.Column("mean_score", sa.Float(), nullable=True, comment="Mean scorer score in the slice."),
        sa.Column(
            "ttft_p50_s",
            sa.Float(),
            nullable=True,
            comment="Median time to first token in the slice, seconds.",
        ),
        sa.Column(
            "ttft_p95_s", sa.Float(), nullable=True, comment="95th percentile time to first token, seconds."
        ),
        sa.Column(
            "latency_p95_s", sa.Float(), nullable=True, comment="95th percentile end-to-end latency, seconds."
        ),
        sa.Column("cost_usd", sa.Float(), nullable=True, comment="Cost of the slice's calls in USD."),
        sa.CheckConstraint(
            "dimension IN ('overall', 'intent', 'task_type')", name="ck_eval_summaries_dimension"
        ),
        sa.PrimaryKeyConstraint("run_key", "dimension", "value", name="pk_eval_summaries"),
        comment="Per-run metrics overall and per slice (intent, task type).",
    )

    op.create_table(
        "eval_results",
        sa.Column(
            "run_key",
            sa.String(length=255),
            nullable=False,
            comment="Run the result belongs to (eval_runs.run_key).",
        ),
        sa.Column("example_id", sa.String(length=255), nullable=False, comment="Golden-set example id."),
        sa.Column("trial", sa.Integer(), nullable=False, comment="Trial number of the call, from 0."),
        sa.Column("intent", sa.String(length=255), nullable=True, comment="Intent label of the example."),
        sa.Column("task_type", sa.String(length=255), nullable=True, comment="Task type of the example."),
        sa.Column("scorer", sa.String(length=255), nullable=True, comment="Scorer that judged the output."),
        sa.Column(
            "score",
            sa.Float(),
            nullable=True,
            comment="Scorer score, from 0 to 1; null when the call failed.",
        ),
        sa.Column("passed", sa.Boolean(), nullable=True, comment="Whether the output passed the scorer."),
        sa.Column(
            "score_details",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="JSON with the scorer's reasons and sub-scores.",
        ),
        sa.Column("output", sa.Text(), nullable=True, comment="Text the model returned."),
        sa.Column(
            "expected", sa.Text(), nullable=True, comment="Expected answer or reference from the golden set."
        ),
        sa.Column(
            "error_type",
            sa.String(length=255),
            nullable=True,
            comment="Error class when the call failed, else null.",
        ),
        sa.Column(
            "error", sa.Text(), nullable=True, comment="Error message when the call failed, else null."
        ),
        sa.Column(
            "ttft_s",
            sa.Float(),
            nullable=True,
            comment="Time to first token measured by the client, seconds.",
        ),
        sa.Column(
            "latency_s",
            sa.Float(),
            nullable=True,
            comment="End-to-end latency measured by the client, seconds.",
        ),
        sa.Column(
            "input_tokens", sa.Integer(), nullable=True, comment="Prompt tokens reported by the endpoint."
        ),
        sa.Column(
            "output_tokens",
            sa.Integer(),
            nullable=True,
            comment="Completion tokens reported by the endpoint.",
        ),
        sa.Column(
            "cost_usd", sa.Float(), nullable=True, comment="Cost of the call in USD, from the price table."
        ),
        sa.Column(
            "finish_reason",
            sa.String(length=64),
            nullable=True,
            comment="Finish reason reported by the endpoint.",
        ),
        sa.Column(
            "request_model", sa.String(length=255), nullable=True, comment="Model id the client asked for."
        ),
        sa.Column(
            "response_model",
            sa.String(length=255),
            nullable=True,
            comment="Model id the endpoint said it used.",
        ),
        sa.Column("attempts", sa.Integer(), nullable=True, comment="HTTP attempts made, retries included."),
        sa.Column(
            "timing_suspect",
            sa.Boolean(),
            nullable=True,
            comment="True when client event-loop lag may have distorted the timings.",
        ),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), nullable=True, comment="When the call started (UTC)."
        ),
        sa.PrimaryKeyConstraint("run_key", "example_id", "trial", name="pk_eval_results"),
        comment="One row per example and trial of a run: output, score, timings, tokens, cost.",
    )

    op.create_table(
        "eval_staging",
        sa.Column(
            "run_key",
            sa.String(length=255),
            nullable=False,
            comment="Run the call belongs to (eval_runs.run_key).",
        ),
        sa.Column(
            "request_key",
            sa.String(length=255),
            nullable=False,
            comment="Key of the request: example id, #, trial (cs-0001#0).",
        ),
        sa.Column(
            "shard", sa.Integer(), nullable=False, comment="Shard (mapped task index) that made the call."
        ),
        sa.Column("payload", sa.JSON(none_as_null=True), nullable=False, comment="JSON of the CallResult."),
        sa.Column(
            "written_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the row was last written (UTC).",
        ),
        sa.PrimaryKeyConstraint("run_key", "request_key", name="pk_eval_staging"),
        comment="Internal: raw call results between the run and score steps; emptied when a run's results land.",
    )

    op.create_table(
        "alerts",
        sa.Column(
            "alert_id",
            sa.String(length=255),
            nullable=False,
            comment="Deterministic id of one alert episode: hash of rule, series labels and the point where it started.",
        ),
        sa.Column(
            "dedup_key",
            sa.String(length=255),
            nullable=False,
            comment="Stable key of the condition across episodes: rule and sorted series labels (PagerDuty's dedup key).",
        ),
        sa.Column("rule", sa.String(length=255), nullable=False, comment="Alert rule that raised the alert."),
        sa.Column(
            "metric",
            sa.String(length=255),
            nullable=False,
            comment="Metric series the rule watches, e.g. golden.regression.",
        ),
        sa.Column(
            "state",
            sa.String(length=16),
            nullable=False,
            comment="pending, firing, resolved, or inactive (pending that recovered before firing).",
        ),
        sa.Column(
            "severity",
            sa.String(length=32),
            nullable=False,
            comment="critical, warning or info, from the rule.",
        ),
        sa.Column(
            "labels",
            sa.JSON(none_as_null=True),
            nullable=False,
            comment="JSON object: the rule's labels and the series labels (series labels win).",
        ),
        sa.Column(
            "value", sa.Float(), nullable=True, comment="Latest non-null value of the series in this episode."
        ),
        sa.Column("threshold", sa.Float(), nullable=True, comment="Threshold of the rule's condition."),
        sa.Column(
            "breach_count",
            sa.Integer(),
            nullable=False,
            comment="Breaching points seen in this episode; the alert fires when it reaches the rule's for.",
        ),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Time of the first breaching point of the episode (UTC).",
        ),
        sa.Column(
            "fired_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Time of the point that made the alert fire (UTC); null if it never fired.",
        ),
        sa.Column(
            "resolved_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Time of the point that resolved the alert (UTC); null unless resolved.",
        ),
        sa.Column(
            "last_point_id",
            sa.String(length=255),
            nullable=False,
            comment="Latest series point evaluated in this episode, e.g. a run_key.",
        ),
        sa.Column(
            "last_point_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Time of the latest series point evaluated in this episode (UTC).",
        ),
        sa.Column(
            "last_notified_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the last notification was queued (UTC); the re-notify interval counts from here.",
        ),
        sa.Column(
            "notify_count",
            sa.Integer(),
            nullable=False,
            comment="Notifications queued for this alert so far (firing, renotify, resolved).",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When an evaluation last changed the row (its evaluation time, UTC).",
        ),
        sa.CheckConstraint("state IN ('pending', 'firing', 'resolved', 'inactive')", name="ck_alerts_state"),
        sa.PrimaryKeyConstraint("alert_id", name="pk_alerts"),
        comment="One row per alert episode of a rule on one series: its state, latest value and notifications.",
    )
    op.create_index("ix_alerts_dedup_key_started_at", "alerts", ["dedup_key", "started_at"])
    op.create_index("ix_alerts_state", "alerts", ["state"])

    op.create_table(
        "alert_events",
        sa.Column(
            "event_id",
            sa.String(length=255),
            nullable=False,
            comment="Deterministic id: hash of alert_id, to_state and point_id (re-evaluating adds nothing).",
        ),
        sa.Column(
            "alert_id",
            sa.String(length=255),
            nullable=False,
            comment="Alert episode that changed state (alerts.alert_id).",
        ),
        sa.Column(
            "from_state",
            sa.String(length=16),
            nullable=False,
            comment="State before: inactive, pending or firing.",
        ),
        sa.Column(
            "to_state",
            sa.String(length=16),
            nullable=False,
            comment="State after: pending, firing, resolved or inactive.",
        ),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Time of the series point that caused the transition (UTC).",
        ),
        sa.Column(
            "point_id",
            sa.String(length=255),
            nullable=False,
            comment="Series point that caused the transition, e.g. a run_key.",
        ),
        sa.Column("value", sa.Float(), nullable=True, comment="Value of that point."),
        sa.Column(
            "evaluated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the evaluation that recorded the transition ran (its evaluation time, UTC).",
        ),
        sa.CheckConstraint(
            "from_state IN ('inactive', 'pending', 'firing')", name="ck_alert_events_from_state"
        ),
        sa.CheckConstraint(
            "to_state IN ('pending', 'firing', 'resolved', 'inactive')", name="ck_alert_events_to_state"
        ),
        sa.PrimaryKeyConstraint("event_id", name="pk_alert_events"),
        comment="Every state transition of every alert, one row per transition.",
    )
    op.create_index("ix_alert_events_alert_id_at", "alert_events", ["alert_id", "at"])

    op.create_table(
        "alert_deliveries",
        sa.Column(
            "delivery_id",
            sa.String(length=255),
            nullable=False,
            comment="Deterministic id: hash of alert_id, notification number and route.",
        ),
        sa.Column(
            "alert_id",
            sa.String(length=255),
            nullable=False,
            comment="Alert the notification is about (alerts.alert_id).",
        ),
        sa.Column(
            "seq",
            sa.Integer(),
            nullable=False,
            comment="Number of the notification for its alert: 1 for firing, one more per renotify or resolve.",
        ),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="firing, renotify or resolved."),
        sa.Column(
            "route", sa.String(length=255), nullable=False, comment="Name of the route that delivers it."
        ),
        sa.Column(
            "status",
            sa.String(length=16),
            nullable=False,
            comment="pending, sent, failed, not_configured, or superseded (a renotify of an alert no longer firing).",
        ),
        sa.Column(
            "tries",
            sa.Integer(),
            nullable=False,
            comment="Evaluations that tried to deliver it; failed deliveries are retried by the next one.",
        ),
        sa.Column(
            "attempts",
            sa.Integer(),
            nullable=False,
            comment="Delivery attempts over all tries (a route may retry within one try).",
        ),
        sa.Column(
            "error", sa.Text(), nullable=True, comment="Last delivery error, secrets removed; null once sent."
        ),
        sa.Column(
            "queued_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the notification was queued (the evaluation time, UTC).",
        ),
        sa.Column(
            "last_try_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the last try ended (evaluation time, UTC); null before any try.",
        ),
        sa.Column(
            "sent_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When it was delivered (evaluation time, UTC); null until sent.",
        ),
        sa.CheckConstraint("kind IN ('firing', 'renotify', 'resolved')", name="ck_alert_deliveries_kind"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'not_configured', 'superseded')",
            name="ck_alert_deliveries_status",
        ),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_alert_deliveries"),
        comment="Outbox of alert notifications, one row per notification and route, with the delivery outcome.",
    )
    op.create_index("ix_alert_deliveries_alert_id", "alert_deliveries", ["alert_id"])
    op.create_index("ix_alert_deliveries_status", "alert_deliveries", ["status"])


def downgrade() -> None:
    op.drop_index("ix_alert_deliveries_status", table_name="alert_deliveries")
    op.drop_index("ix_alert_deliveries_alert_id", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_index("ix_alert_events_alert_id_at", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index("ix_alerts_state", table_name="alerts")
    op.drop_index("ix_alerts_dedup_key_started_at", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("eval_staging")
    op.drop_table("eval_results")
    op.drop_table("eval_summaries")
    op.drop_index("ix_eval_runs_baseline", table_name="eval_runs")
    op.drop_table("eval_runs")
    op.drop_index("ix_deployments_endpoint_deployed_at", table_name="deployments")
    op.drop_table("deployments")
