"""Helpers shared by llmmon's DAG tasks: settings, warehouse, and turning bad input into a recorded failure."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger("llmmon.airflow")


def settings_and_warehouse():
    """Load the configuration (``LLMMON_CONFIG`` or the embedded defaults) and open the warehouse."""
    from llmmon.config import load_settings
    from llmmon.warehouse import Warehouse

    settings = load_settings()
    return settings, Warehouse(settings.warehouse.url)


def run_key_from_context(context: dict[str, Any]) -> str:
    from llmmon.golden_eval import run_key_for

    return run_key_for(context["dag"].dag_id, context["run_id"])


@contextlib.contextmanager
def bad_input_fails_run(warehouse, run_key: str, *, fail: Callable[..., None] | None = None,
                        **known: Any) -> Iterator[None]:
    """Bad configuration, golden set, run conf or an unreachable endpoint: record the run as failed with the
    reason and fail the task without retries (retrying cannot fix input). Other errors propagate and retry.
    ``fail(run_key, reason, **known)`` records it: an eval run by default, any run table's writer otherwise."""
    from airflow.sdk.exceptions import AirflowFailException

    from llmmon.errors import LlmmonError

    fail = fail or warehouse.fail_eval_run
    try:
        yield
    except LlmmonError as exc:
        log.error("%s", exc)
        try:
            fail(run_key, f"{type(exc).__name__}: {exc}", **known)
        except Exception:  # recording is best effort; the task fails with the real reason either way
            log.exception("could not record the failure of %s in the warehouse", run_key)
        raise AirflowFailException(str(exc)) from exc


def failure_callback(
    get_run: Callable[[Any, str], dict[str, Any] | None], fail_run: Callable[[Any, str, str], None]
) -> Callable[[dict[str, Any]], None]:
    """An on_failure_callback: a task that failed for good (retries exhausted) marks its still-running run failed.
    ``get_run(warehouse, run_key)`` reads the run, ``fail_run(warehouse, run_key, reason)`` records the failure;
    the run key is the DAG run's (``run_key_from_context``)."""

    def callback(context: dict[str, Any]) -> None:
        try:
            _, warehouse = settings_and_warehouse()
            run_key = run_key_from_context(context)
            exc = context.get("exception")
            ti = context.get("task_instance") or context.get("ti")
            where = getattr(ti, "task_id", "?")
            row = get_run(warehouse, run_key)
            # a scored run stays scored: a later step failing (compare, alert) does not void its results
            if row is None or row["status"] == "running":
                fail_run(warehouse, run_key,
                         f"task {where} failed: {type(exc).__name__ if exc else 'error'}: {exc}")
        except Exception:  # a callback must never raise; observability degrades, it does not fail
            log.exception("llmmon failure callback could not record the failure")

    return callback


# golden_eval's runs (eval_runs)
record_failure_callback = failure_callback(lambda wh, key: wh.get_eval_run(key),
                                           lambda wh, key, reason: wh.fail_eval_run(key, reason))


def _retrieval_get(warehouse, run_key: str) -> dict[str, Any] | None:
    from llmmon.warehouse import retrieval_store

    return retrieval_store.get_run(warehouse, run_key)


def _retrieval_fail(warehouse, run_key: str, reason: str, **known: Any) -> None:
    from llmmon.warehouse import retrieval_store

    retrieval_store.fail_run(warehouse, run_key, reason, **known)


# rag_eval's runs (retrieval_runs)
record_retrieval_failure_callback = failure_callback(_retrieval_get, _retrieval_fail)


PROVIDER_CHANGES_URI = "llmmon://provider_model_changes"


def golden_eval_conf(context: dict[str, Any], settings, warehouse) -> dict[str, Any]:
    """The run conf of a golden_eval run: its params, or — for a run triggered by a provider-side model change that
    traffic_ingest detected — the changed deployment (endpoint, the requested model, the fingerprint as version).

    The same inputs give the same conf in every task of the run (the triggering events are fixed per run).
    """
    conf = dict(context["params"])
    if conf.get("model") or conf.get("deploy_id") or conf.get("model_version"):
        return conf  # an explicit trigger (deploy hook, UI) wins
    events = []
    try:
        for asset, asset_events in (context.get("triggering_asset_events") or {}).items():
            keys = {getattr(asset, "name", None), str(getattr(asset, "uri", "")).rstrip("/")}
            if PROVIDER_CHANGES_URI in keys:  # Airflow normalises the URI with a trailing slash
                events.extend(asset_events)
    except Exception:  # no triggering events (scheduled or manual run)
        events = []
    deploy_ids = [d for e in events for d in ((getattr(e, "extra", None) or {}).get("deploy_ids") or [])]
    configured = {e.name for e in settings.endpoints}
    for deploy_id in reversed(deploy_ids):  # the most recent change of an endpoint llmmon evaluates
        dep = warehouse.get_deployment(deploy_id)
        if dep is None or dep["endpoint"] not in configured:
            continue
        details = dep.get("details") or {}
        return {**conf, "endpoint": dep["endpoint"], "model": details.get("request_model") or dep["model"],
                "model_version": dep["model_version"], "deploy_id": deploy_id, "stage": "deploy"}
    return conf
