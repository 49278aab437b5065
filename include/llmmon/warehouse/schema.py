"""The warehouse schema: every llmmon table, on one MetaData, with a comment on each table and column.

Types are portable (SQLite, PostgreSQL and any SQLAlchemy dialect). Timestamps use ``UTCDateTime``: they are
stored in UTC and always come back timezone-aware in UTC, whatever the dialect or the session time zone.
Relationships between tables are by ``run_key`` and are not enforced foreign keys: most analytical warehouses
do not enforce them, and the writers keep them consistent inside their transactions.

``docs/warehouse.md`` mirrors the comments below; a test fails when the two disagree. Changing a table here
needs a new Alembic revision (see ``migrate.py``): the migrations, not this module, create the tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from llmmon.errors import LlmmonError

# Stable constraint names, so later migrations can refer to them on every dialect.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

DEPLOY_SOURCES = ("deploy_hook", "airflow", "provider", "manual")
RUN_STATUSES = ("running", "success", "failed")
SUMMARY_DIMENSIONS = ("overall", "intent", "task_type")
ALERT_STATES = ("pending", "firing", "resolved", "inactive")
ALERT_FROM_STATES = ("inactive", "pending", "firing")
ALERT_TO_STATES = ("pending", "firing", "resolved", "inactive")
DELIVERY_KINDS = ("firing", "renotify", "resolved")
DELIVERY_STATUSES = ("pending", "sent", "failed", "not_configured", "superseded")

KEY = 255  # length of identifiers and names: fits every dialect's indexable VARCHAR


class WarehouseError(LlmmonError):
    """A warehouse read or write was given input it cannot store, or a row it needs does not exist."""


class UTCDateTime(sa.TypeDecorator):
    """A timestamp stored in UTC and returned timezone-aware in UTC.

    Accepts aware ``datetime`` objects (any offset; converted to UTC), unix epoch seconds (``int``/``float``,
    as in ``CallResult.started_at``) and ISO 8601 strings with an offset. Naive datetimes are refused: their
    time zone is a guess, and a wrong guess shifts every window by hours without any error.
    On SQLite the value is stored as UTC text, so text order is time order.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        value = to_utc(value)
        if dialect.name == "sqlite":
            # SQLite has no time zone type: store the UTC wall clock.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # a dialect that hands back text
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def to_utc(value: Any) -> dt.datetime:
    """``value`` (aware datetime, epoch seconds or ISO string with offset) as an aware UTC datetime."""
    if isinstance(value, bool):
        raise WarehouseError(f"timestamp must be a datetime, epoch seconds or ISO string, got {value!r}")
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise WarehouseError(f"timestamp {value!r} is not ISO 8601") from exc
    if not isinstance(value, dt.datetime):
        raise WarehouseError(f"timestamp must be a datetime, epoch seconds or ISO string, got {value!r}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise WarehouseError(
            f"timestamp {value.isoformat()} is naive; llmmon stores timezone-aware UTC "
            "(pass e.g. datetime.now(datetime.UTC) or a pendulum/Airflow date)"
        )
    return value.astimezone(dt.UTC)


def _check_in(column: str, values: tuple[str, ...], name: str, nullable: bool = False) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    sql = f"{column} IN ({allowed})"
    if nullable:
        sql = f"{column} IS NULL OR {sql}"
    return sa.CheckConstraint(sql, name=name)


def _ts(name: str, comment: str, nullable: bool = True, primary_key: bool = False) -> sa.Column:
    """A UTC timestamp column (every schema module builds its timestamps with this)."""
    return sa.Column(name, UTCDateTime(), nullable=nullable, primary_key=primary_key, comment=comment)


def _count(name: str, comment: str) -> sa.Column:
    """A non-null integer count."""
    return sa.Column(name, sa.Integer, nullable=False, comment=comment)


def _number(name: str, comment: str) -> sa.Column:
    """A nullable float: a rate, percentile or cost that may be undefined (null, never a made-up 0)."""
    return sa.Column(name, sa.Float, nullable=True, comment=comment)


deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("deploy_id", sa.String(KEY), primary_key=True,
              comment="Unique id of the deployment, given by the release pipeline or derived from the event."),
    sa.Column("endpoint", sa.String(KEY), nullable=False, comment="llmmon endpoint name that was deployed to."),
    sa.Column("model", sa.String(KEY), nullable=False, comment="Model id served after the deployment."),
    sa.Column("model_version", sa.String(KEY), nullable=False,
              comment="Version label of the model, prompt or index that shipped."),
    sa.Column("stage", sa.String(64), nullable=True, comment="Release stage, e.g. deploy, canary, daily."),
    sa.Column("source", sa.String(32), nullable=False,
              comment="Who reported it: deploy_hook, airflow, provider or manual."),
    _ts("deployed_at", "When the deployment took effect (UTC).", nullable=False),
    _ts("recorded_at", "When llmmon first recorded the deployment (UTC); kept on re-recording.", nullable=False),
    sa.Column("details", sa.JSON(none_as_null=True), nullable=True,
              comment="Free-form JSON from the reporter: commit, ticket, image, prompt hash."),
    _check_in("source", DEPLOY_SOURCES, "source"),
    sa.Index("ix_deployments_endpoint_deployed_at", "endpoint", "deployed_at"),
    comment="Every deployment of a model, prompt or index to an endpoint, one row per deploy_id.",
)

eval_runs = sa.Table(
    "eval_runs",
    metadata,
    sa.Column("run_key", sa.String(KEY), primary_key=True,
              comment="Unique key of the run: DAG id, slash, DAG run id (golden_eval/manual__2026-11-01T09:00:00+00:00)."),
    sa.Column("dag_id", sa.String(KEY), nullable=True, comment="Airflow DAG that ran the eval."),
    sa.Column("dag_run_id", sa.String(KEY), nullable=True, comment="Airflow DAG run id."),
    sa.Column("suite", sa.String(KEY), nullable=True, comment="Golden-set suite name."),
    sa.Column("suite_version", sa.String(KEY), nullable=True, comment="Version of the golden-set suite."),
    sa.Column("endpoint", sa.String(KEY), nullable=True, comment="llmmon endpoint name that was evaluated."),
    sa.Column("model", sa.String(KEY), nullable=True, comment="Model id requested from the endpoint."),
    sa.Column("model_version", sa.String(KEY), nullable=True, comment="Model version label under evaluation."),
    sa.Column("deploy_id", sa.String(KEY), nullable=True,
              comment="Deployment that triggered or preceded the run (deployments.deploy_id), if known."),
    sa.Column("stage", sa.String(64), nullable=True, comment="Stage of the eval: daily, deploy, canary, shadow or manual."),
    sa.Column("trials", sa.Integer, nullable=True, comment="Calls per example (repeated trials)."),
    sa.Column("status", sa.String(16), nullable=False, comment="running, success or failed."),
    sa.Column("error", sa.Text, nullable=True, comment="Why the run failed; null unless status is failed."),
    _ts("started_at", "When the run started (UTC)."),
    _ts("finished_at", "When the run succeeded or failed (UTC); null while running."),
    sa.Column("n_examples", sa.Integer, nullable=True, comment="Golden-set examples evaluated."),
    sa.Column("n_calls", sa.Integer, nullable=True, comment="Endpoint calls made (examples x trials)."),
    sa.Column("n_errors", sa.Integer, nullable=True, comment="Calls that ended in an endpoint error."),
    sa.Column("n_passed", sa.Integer, nullable=True, comment="Calls whose output passed its scorer."),
    sa.Column("pass_rate", sa.Float, nullable=True, comment="n_passed / n_calls, from 0 to 1."),
    sa.Column("mean_score", sa.Float, nullable=True, comment="Mean scorer score over calls, from 0 to 1."),
    sa.Column("ttft_p50_s", sa.Float, nullable=True, comment="Median time to first token, seconds."),
    sa.Column("ttft_p95_s", sa.Float, nullable=True, comment="95th percentile time to first token, seconds."),
    sa.Column("latency_p50_s", sa.Float, nullable=True, comment="Median end-to-end latency, seconds."),
    sa.Column("latency_p95_s", sa.Float, nullable=True, comment="95th percentile end-to-end latency, seconds."),
    sa.Column("latency_p99_s", sa.Float, nullable=True, comment="99th percentile end-to-end latency, seconds."),
    sa.Column("input_tokens", sa.BigInteger, nullable=True, comment="Prompt tokens over all calls."),
    sa.Column("output_tokens", sa.BigInteger, nullable=True, comment="Completion tokens over all calls."),
    sa.Column("cost_usd", sa.Float, nullable=True, comment="Cost of all calls in USD, from the price table."),
    sa.Column("loop_lag_p95_ms", sa.Float, nullable=True,
              comment="95th percentile event-loop lag of the eval client, milliseconds."),
    sa.Column("timing_suspect_share", sa.Float, nullable=True,
              comment="Share of calls whose timings the client may have distorted (0 to 1)."),
    sa.Column("baseline_run_key", sa.String(KEY), nullable=True,
              comment="Run this one was compared with (eval_runs.run_key), if any."),
    sa.Column("verdict", sa.String(64), nullable=True,
              comment="Outcome of the comparison with the baseline; null until decided."),
    sa.Column("verdict_details", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON with the statistics behind the verdict."),
    _check_in("status", RUN_STATUSES, "status"),
    # find_baseline_run: equality on the first four columns, range and order on finished_at.
    sa.Index("ix_eval_runs_baseline", "suite_version", "endpoint", "model_version", "status", "finished_at"),
    comment="One row per golden-set eval run, with its aggregate metrics and verdict.",
)

eval_summaries = sa.Table(
    "eval_summaries",
    metadata,
    sa.Column("run_key", sa.String(KEY), primary_key=True, comment="Run summarised (eval_runs.run_key)."),
    sa.Column("dimension", sa.String(32), primary_key=True, comment="Slice kind: overall, intent or task_type."),
    sa.Column("value", sa.String(KEY), primary_key=True,
              comment="Slice value, e.g. refund; 'all' for the overall dimension."),
    sa.Column("n", sa.Integer, nullable=False, comment="Calls in the slice."),
    sa.Column("n_passed", sa.Integer, nullable=True, comment="Calls in the slice that passed."),
    sa.Column("n_errors", sa.Integer, nullable=True, comment="Calls in the slice that ended in an endpoint error."),
    sa.Column("pass_rate", sa.Float, nullable=True, comment="n_passed / n, from 0 to 1."),
    sa.Column("mean_score", sa.Float, nullable=True, comment="Mean scorer score in the slice."),
    sa.Column("ttft_p50_s", sa.Float, nullable=True, comment="Median time to first token in the slice, seconds."),
    sa.Column("ttft_p95_s", sa.Float, nullable=True, comment="95th percentile time to first token, seconds."),
    sa.Column("latency_p95_s", sa.Float, nullable=True, comment="95th percentile end-to-end latency, seconds."),
    sa.Column("cost_usd", sa.Float, nullable=True, comment="Cost of the slice's calls in USD."),
    _check_in("dimension", SUMMARY_DIMENSIONS, "dimension"),
    comment="Per-run metrics overall and per slice (intent, task type).",
)

eval_results = sa.Table(
    "eval_results",
    metadata,
    sa.Column("run_key", sa.String(KEY), primary_key=True, comment="Run the result belongs to (eval_runs.run_key)."),
    sa.Column("example_id", sa.String(KEY), primary_key=True, comment="Golden-set example id."),
    sa.Column("trial", sa.Integer, primary_key=True, comment="Trial number of the call, from 0."),
    sa.Column("intent", sa.String(KEY), nullable=True, comment="Intent label of the example."),
    sa.Column("task_type", sa.String(KEY), nullable=True, comment="Task type of the example."),
    sa.Column("scorer", sa.String(KEY), nullable=True, comment="Scorer that judged the output."),
    sa.Column("score", sa.Float, nullable=True, comment="Scorer score, from 0 to 1; null when the call failed."),
    sa.Column("passed", sa.Boolean, nullable=True, comment="Whether the output passed the scorer."),
    sa.Column("score_details", sa.JSON(none_as_null=True), nullable=True,
              comment="JSON with the scorer's reasons and sub-scores."),
    sa.Column("output", sa.Text, nullable=True, comment="Text the model returned."),
    sa.Column("expected", sa.Text, nullable=True, comment="Expected answer or reference from the golden set."),
    sa.Column("error_type", sa.String(KEY), nullable=True, comment="Error class when the call failed, else null."),
    sa.Column("error", sa.Text, nullable=True, comment="Error message when the call failed, else null."),
    sa.Column("ttft_s", sa.Float, nullable=True, comment="Time to first token measured by the client, seconds."),
    sa.Column("latency_s", sa.Float, nullable=True, comment="End-to-end latency measured by the client, seconds."),
    sa.Column("input_tokens", sa.Integer, nullable=True, comment="Prompt tokens reported by the endpoint."),
    sa.Column("output_tokens", sa.Integer, nullable=True, comment="Completion tokens reported by the endpoint."),
    sa.Column("cost_usd", sa.Float, nullable=True, comment="Cost of the call in USD, from the price table."),
    sa.Column("finish_reason", sa.String(64), nullable=True, comment="Finish reason reported by the endpoint."),
    sa.Column("request_model", sa.String(KEY), nullable=True, comment="Model id the client asked for."),
    sa.Column("response_model", sa.String(KEY), nullable=True, comment="Model id the endpoint said it used."),
    sa.Column("attempts", sa.Integer, nullable=True, comment="HTTP attempts made, retries included."),
    sa.Column("timing_suspect", sa.Boolean, nullable=True,
              comment="True when client event-loop lag may have distorted the timings."),
    _ts("started_at", "When the call started (UTC)."),
    comment="One row per example and trial of a run: output, score, timings, tokens, cost.",
)

eval_staging = sa.Table(
    "eval_staging",
    metadata,
    sa.Column("run_key", sa.String(KEY), primary_key=True, comment="Run the call belongs to (eval_runs.run_key)."),
    sa.Column("request_key", sa.String(KEY), primary_key=True,
              comment="Key of the request: example id, #, trial (cs-0001#0)."),
    sa.Column("shard", sa.Integer, nullable=False, comment="Shard (mapped task index) that made the call."),
    sa.Column("payload", sa.JSON(none_as_null=True), nullable=False, comment="JSON of the CallResult."),
    _ts("written_at", "When the row was last written (UTC).", nullable=False),
    comment="Internal: raw call results between the run and score steps; emptied when a run's results land.",
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", sa.String(KEY), primary_key=True,
              comment="Deterministic id of one alert episode: hash of rule, series labels and the point where it started."),
    sa.Column("dedup_key", sa.String(KEY), nullable=False,
              comment="Stable key of the condition across episodes: rule and sorted series labels (PagerDuty's dedup key)."),
    sa.Column("rule", sa.String(KEY), nullable=False, comment="Alert rule that raised the alert."),
    sa.Column("metric", sa.String(KEY), nullable=False, comment="Metric series the rule watches, e.g. golden.regression."),
    sa.Column("state", sa.String(16), nullable=False,
              comment="pending, firing, resolved, or inactive (pending that recovered before firing)."),
    sa.Column("severity", sa.String(32), nullable=False, comment="critical, warning or info, from the rule."),
    sa.Column("labels", sa.JSON(none_as_null=True), nullable=False,
              comment="JSON object: the rule's labels and the series labels (series labels win)."),
    sa.Column("value", sa.Float, nullable=True, comment="Latest non-null value of the series in this episode."),
    sa.Column("threshold", sa.Float, nullable=True, comment="Threshold of the rule's condition."),
    sa.Column("breach_count", sa.Integer, nullable=False,
              comment="Breaching points seen in this episode; the alert fires when it reaches the rule's for."),
    _ts("started_at", "Time of the first breaching point of the episode (UTC).", nullable=False),
    _ts("fired_at", "Time of the point that made the alert fire (UTC); null if it never fired."),
    _ts("resolved_at", "Time of the point that resolved the alert (UTC); null unless resolved."),
    sa.Column("last_point_id", sa.String(KEY), nullable=False,
              comment="Latest series point evaluated in this episode, e.g. a run_key."),
    _ts("last_point_at", "Time of the latest series point evaluated in this episode (UTC).", nullable=False),
    _ts("last_notified_at",
        "When the last notification was queued (UTC); the re-notify interval counts from here."),
    sa.Column("notify_count", sa.Integer, nullable=False,
              comment="Notifications queued for this alert so far (firing, renotify, resolved)."),
    _ts("updated_at", "When an evaluation last changed the row (its evaluation time, UTC).", nullable=False),
    _check_in("state", ALERT_STATES, "state"),
    sa.Index("ix_alerts_dedup_key_started_at", "dedup_key", "started_at"),
    sa.Index("ix_alerts_state", "state"),
    comment="One row per alert episode of a rule on one series: its state, latest value and notifications.",
)

alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("event_id", sa.String(KEY), primary_key=True,
              comment="Deterministic id: hash of alert_id, to_state and point_id (re-evaluating adds nothing)."),
    sa.Column("alert_id", sa.String(KEY), nullable=False, comment="Alert episode that changed state (alerts.alert_id)."),
    sa.Column("from_state", sa.String(16), nullable=False, comment="State before: inactive, pending or firing."),
    sa.Column("to_state", sa.String(16), nullable=False,
              comment="State after: pending, firing, resolved or inactive."),
    _ts("at", "Time of the series point that caused the transition (UTC).", nullable=False),
    sa.Column("point_id", sa.String(KEY), nullable=False,
              comment="Series point that caused the transition, e.g. a run_key."),
    sa.Column("value", sa.Float, nullable=True, comment="Value of that point."),
    _ts("evaluated_at", "When the evaluation that recorded the transition ran (its evaluation time, UTC).",
        nullable=False),
    _check_in("from_state", ALERT_FROM_STATES, "from_state"),
    _check_in("to_state", ALERT_TO_STATES, "to_state"),
    sa.Index("ix_alert_events_alert_id_at", "alert_id", "at"),
    comment="Every state transition of every alert, one row per transition.",
)

alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("delivery_id", sa.String(KEY), primary_key=True,
              comment="Deterministic id: hash of alert_id, notification number and route."),
    sa.Column("alert_id", sa.String(KEY), nullable=False, comment="Alert the notification is about (alerts.alert_id)."),
    sa.Column("seq", sa.Integer, nullable=False,
              comment="Number of the notification for its alert: 1 for firing, one more per renotify or resolve."),
    sa.Column("kind", sa.String(16), nullable=False, comment="firing, renotify or resolved."),
    sa.Column("route", sa.String(KEY), nullable=False, comment="Name of the route that delivers it."),
    sa.Column("status", sa.String(16), nullable=False,
              comment="pending, sent, failed, not_configured, or superseded (a renotify of an alert no longer firing)."),
    sa.Column("tries", sa.Integer, nullable=False,
              comment="Evaluations that tried to deliver it; failed deliveries are retried by the next one."),
    sa.Column("attempts", sa.Integer, nullable=False,
              comment="Delivery attempts over all tries (a route may retry within one try)."),
    sa.Column("error", sa.Text, nullable=True, comment="Last delivery error, secrets removed; null once sent."),
    _ts("queued_at", "When the notification was queued (the evaluation time, UTC).", nullable=False),
    _ts("last_try_at", "When the last try ended (evaluation time, UTC); null before any try."),
    _ts("sent_at", "When it was delivered (evaluation time, UTC); null until sent."),
    _check_in("kind", DELIVERY_KINDS, "kind"),
    _check_in("status", DELIVERY_STATUSES, "status"),
    sa.Index("ix_alert_deliveries_alert_id", "alert_id"),
    sa.Index("ix_alert_deliveries_status", "status"),
    comment="Outbox of alert notifications, one row per notification and route, with the delivery outcome.",
)

TABLES: tuple[sa.Table, ...] = (
    deployments, eval_runs, eval_summaries, eval_results, eval_staging, alerts, alert_events, alert_deliveries
)

# Capability tables live in their own modules on the same MetaData (imported here, so every table is registered
# wherever the schema is used). Each has its own Alembic revision.
from llmmon.warehouse.schema_drift import DRIFT_TABLES  # noqa: E402
from llmmon.warehouse.schema_judge import JUDGE_TABLES  # noqa: E402
from llmmon.warehouse.schema_quality import QUALITY_TABLES  # noqa: E402
from llmmon.warehouse.schema_retrieval import RETRIEVAL_TABLES  # noqa: E402
from llmmon.warehouse.schema_slo import SLO_TABLES  # noqa: E402
from llmmon.warehouse.schema_traffic import TRAFFIC_TABLES  # noqa: E402

TABLES = TABLES + TRAFFIC_TABLES + JUDGE_TABLES + QUALITY_TABLES + DRIFT_TABLES + RETRIEVAL_TABLES + SLO_TABLES
