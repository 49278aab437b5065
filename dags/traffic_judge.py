"""traffic_judge: quality of production traffic, hourly and whenever new spans land.

Scheduled every hour (data interval: the hour before) and triggered by the Asset ``llmmon://llm_spans`` that
``traffic_ingest`` publishes; an asset-triggered run takes the last complete window before it was due, so late
spans get their window recomputed. Steps, all keyed by the window so a retry or a re-run converges:
quality checks on every span (``traffic_quality``) -> judge the sampled spans (``judge_scores``) -> judge-score
shift per stratum against the previous 7 days (``judge_shift``) -> evaluate alert rules (sustained: `for: 2`).
Logic lives in ``llmmon.quality`` and ``llmmon.judge``; XCom carries the window bounds only.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from llmmon_airflow.dag_defaults import default_args

DOC = __doc__
LLM_SPANS = Asset("llmmon://llm_spans")  # published by traffic_ingest


@dag(
    dag_id="traffic_judge",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("@hourly", timezone="UTC", interval=timedelta(hours=1)),
        assets=[LLM_SPANS],
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # runs over the same window would judge the same spans at once
    doc_md=DOC,
    tags=["llmmon", "traffic", "judge", "quality"],
    default_args=default_args(),
    params={
        "rubrics": Param(None, type=["null", "array"], items={"type": "string"},
                         description="Rubrics to judge with (default: judge.rubrics from the llmmon config)"),
    },
)
def traffic_judge():
    @task
    def quality_checks(**context) -> dict:
        from llmmon.quality import run_quality_checks, run_window
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        warehouse.upgrade()
        start, end = run_window(context.get("data_interval_start"), context.get("data_interval_end"),
                                context["dag_run"].run_after, settings.quality.window)
        summary = run_quality_checks(settings, warehouse, start=start, end=end)
        print(f"quality checks {start.isoformat()}..{end.isoformat()}: {summary['spans']} spans, "
              f"{summary['slices']} slice rows in {len(summary['windows'])} window(s)")
        # The window of the whole run, by reference: later tasks read the warehouse.
        return {"start": start.isoformat(), "end": end.isoformat(),
                "judge_run_key": f"{context['dag'].dag_id}/{start.isoformat()}"}

    @task
    def judge(window: dict, **context) -> dict:
        import datetime as dt

        from airflow.sdk.exceptions import AirflowFailException

        from llmmon.errors import ConfigError, RunConfError
        from llmmon.judge import run_judging
        from llmmon_airflow.connections import airflow_secret_resolver
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        try:
            # Keyed by the window: a retry, or an asset-triggered run over the same window, resumes the same
            # judge run (same sample, already judged items kept) instead of paying for the window twice.
            summary = run_judging(
                settings, warehouse, window_start=dt.datetime.fromisoformat(window["start"]),
                window_end=dt.datetime.fromisoformat(window["end"]), judge_run_key=window["judge_run_key"],
                rubrics=context["params"].get("rubrics") or None, secrets=airflow_secret_resolver(),
            )
        except (ConfigError, RunConfError) as exc:  # a bad rubric or judge endpoint: retrying cannot fix it
            raise AirflowFailException(str(exc)) from exc
        # JudgeRunError (judge errors past the error budget, rows written) propagates: a retry re-asks the
        # items whose judge call failed at the endpoint.
        print(f"judged {window['judge_run_key']}: {summary}")
        return window

    @task
    def shift(window: dict) -> dict:
        import datetime as dt

        from llmmon.quality import run_shift_detection
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        summary = run_shift_detection(settings, warehouse, start=dt.datetime.fromisoformat(window["start"]),
                                      end=dt.datetime.fromisoformat(window["end"]))
        print(f"judge-score shift: {summary['tested']} of {summary['strata']} strata tested, "
              f"shifted: {summary['shifted'] or 'none'}")
        return window

    @task
    def alert(window: dict) -> dict:
        import datetime as dt

        from llmmon.alerts.evaluate import evaluate_alerts
        from llmmon_airflow.connections import airflow_secret_resolver
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        # Evaluated at the window's end, not the clock: a re-run of this window writes the same alert rows.
        report = evaluate_alerts(settings, warehouse, secrets=airflow_secret_resolver(),
                                 now=dt.datetime.fromisoformat(window["end"]))
        return {**window, "transitions": len(report.transitions),
                "failed_deliveries": len(report.failed_deliveries)}

    alert(shift(judge(quality_checks())))


traffic_judge()
