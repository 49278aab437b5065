"""judge_calibration: is the LLM judge still agreeing with humans? Daily, on the shipped calibration set.

Judges the human-labelled calibration set (``golden_sets/judge_calibration``) with the configured judge, stores
accuracy and Cohen's kappa per judge model and rubric version (``judge_agreement``, over time), and evaluates the alert
rules: the shipped ``judge_agreement`` rule fires when agreement falls below its floor or the judge model changed.
Logic lives in ``llmmon.judge.agreement``; the measurement is keyed by the data interval, so a retry converges.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from llmmon_airflow.dag_defaults import default_args


@dag(
    dag_id="judge_calibration",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["llmmon", "judge", "calibration"],
    default_args=default_args(),
)
def judge_calibration():
    @task
    def measure(**context) -> dict:
        from llmmon.judge import measure_agreement
        from llmmon_airflow.connections import airflow_secret_resolver
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        warehouse.upgrade()
        at = context.get("data_interval_end") or context["dag_run"].run_after
        report = measure_agreement(settings, warehouse, measure_key=f"judge_calibration/{at.isoformat()}",
                                   measured_at=at, secrets=airflow_secret_resolver())
        print(report)
        return {"measured_at": at.isoformat()}

    @task
    def alert(ref: dict) -> dict:
        from llmmon.alerts.evaluate import evaluate_alerts
        from llmmon_airflow.connections import airflow_secret_resolver
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        report = evaluate_alerts(settings, warehouse, secrets=airflow_secret_resolver())
        return {"transitions": len(report.transitions), "failed_deliveries": len(report.failed_deliveries)}

    alert(measure())


judge_calibration()
