"""traffic_ingest: bring new production LLM spans into the warehouse every 15 minutes.

Reads the configured source (``traffic.source``: OTLP JSON files from the OpenTelemetry Collector's file exporter,
Parquet files, or ``table:<name>``; any fsspec path), validates every batch, quarantines the rows that fail with
their reason, and upserts the valid ones into ``llm_spans`` by (trace_id, span_id). A provider-side model change
under a fixed name (a new response model or system fingerprint) is recorded as a deployment. When spans landed,
the task publishes the Asset ``llmmon://llm_spans``, which triggers ``traffic_judge``. Logic lives in
``llmmon.traffic.ingest``; XCom carries the batch id and counts only.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, dag, task

from llmmon_airflow.dag_defaults import default_args
from llmmon_airflow.tasks import PROVIDER_CHANGES_URI

DOC = __doc__
LLM_SPANS = Asset("llmmon://llm_spans")  # traffic_judge is scheduled on it
PROVIDER_CHANGES = Asset(PROVIDER_CHANGES_URI)  # golden_eval is scheduled on it (and daily)


@dag(
    dag_id="traffic_ingest",
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two ingestions of the same files at once would race for the same rows
    doc_md=DOC,
    tags=["llmmon", "traffic", "ingest"],
    default_args=default_args(max_retry_delay=timedelta(minutes=5)),
    params={
        "source": Param(None, type=["null", "string"], description="fsspec path, glob or table:<name> (default: "
                                                                   "traffic.source from the llmmon config)"),
        "format": Param(None, type=["null", "string"], enum=[None, "otlp_json", "parquet", "table"],
                        description="Source format (default: from the config, else guessed from the path)"),
    },
)
def traffic_ingest():
    @task(outlets=[LLM_SPANS])
    def ingest(**context) -> dict:
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from llmmon.errors import LlmmonError
        from llmmon.traffic.ingest import ingest as ingest_spans
        from llmmon.traffic.ingest import resolve_default_source
        from llmmon_airflow.tasks import settings_and_warehouse

        settings, warehouse = settings_and_warehouse()
        warehouse.upgrade()
        params = context["params"]
        # a relative traffic.source resolves against the config file's folder (or LLMMON_HOME), not the worker's cwd
        source = params.get("source") or resolve_default_source(settings)
        batch_id = f"{context['dag'].dag_id}/{context['run_id']}"  # a retry of this run reuses it: idempotent
        try:
            report = ingest_spans(settings, warehouse, source, batch_id=batch_id,
                                  format=params.get("format") or settings.traffic.format)
        except LlmmonError as exc:  # bad configuration, or a source that cannot be read: retrying cannot fix it
            raise AirflowFailException(str(exc)) from exc
        print(report.summary())
        if not report.inserted:
            # No asset event: traffic_judge is not woken up for nothing (it still runs on its hourly schedule).
            raise AirflowSkipException(f"no new spans in {source} (read {report.read}, valid {report.valid}, "
                                       f"quarantined {report.quarantined})")
        return {"batch_id": report.batch_id, "read": report.read, "valid": report.valid,
                "inserted": report.inserted, "quarantined": report.quarantined,
                "new_deployments": list(report.new_deployments)}

    @task(outlets=[PROVIDER_CHANGES])
    def provider_model_changes(ref: dict, **context) -> list[str]:
        """Announce silent provider-side model changes (recorded as deployments): golden_eval runs on them."""
        from airflow.sdk.exceptions import AirflowSkipException

        if not ref["new_deployments"]:
            raise AirflowSkipException("no provider-side model change in this batch")  # no asset event
        context["outlet_events"][PROVIDER_CHANGES].extra = {"deploy_ids": ref["new_deployments"]}
        return ref["new_deployments"]

    provider_model_changes(ingest())


traffic_ingest()
