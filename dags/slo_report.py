"""slo_report: infrastructure SLO windows of production spans, every 5 minutes and whenever new spans land.

Scheduled by cron (``LLMMON_SLO_SCHEDULE``, default every 5 minutes, read when the file is parsed) and triggered by
the Asset ``llmmon://llm_spans`` that ``traffic_ingest`` publishes. Each run recomputes exactly the windows that
ingestions since the last run touched (``slo_batches`` records the ingestions already included): late spans
recompute their window, a replayed file adds nothing, and after downtime one run catches up on every pending
ingestion without double counting. Then the alert rules are evaluated (``slo_window_*`` fire after two
consecutive breached windows; ``slo_fast_burn`` / ``slo_slow_burn`` on multi-window burn rates) at the run's
data-interval end minus ``slo.settle``, so a window is judged once the ingestion cadence has delivered it.
Logic lives in ``llmmon.slo``; XCom carries counts and window bounds only.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from llmmon_airflow.dag_defaults import default_args

DOC = __doc__
LLM_SPANS = Asset("llmmon://llm_spans")  # published by traffic_ingest
SCHEDULE = os.environ.get("LLMMON_SLO_SCHEDULE", "*/5 * * * *")


@dag(
    dag_id="slo_report",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable(SCHEDULE, timezone="UTC"), assets=[LLM_SPANS]),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,  # the pending ingestions, not the schedule, decide what a run computes
    max_active_runs=1,  # two runs would recompute the same windows at once
    doc_md=DOC,
    tags=["llmmon", "slo", "traffic"],
    default_args=default_args(),
)
def slo_report():
    @task
    def windows(**context) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from llmmon.errors import ConfigError
        from llmmon.slo.run import run_slo_windows
        from llmmon_airflow.tasks import settings_and_warehouse

        try:
            settings, warehouse = settings_and_warehouse()
        except ConfigError as exc:  # a bad config: retrying cannot fix it
            raise AirflowFailException(str(exc)) from exc
        warehouse.upgrade()
        done = run_slo_windows(settings, warehouse, run_key=f"{context['dag'].dag_id}/{context['run_id']}")
        starts = done["windows"]
        print(f"slo windows: {len(done['batches'])} ingestion(s), {len(starts)} window(s) recomputed from "
              f"{done['spans']} spans, {done['rows']} rows"
              + (f" ({starts[0].isoformat()} .. {starts[-1].isoformat()})" if starts else ""))
        return {"batches": len(done["batches"]), "windows": len(starts), "rows": done["rows"],
                "first": starts[0].isoformat() if starts else None, "last": starts[-1].isoformat() if starts else None}

    @task
    def alert(summary: dict, **context) -> dict:
        import datetime as dt

        from llmmon.alerts.evaluate import evaluate_alerts
        from llmmon_airflow.connections import airflow_secret_resolver
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        # Evaluated at the interval's end (asset-triggered runs: when the run was due), not the clock: a re-run
        # writes the same alert rows. Minus slo.settle: spans of a window arrive with the ingestion cadence.
        end = context.get("data_interval_end") or context["dag_run"].run_after
        now = dt.datetime.fromtimestamp(end.timestamp(), tz=dt.UTC) - settings.slo.settle  # plain, not pendulum
        report = evaluate_alerts(settings, warehouse, secrets=airflow_secret_resolver(), now=now)
        return {**summary, "evaluated_at": now.isoformat(), "transitions": len(report.transitions),
                "failed_deliveries": len(report.failed_deliveries)}

    alert(windows())


slo_report()
