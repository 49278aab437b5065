"""golden_eval: run the golden set against the live endpoint daily and on every deploy.

Deploys trigger it through the REST API (``llmmon deploy-hook``) with the new version as run conf.
Steps: validate the set -> prepare (record deployment and run) -> run shards (mapped) -> score and write
-> compare with the baseline -> evaluate alert rules (sustained: `for: 2`) and deliver. Logic lives in ``llmmon.golden_eval``; XCom carries run keys only.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    AsyncCallback,
    CronTriggerTimetable,
    DeadlineAlert,
    DeadlineReference,
    Param,
    dag,
    task,
)

from llmmon_airflow.dag_defaults import default_args
from llmmon_airflow.notifiers import LlmmonNotifier, deadline_interval
from llmmon_airflow.tasks import PROVIDER_CHANGES_URI, record_failure_callback

DOC = __doc__

STAGES = ["daily", "deploy", "canary", "shadow", "manual"]
# traffic_ingest publishes this when a provider silently changed the model behind a requested model id
PROVIDER_CHANGES = Asset(PROVIDER_CHANGES_URI)
DEADLINE = deadline_interval()  # LLMMON_GOLDEN_EVAL_DEADLINE: default 3h after the run is queued; off = none


@dag(
    dag_id="golden_eval",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("@daily", timezone="UTC"), assets=[PROVIDER_CHANGES]
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    doc_md=DOC,
    tags=["llmmon", "eval", "golden-set"],
    # record the run as failed in the warehouse, then tell people through llmmon's routes
    default_args=default_args(record_failure_callback),
    on_failure_callback=LlmmonNotifier(),
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=DEADLINE,
        callback=AsyncCallback(
            "llmmon_airflow.notifiers.deadline_missed",
            kwargs={"dag_id": "golden_eval", "deadline": str(DEADLINE)},
        ),
    )
    if DEADLINE
    else None,
    params={
        "endpoint": Param(None, type=["null", "string"], description="Endpoint name from the llmmon config"),
        "model": Param(None, type=["null", "string"], description="Model id to request (default: the endpoint's)"),
        "model_version": Param(None, type=["null", "string"], description="Version label of what is deployed"),
        "deploy_id": Param(None, type=["null", "string"], maxLength=200, description="Deployment id (deploys)"),
        "stage": Param("daily", type="string", enum=STAGES, description="Why this run happens"),
        "suite": Param(None, type=["null", "string"], description="Golden suite (default from config)"),
        "trials": Param(1, type="integer", minimum=1, maximum=20, description="Samples per example"),
        "max_examples": Param(None, type=["null", "integer"], minimum=1, description="Run a subset (smoke)"),
        "shards": Param(None, type=["null", "integer"], minimum=1, maximum=1024, description="Parallel shards"),
    },
)
def golden_eval():
    @task
    def validate_golden_set(**context) -> str:
        from llmmon.golden_eval import load_and_validate, resolve_run_spec
        from llmmon_airflow.tasks import (
            bad_input_fails_run,
            golden_eval_conf,
            run_key_from_context,
            settings_and_warehouse,
        )

        settings, warehouse = settings_and_warehouse()
        warehouse.upgrade()
        run_key = run_key_from_context(context)
        with bad_input_fails_run(warehouse, run_key, dag_id=context["dag"].dag_id, dag_run_id=context["run_id"]):
            spec = resolve_run_spec(
                settings, golden_eval_conf(context, settings, warehouse), dag_id=context["dag"].dag_id, dag_run_id=context["run_id"],
                warehouse=warehouse,
            )
            suite = load_and_validate(settings, spec.suite)
        return f"{suite.name}@{suite.version}"

    @task
    def prepare(suite_ref: str, **context) -> list[dict]:
        from llmmon.golden import load_suite
        from llmmon.golden_eval import resolve_run_spec
        from llmmon_airflow.tasks import (
            bad_input_fails_run,
            golden_eval_conf,
            run_key_from_context,
            settings_and_warehouse,
        )

        settings, warehouse = settings_and_warehouse()
        run_key = run_key_from_context(context)
        with bad_input_fails_run(warehouse, run_key):
            spec = resolve_run_spec(
                settings, golden_eval_conf(context, settings, warehouse), dag_id=context["dag"].dag_id, dag_run_id=context["run_id"],
                warehouse=warehouse, requested_at=context["dag_run"].run_after,
            )
            suite = load_suite(spec.suite, settings.golden_sets_dir)
            from llmmon.golden_eval import prepare_run

            shards = prepare_run(settings, warehouse, spec, suite)
        # one reference per shard to map over; the work itself is read from the warehouse by run key
        return [{"run_key": run_key, "shard": s, "n_shards": len(shards)} for s in shards]

    @task(map_index_template="shard {{ task.op_kwargs['ref']['shard'] }}")
    def run_shard(ref: dict) -> dict:
        from llmmon.golden_eval import run_shard as run_one_shard
        from llmmon_airflow.connections import airflow_secret_resolver
        from llmmon_airflow.tasks import bad_input_fails_run, settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        run_key, shard, n_shards = ref["run_key"], ref["shard"], ref["n_shards"]
        with bad_input_fails_run(warehouse, run_key):
            summary = run_one_shard(settings, warehouse, run_key, shard, n_shards, secrets=airflow_secret_resolver())
        return {"run_key": run_key, **summary}

    @task
    def score(shard_summaries: list[dict]) -> str:
        from llmmon.golden_eval import score_run
        from llmmon_airflow.tasks import bad_input_fails_run, settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        run_key = next(iter(shard_summaries))["run_key"]
        with bad_input_fails_run(warehouse, run_key):
            score_run(settings, warehouse, run_key)
        return run_key

    @task
    def compare(run_key: str) -> str:
        from llmmon.golden_eval import compare_with_baseline
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        verdict = compare_with_baseline(settings, warehouse, run_key)
        print(f"verdict: {verdict.verdict} — {verdict.reason}")
        return run_key

    @task
    def alert(run_key: str) -> dict:
        from llmmon.golden_eval import evaluate_alerts
        from llmmon_airflow.connections import airflow_secret_resolver
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        report = evaluate_alerts(settings, warehouse, secrets=airflow_secret_resolver())
        return {"run_key": run_key, "transitions": len(report.transitions),
                "failed_deliveries": len(report.failed_deliveries)}

    shard_refs = prepare(validate_golden_set())
    alert(compare(score(run_shard.expand(ref=shard_refs))))


golden_eval()
