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
ALERT_STATUSES = ("firing", "resolved")
NOTIFY_STATUSES = ("sent", "failed", "not_configured")

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


def _ts(name: str, comment: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, UTCDateTime(), nullable=nullable, comment=comment)


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
              comment="Deterministic id of the alert (same inputs, same id)."),
    sa.Column("dedup_key", sa.String(KEY), nullable=False,
              comment="Groups alerts about the same condition across runs (rule, endpoint, subject)."),
    sa.Column("rule", sa.String(KEY), nullable=False, comment="Alert rule that fired."),
    sa.Column("severity", sa.String(32), nullable=False, comment="Severity, e.g. warning or critical."),
    sa.Column("status", sa.String(16), nullable=False, comment="firing or resolved."),
    sa.Column("source_run_key", sa.String(KEY), nullable=True,
              comment="Run whose results raised the alert (eval_runs.run_key)."),
    sa.Column("subject", sa.String(KEY), nullable=True,
              comment="What the alert is about, e.g. overall or intent:refund."),
    sa.Column("metric", sa.String(KEY), nullable=True, comment="Metric that breached, e.g. pass_rate."),
    sa.Column("value", sa.Float, nullable=True, comment="Observed value of the metric."),
    sa.Column("baseline_value", sa.Float, nullable=True, comment="Value of the metric in the baseline."),
    sa.Column("threshold", sa.Float, nullable=True, comment="Threshold the rule applied."),
    sa.Column("message", sa.Text, nullable=True, comment="Human-readable summary sent to the alert route."),
    _ts("created_at", "When the alert was first raised (UTC); kept on re-raising.", nullable=False),
    _ts("updated_at", "When the alert was last raised or changed (UTC).", nullable=False),
    _ts("notified_at", "When the last notification attempt ended (UTC)."),
    sa.Column("notify_attempts", sa.Integer, nullable=False, server_default=sa.text("0"),
              comment="Notification attempts made so far."),
    sa.Column("notify_status", sa.String(16), nullable=True,
              comment="sent, failed or not_configured; null before any attempt."),
    sa.Column("notify_error", sa.Text, nullable=True, comment="Last notification error, secrets removed."),
    _check_in("status", ALERT_STATUSES, "status"),
    _check_in("notify_status", NOTIFY_STATUSES, "notify_status", nullable=True),
    sa.Index("ix_alerts_dedup_key", "dedup_key"),
    sa.Index("ix_alerts_source_run_key", "source_run_key"),
    comment="Alerts raised by llmmon rules and the state of their notification.",
)

TABLES: tuple[sa.Table, ...] = (deployments, eval_runs, eval_summaries, eval_results, eval_staging, alerts)
