"""drift_report: input drift of production traffic, daily and whenever new spans land.

Scheduled daily (data interval: the day before, tested window by window — one window with the default
``drift.window: 1d``) and triggered by the Asset ``llmmon://llm_spans`` that ``traffic_ingest`` publishes; an
asset-triggered run takes the last complete window before it was due. Params can name the window, the reference
and the endpoint explicitly. Steps, keyed by window and
reference so a retry or a re-run converges:
features of every span + calibrated tests against the reference (``drift_runs``, ``drift_metrics``) ->
Evidently HTML report on a sample, stored under ``drift.artifacts`` and linked from the run (a report failure is
logged and never fails the run: the verdict is already written) -> alert rules (``input_drift``,
``attack_signal_increase``; sustained: `for: 2`). Logic lives in ``llmmon.drift``; XCom carries run keys and
artifact folders only.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from llmmon_airflow.dag_defaults import default_args

DOC = __doc__
LLM_SPANS = Asset("llmmon://llm_spans")  # published by traffic_ingest


@dag(
    dag_id="drift_report",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("@daily", timezone="UTC", interval=timedelta(days=1)),
        assets=[LLM_SPANS],
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=DOC,
    tags=["llmmon", "traffic", "drift"],
    default_args=default_args(),
    params={
        "window_start": Param(None, type=["null", "string"],
                              description="Start of the window to test (ISO 8601 with offset; default: the run's "
                                          "data interval)"),
        "window_end": Param(None, type=["null", "string"],
                            description="End of the window (exclusive); give both or neither"),
        "reference": Param(None, type=["null", "string"],
                           description="rolling, or a named reference of drift.references (default: drift.reference)"),
        "endpoint": Param(None, type=["null", "string"],
                          description="Only this endpoint's spans (default: drift.endpoint, else all)"),
    },
)
def drift_report():
    @task
    def compute(**context) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from llmmon.drift.job import run_drift, stage_report, windows_to_test
        from llmmon.errors import ConfigError, RunConfError
        from llmmon_airflow.connections import airflow_secret_resolver
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        warehouse.upgrade()
        params = context["params"]
        runs = []
        try:
            windows = windows_to_test(settings.drift, params.get("window_start"), params.get("window_end"),
                                      data_interval_start=context.get("data_interval_start"),
                                      data_interval_end=context.get("data_interval_end"),
                                      run_after=context["dag_run"].run_after)
            for ws, we in windows:
                outcome = run_drift(settings, warehouse, window_start=ws, window_end=we,
                                    endpoint=params.get("endpoint"), reference=params.get("reference"),
                                    secrets=airflow_secret_resolver())
                run = outcome.run
                print(f"drift {run['run_key']}: {run['status']}, {run['n_features_drifted']} of "
                      f"{run['n_features_tested']} features drifted"
                      + (f" ({run['reason']})" if run.get("reason") else ""))
                for m in outcome.drifted_features:
                    print(f"  drifted: {m['feature']} {m['method']}={m['statistic']:.4g} (threshold "
                          f"{m['threshold']:.4g}), effect {m['effect']:.4g} >= {m['effect_floor']:.4g}")
                runs.append({"run_key": run["run_key"], "folder": stage_report(settings.drift, outcome),
                             "status": run["status"]})
        except (ConfigError, RunConfError) as exc:  # bad conf or config: retrying cannot fix it
            raise AirflowFailException(str(exc)) from exc
        return {"runs": runs, "window_end": windows[-1][1].isoformat()}

    @task
    def report(result: dict) -> dict:
        import logging

        from llmmon.drift.report import write_report
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        for run in result["runs"]:
            if not run.get("folder"):
                continue
            try:
                uri = write_report(settings, warehouse, run["run_key"], run["folder"])
            except Exception:  # the report is for people; the verdict is written and the alerts must still run
                logging.getLogger("llmmon.drift").exception("drift report of %s could not be rendered",
                                                            run["run_key"])
                uri = None
            print(f"drift report of {run['run_key']}: {uri}")
        return result

    @task
    def alert(result: dict) -> dict:
        import datetime as dt

        from llmmon.alerts.evaluate import evaluate_alerts
        from llmmon_airflow.connections import airflow_secret_resolver
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        # Evaluated at the last window's end, not the clock: a re-run of the interval writes the same alert rows.
        evaluation = evaluate_alerts(settings, warehouse, secrets=airflow_secret_resolver(),
                                     now=dt.datetime.fromisoformat(result["window_end"]))
        return {"runs": len(result["runs"]), "window_end": result["window_end"],
                "transitions": len(evaluation.transitions), "failed_deliveries": len(evaluation.failed_deliveries)}

    alert(report(compute()))


drift_report()
