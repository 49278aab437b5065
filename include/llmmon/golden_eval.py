"""The golden-set eval, step by step: resolve → validate → prepare → run shards → score → compare → alert.

Each step is a plain function over a :class:`~llmmon.warehouse.Warehouse` and a run key, so the Airflow DAG
(``dags/golden_eval.py``) and the ``llmmon eval`` command wire the same code. Steps hand each other the run key only;
what a step needs it reads from the warehouse (the resolved run spec is the ``eval_runs`` row). Every write is
keyed by the run and the example, so retrying or clearing any step converges to the same rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from llmmon.alerts.evaluate import evaluate_alerts  # noqa: F401  (re-exported: it lived here first)
from llmmon.config import SecretResolver, Settings
from llmmon.errors import ConfigError, GoldenSetError, LlmmonError, RunConfError
from llmmon.golden import GoldenSuite, build_requests, expected_text, load_suite, parse_request_key
from llmmon.progress import Progress
from llmmon.records import CallResult, ChatRequest
from llmmon.stats import mean, percentile
from llmmon.verdicts import Verdict, compare_runs

log = logging.getLogger("llmmon.golden_eval")

STAGES = ("daily", "deploy", "canary", "shadow", "manual")
CONF_KEYS = ("endpoint", "model", "model_version", "deploy_id", "stage", "suite", "trials", "max_examples", "shards")


@dataclass(frozen=True)
class RunSpec:
    """What one eval run evaluates; stored as its ``eval_runs`` row."""

    run_key: str
    dag_id: str
    dag_run_id: str
    suite: str
    endpoint: str
    model: str
    model_version: str
    deploy_id: str | None
    stage: str
    trials: int
    max_examples: int | None
    shards: int
    requested_at: dt.datetime | None = None  # when the run was asked for (a deploy's time); stable across retries


def run_key_for(dag_id: str, dag_run_id: str) -> str:
    """The warehouse key of a DAG run's eval (deterministic: a retried or cleared run reuses it)."""
    return f"{dag_id}/{dag_run_id}"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def resolve_run_spec(
    settings: Settings,
    conf: dict[str, Any] | None,
    *,
    dag_id: str,
    dag_run_id: str,
    warehouse=None,
    requested_at: dt.datetime | None = None,
) -> RunSpec:
    """Validate run conf against the configuration; fill what it leaves out.

    The model under test is, in order: the conf's ``model``/``model_version``; the endpoint's latest recorded
    deployment (a scheduled run evaluates what is deployed now); the endpoint's configured model.
    """
    conf = {k: v for k, v in (conf or {}).items() if v is not None and v != ""}
    unknown = sorted(set(conf) - set(CONF_KEYS))
    if unknown:
        raise RunConfError(f"run conf: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(CONF_KEYS)}")
    try:
        endpoint = settings.endpoint(conf.get("endpoint"))
    except ConfigError as exc:
        raise RunConfError(f"run conf 'endpoint': {exc}") from None
    stage = conf.get("stage") or ("deploy" if conf.get("deploy_id") else "daily")
    if stage not in STAGES:
        raise RunConfError(f"run conf 'stage': {stage!r} is not one of {', '.join(STAGES)}")
    for key, lo, hi in (("trials", 1, 20), ("max_examples", 1, 100_000), ("shards", 1, 1024)):
        if key in conf and (not isinstance(conf[key], int) or isinstance(conf[key], bool) or not lo <= conf[key] <= hi):
            raise RunConfError(f"run conf '{key}': {conf[key]!r} must be an integer from {lo} to {hi}")

    model, version = conf.get("model"), conf.get("model_version")
    if model is None and version is None and warehouse is not None:
        latest = warehouse.latest_deployment(endpoint.name)
        if latest:
            model, version = latest["model"], latest["model_version"]
    model = model or endpoint.model
    version = version or (endpoint.model_version if model == endpoint.model else model)
    return RunSpec(
        run_key=run_key_for(dag_id, dag_run_id),
        dag_id=dag_id,
        dag_run_id=dag_run_id,
        suite=conf.get("suite") or settings.default_suite,
        endpoint=endpoint.name,
        model=model,
        model_version=str(version),
        deploy_id=conf.get("deploy_id"),
        stage=stage,
        trials=conf.get("trials", 1),
        max_examples=conf.get("max_examples"),
        shards=conf.get("shards", settings.eval.shards),
        requested_at=requested_at,
    )


def load_and_validate(settings: Settings, suite_name: str) -> GoldenSuite:
    """Load the suite and validate it with Great Expectations; raise :class:`GoldenSetError` naming the problems."""
    from llmmon.golden_validation import validate_golden_set

    suite = load_suite(suite_name, settings.golden_sets_dir)
    validate_golden_set(suite)
    return suite


def select_cases(suite: GoldenSuite, max_examples: int | None) -> list[str]:
    """Case ids to run: all, or ``max_examples`` taken round-robin over intents so every intent is covered."""
    if max_examples is None or max_examples >= len(suite.cases):
        return [c.id for c in suite.cases]
    by_intent: dict[str, list[str]] = defaultdict(list)
    for c in suite.cases:
        by_intent[c.intent].append(c.id)
    chosen: list[str] = []
    queues = [list(ids) for _, ids in sorted(by_intent.items())]
    while len(chosen) < max_examples:
        for q in queues:
            if q and len(chosen) < max_examples:
                chosen.append(q.pop(0))
    return chosen


def _requests_for(suite: GoldenSuite, run: dict[str, Any]) -> list[ChatRequest]:
    case_ids = select_cases(suite, run["n_examples"])
    return build_requests(suite, trials=run["trials"], case_ids=case_ids)


def shard_requests(requests: list[ChatRequest], shard: int, n_shards: int) -> list[ChatRequest]:
    """Shard ``shard`` of ``n_shards``: every n-th request, so shards get similar mixes of task types."""
    return requests[shard::n_shards]


def prepare_run(settings: Settings, warehouse, spec: RunSpec, suite: GoldenSuite) -> list[int]:
    """Record the deployment (deploy runs) and the run; return the shard indices to map over."""
    now = _utcnow()
    if spec.deploy_id and warehouse.get_deployment(spec.deploy_id) is None:  # a provider change is recorded already
        warehouse.record_deployment(
            deploy_id=spec.deploy_id, endpoint=spec.endpoint, model=spec.model, model_version=spec.model_version,
            stage=spec.stage, source="airflow" if spec.dag_id != "cli" else "manual",
            deployed_at=spec.requested_at or now,
            details={"dag_run_id": spec.dag_run_id, "suite": spec.suite},
        )
    n_examples = len(select_cases(suite, spec.max_examples))
    warehouse.start_eval_run(
        {
            "run_key": spec.run_key, "dag_id": spec.dag_id, "dag_run_id": spec.dag_run_id, "suite": suite.name,
            "suite_version": suite.version, "endpoint": spec.endpoint, "model": spec.model,
            "model_version": spec.model_version, "deploy_id": spec.deploy_id, "stage": spec.stage,
            "trials": spec.trials, "status": "running", "started_at": now, "n_examples": n_examples,
        }
    )
    n_requests = n_examples * spec.trials
    return list(range(max(1, min(spec.shards, n_requests))))


def _run_row(warehouse, run_key: str) -> dict[str, Any]:
    row = warehouse.get_eval_run(run_key)
    if row is None:
        raise LlmmonError(f"eval run {run_key!r} is not in the warehouse (did the prepare step run?)")
    return dict(row)


def _suite_for_run(settings: Settings, run: dict[str, Any]) -> GoldenSuite:
    suite = load_suite(run["suite"], settings.golden_sets_dir)
    if suite.version != run["suite_version"]:
        raise GoldenSetError(
            f"golden set {suite.cases_path}: its content changed during run {run['run_key']} "
            f"(version {run['suite_version']} at start, {suite.version} now); re-run the eval"
        )
    return suite


class _StagingWriter:
    """Writes call results to the warehouse from a background thread, in batches.

    The endpoint client's event loop must never wait on the database (it would distort the timings it measures),
    and a run killed midway keeps what it finished: the retried shard skips the staged requests.
    """

    def __init__(self, warehouse, run_key: str, shard: int, flush_every_s: float = 2.0) -> None:
        self._wh, self._run_key, self._shard, self._every = warehouse, run_key, shard, flush_every_s
        self._q: queue.Queue[dict | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=f"staging-{shard}", daemon=True)

    def __enter__(self) -> _StagingWriter:
        self._thread.start()
        return self

    def put(self, result: CallResult) -> None:
        self._q.put(result.to_dict())

    def _loop(self) -> None:
        done = False
        while not done:
            batch: list[dict] = []
            try:
                item = self._q.get(timeout=self._every)
                while True:
                    if item is None:
                        done = True
                        break
                    batch.append(item)
                    item = self._q.get_nowait()
            except queue.Empty:
                pass
            if batch and self._error is None:
                try:
                    self._wh.write_staging(self._run_key, self._shard, batch)
                except BaseException as exc:  # surfaced in __exit__; the thread must not die silently
                    self._error = exc

    def __exit__(self, *exc_info) -> None:
        self._q.put(None)
        self._thread.join()
        if self._error is not None and exc_info[0] is None:
            raise self._error


def run_shard(
    settings: Settings,
    warehouse,
    run_key: str,
    shard: int,
    n_shards: int,
    *,
    secrets: SecretResolver,
    emit: Callable[[str], None] | None = None,
    tty: bool = False,
) -> dict[str, Any]:
    """Call the endpoint for one shard's examples and stage the raw results; resumes where a killed try stopped."""
    from llmmon.endpoints import EndpointClient, probe_endpoint
    from llmmon.prices import PriceTable

    run = _run_row(warehouse, run_key)
    if run["status"] == "success":  # only this task was cleared: the run is scored, its results stand
        log.info("eval run %s is already scored; clear the whole DAG run to evaluate again", run_key)
        return {"shard": shard, "requests": 0, "resumed": 0, "errors": 0, "skipped": "already scored"}
    suite = _suite_for_run(settings, run)
    requests = shard_requests(_requests_for(suite, run), shard, n_shards)
    staged = warehouse.staged_keys(run_key)
    todo = [r for r in requests if r.key not in staged]
    endpoint = settings.endpoint(run["endpoint"]).model_copy(update={"model": run["model"]})
    api_key = secrets(endpoint.api_key) if endpoint.api_key else None
    summary = {"shard": shard, "requests": len(requests), "resumed": len(requests) - len(todo), "errors": 0}
    if not todo:
        return summary
    probe_endpoint(endpoint, api_key=api_key)

    progress = Progress(
        len(todo), f"examples (shard {shard + 1}/{n_shards})", interval_s=settings.eval.progress_interval_s,
        emit=emit or log.info, tty=tty,
    )
    import asyncio

    async def go():
        async with EndpointClient(endpoint, api_key=api_key, prices=PriceTable(settings.prices)) as client:
            return await client.complete_many(todo, on_result=on_result)

    with _StagingWriter(warehouse, run_key, shard) as writer:
        def on_result(result: CallResult) -> None:
            writer.put(result)
            progress.advance(error=not result.ok)

        outcome = asyncio.run(go())
    progress.finish()
    stats = outcome.stats
    summary.update(
        errors=sum(1 for r in outcome.results if not r.ok),
        wall_s=round(stats.wall_s, 3), cpu_ms_per_request=round(stats.cpu_ms_per_request, 3),
        loop_lag_p95_ms=round(stats.loop_lag_p95_ms, 3), saturated=bool(stats.saturated),
    )
    if stats.saturated:
        log.warning(
            "shard %s: the client's event loop lagged (p95 %.1f ms, max %.1f ms): timings of %.0f%% of calls are "
            "flagged timing_suspect and left out of TTFT/latency percentiles; lower max_concurrency or add shards",
            shard, stats.loop_lag_p95_ms, stats.loop_lag_max_ms, 100 * stats.timing_suspect_share,
        )
    return summary


def _summary(dimension: str, value: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    clean = [r for r in rows if not r["timing_suspect"]] or rows  # our own overload is not the model's latency
    n = len(rows)
    n_passed = sum(1 for r in rows if r["passed"])
    return {
        "dimension": dimension, "value": value, "n": n, "n_passed": n_passed,
        "n_errors": sum(1 for r in rows if r["error_type"]),
        "pass_rate": n_passed / n if n else None,
        "mean_score": mean(r["score"] for r in rows),
        "ttft_p50_s": percentile((r["ttft_s"] for r in clean), 50),
        "ttft_p95_s": percentile((r["ttft_s"] for r in clean), 95),
        "latency_p95_s": percentile((r["latency_s"] for r in clean), 95),
        "cost_usd": sum(r["cost_usd"] or 0.0 for r in rows),
    }


def score_results(suite: GoldenSuite, calls: Iterable[CallResult]) -> list[dict[str, Any]]:
    """One ``eval_results`` row per call: the call's measurements plus its score against the golden reference."""
    from llmmon.scoring import score_case

    cases = {c.id: c for c in suite.cases}
    rows = []
    for call in calls:
        example_id, trial = parse_request_key(call.key)
        case = cases[example_id]
        scored = score_case(suite, case, call.output if call.ok else None)
        rows.append(
            {
                "example_id": example_id, "trial": trial, "intent": case.intent, "task_type": case.task_type,
                "scorer": scored.scorer, "score": float(scored.score), "passed": bool(scored.passed),
                "score_details": scored.details, "output": call.output, "expected": expected_text(case),
                "error_type": call.error_type, "error": call.error, "ttft_s": call.ttft_s,
                "latency_s": call.latency_s, "input_tokens": call.input_tokens, "output_tokens": call.output_tokens,
                "cost_usd": call.cost_usd, "finish_reason": call.finish_reason, "request_model": call.request_model,
                "response_model": call.response_model, "attempts": call.attempts,
                "timing_suspect": bool(call.timing_suspect),
                "started_at": dt.datetime.fromtimestamp(call.started_at, dt.UTC) if call.started_at else None,
                "_loop_lag_max_ms": call.loop_lag_max_ms,
            }
        )
    return rows


def score_run(settings: Settings, warehouse, run_key: str) -> dict[str, Any]:
    """Score every staged call, then write results, summaries and run totals in one transaction."""
    run = _run_row(warehouse, run_key)
    if run["status"] == "success" and not warehouse.staged_keys(run_key):
        log.info("eval run %s is already scored", run_key)
        return {k: run[k] for k in ("n_calls", "n_errors", "n_passed", "pass_rate")}
    suite = _suite_for_run(settings, run)
    expected = {r.key for r in _requests_for(suite, run)}
    staged = [CallResult.from_dict(p.get("payload", p)) for p in warehouse.read_staging(run_key)]
    calls = [c for c in staged if c.key in expected]
    missing = expected - {c.key for c in calls}
    if missing:
        raise LlmmonError(
            f"eval run {run_key}: {len(missing)} of {len(expected)} calls have no result (e.g. {sorted(missing)[:3]}); "
            "a shard did not finish — clear the failed shard to resume it"
        )
    rows = score_results(suite, calls)
    lags = [r.pop("_loop_lag_max_ms") for r in rows]
    summaries = [_summary("overall", "all", rows)]
    for dim in ("intent", "task_type"):
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            groups[r[dim]].append(r)
        summaries += [_summary(dim, k, v) for k, v in sorted(groups.items())]
    overall = summaries[0]
    clean = [r for r in rows if not r["timing_suspect"]] or rows
    run_update = {
        "n_calls": len(rows), "n_errors": overall["n_errors"], "n_passed": overall["n_passed"],
        "pass_rate": overall["pass_rate"], "mean_score": overall["mean_score"],
        "ttft_p50_s": overall["ttft_p50_s"], "ttft_p95_s": overall["ttft_p95_s"],
        "latency_p50_s": percentile((r["latency_s"] for r in clean), 50),
        "latency_p95_s": overall["latency_p95_s"],
        "latency_p99_s": percentile((r["latency_s"] for r in clean), 99),
        "input_tokens": sum(r["input_tokens"] or 0 for r in rows),
        "output_tokens": sum(r["output_tokens"] or 0 for r in rows),
        "cost_usd": overall["cost_usd"],
        "loop_lag_p95_ms": percentile(lags, 95),
        "timing_suspect_share": sum(1 for r in rows if r["timing_suspect"]) / len(rows) if rows else 0.0,
        "finished_at": _utcnow(),
    }
    warehouse.write_eval_results(run_key, rows, summaries, run_update)
    return {k: run_update[k] for k in ("n_calls", "n_errors", "n_passed", "pass_rate")}


def find_baseline(warehouse, run: dict[str, Any], *, limit: int = 1) -> list[dict[str, Any]]:
    """The runs the baseline pools: the last ``limit`` successful runs of the same suite version on the previously
    deployed model version, most recent first (fewer when fewer exist; empty when none).

    "Previously deployed" comes from ``deployments``; when the endpoint has no recorded deployment before this run,
    or the previous deployment was never evaluated (e.g. a provider-side model change detected in traffic, whose
    "version" is a fingerprint), the runs of the model version of the most recent successful run on another version
    stand in (one version, never a mix).
    """
    before = run["started_at"]
    prev = warehouse.previous_deployment(run["endpoint"], run["model_version"], before)
    if prev is not None:
        runs = warehouse.find_baseline_runs(run["suite_version"], run["endpoint"], prev["model_version"], before,
                                            limit=limit)
        if runs:
            return runs
    return warehouse.find_latest_other_version_runs(
        run["suite_version"], run["endpoint"], run["model_version"], before, limit=limit
    )


def compare_with_baseline(settings: Settings, warehouse, run_key: str) -> Verdict:
    """Decide regression / improvement / no change / inconclusive / no baseline, and store the verdict.

    The baseline pools up to ``thresholds.baseline_runs`` runs (:func:`find_baseline`); ``eval_runs.baseline_run_key``
    keeps the most recent of them, the stored verdict lists them all (``baseline_run_keys``).
    """
    from llmmon.verdicts import pool_baseline

    run = _run_row(warehouse, run_key)
    if run["status"] != "success":
        raise LlmmonError(f"eval run {run_key} is {run['status']!r}; only a scored run can be compared")
    baselines = find_baseline(warehouse, run, limit=settings.thresholds.baseline_runs)
    keys = [b["run_key"] for b in baselines]
    verdict = compare_runs(
        warehouse.eval_results(run_key),
        pool_baseline([warehouse.eval_results(k) for k in keys]),
        settings.thresholds,
        baseline_run_keys=keys,
    )
    warehouse.set_verdict(run_key, verdict.baseline_run_key, verdict.verdict, verdict.to_dict())
    return verdict
