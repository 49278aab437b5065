"""``rag_eval``, step by step: resolve the run → validate the suite → start → retrieve and score → compare → alert.

Each step is a plain function over a warehouse and a run key, so the DAG (``dags/rag_eval.py``) and ``llmmon
retrieval eval`` wire the same code. The retrieve-and-score step writes everything of the run (per-query
retrievals, per-query metric values, means, totals) in one transaction after all queries are answered: a killed run
leaves nothing half-written, and a retry replaces the run's rows.

Failures are per query (timeout, HTTP error, malformed answer: recorded in ``retrieval_queries``, left out of the
metrics). Past ``retrieval.error_budget`` of the queries the run fails: its per-query rows are written so the
failures can be read, it gets no metrics and no verdict, and :class:`RetrievalRunError` is raised.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmmon.errors import ConfigError, LlmmonError, RunConfError

log = logging.getLogger("llmmon.retrieval")

STAGES = ("deploy", "daily", "manual")
CONF_KEYS = ("retriever", "index_version", "deploy_id", "stage", "suite", "baseline_index_version", "judge")
# The deploy hook's conf keys (llmmon.deploy_hook.build_conf), read as their retrieval meaning.
CONF_ALIASES = {"endpoint": "retriever", "model_version": "index_version"}


class RetrievalRunError(LlmmonError):
    """A retrieval run wrote its per-query rows but more queries failed than its error budget allows."""


@dataclass(frozen=True)
class RagRunSpec:
    """What one run evaluates; stored as its ``retrieval_runs`` row."""

    run_key: str
    dag_id: str
    dag_run_id: str
    retriever: str
    index_version: str
    suite: str
    stage: str
    deploy_id: str | None
    baseline_index_version: str | None
    judge: bool


def run_key_for(dag_id: str, dag_run_id: str) -> str:
    """The warehouse key of a DAG run (deterministic: a retried or cleared run reuses it)."""
    return f"{dag_id}/{dag_run_id}"


def _str_conf(conf: dict[str, Any], key: str) -> str | None:
    value = conf.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > 200):
        raise RunConfError(f"run conf '{key}': {value!r} must be a non-empty string of at most 200 characters")
    return value


def resolve_run_spec(settings: Any, conf: dict[str, Any] | None, *, dag_id: str, dag_run_id: str,
                     warehouse: Any = None) -> RagRunSpec:
    """Validate the run conf against the configuration and fill what it leaves out (RunConfError naming the key).

    The deploy hook's keys are accepted: ``endpoint`` means ``retriever`` and ``model_version`` ``index_version``.

    The index version under test is, in order: the conf's ``index_version``; the version of the retriever's latest
    deploy run (a scheduled run evaluates what is deployed now); the retriever's configured ``index_version``.
    """
    conf = {k: v for k, v in (conf or {}).items() if v is not None and v != ""}
    for alias, key in CONF_ALIASES.items():
        if alias in conf:
            if key in conf and conf[key] != conf[alias]:
                raise RunConfError(f"run conf: '{alias}' ({conf[alias]!r}) and '{key}' ({conf[key]!r}) disagree; "
                                   f"give one of them")
            conf[key] = conf.pop(alias)
    unknown = sorted(set(conf) - set(CONF_KEYS))
    if unknown:
        raise RunConfError(f"run conf: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(CONF_KEYS)}")
    for key in ("retriever", "index_version", "deploy_id", "stage", "suite", "baseline_index_version"):
        _str_conf(conf, key)
    try:
        retriever = settings.retrieval.retriever(conf.get("retriever"))
    except ValueError as exc:
        raise RunConfError(f"run conf 'retriever': {exc}") from None
    stage = conf.get("stage") or ("deploy" if conf.get("deploy_id") else "daily")
    if stage not in STAGES:
        raise RunConfError(f"run conf 'stage': {stage!r} is not one of {', '.join(STAGES)}")
    judge = conf.get("judge", settings.retrieval.context_relevance.enabled)
    if not isinstance(judge, bool):
        raise RunConfError(f"run conf 'judge': {judge!r} must be true or false")
    version = conf.get("index_version")
    if version is None and warehouse is not None:
        from llmmon.warehouse import retrieval_store

        deployed = retrieval_store.latest_deploy(warehouse, retriever.name)
        version = deployed["index_version"] if deployed else None
    return RagRunSpec(
        run_key=run_key_for(dag_id, dag_run_id), dag_id=dag_id, dag_run_id=dag_run_id, retriever=retriever.name,
        index_version=version or retriever.index_version, suite=conf.get("suite") or
        settings.retrieval.suite, stage=stage, deploy_id=conf.get("deploy_id"),
        baseline_index_version=conf.get("baseline_index_version"), judge=judge,
    )


def load_suite(settings: Any, name: str):
    """Load and validate the golden retrieval suite (GoldenSetError listing every problem)."""
    from llmmon.retrieval.suite import load_retrieval_suite

    return load_retrieval_suite(name, settings.golden_sets_dir)


def start_run(settings: Any, warehouse: Any, spec: RagRunSpec, suite: Any) -> dict[str, Any]:
    """Record the run as running (a retry resets it)."""
    from llmmon.retrieval.retriever import retriever_url
    from llmmon.warehouse import retrieval_store

    cfg, _, _ = retriever_url(settings, spec.retriever)  # an unknown endpoint fails here, before any work
    if cfg.top_k < max(settings.retrieval.ks):
        raise ConfigError(f"retrieval.retrievers.{cfg.name}.top_k={cfg.top_k} is below the largest metric cutoff "
                          f"{max(settings.retrieval.ks)} (retrieval.ks)")
    return retrieval_store.start_run(warehouse, {
        "run_key": spec.run_key, "dag_id": spec.dag_id, "dag_run_id": spec.dag_run_id, "retriever": spec.retriever,
        "index_version": spec.index_version, "suite": suite.name, "suite_version": suite.version, "stage": spec.stage,
        "deploy_id": spec.deploy_id, "top_k": cfg.top_k, "n_queries": len(suite.queries),
        "verdict_details": {"conf": {"baseline_index_version": spec.baseline_index_version, "judge": spec.judge}},
    })


def _run_row(warehouse: Any, run_key: str) -> dict[str, Any]:
    from llmmon.warehouse import retrieval_store

    row = retrieval_store.get_run(warehouse, run_key)
    if row is None:
        raise LlmmonError(f"retrieval run {run_key!r} is not in the warehouse (did the start step run?)")
    return row


def make_retriever(settings: Any, run: dict[str, Any], *, secrets: Any = None):
    """The HTTP retriever of a run (its configured retriever at the run's index version)."""
    from llmmon.config import env_secret_resolver
    from llmmon.retrieval.retriever import HttpRetriever, retriever_url

    cfg, url, key_ref = retriever_url(settings, run["retriever"])
    api_key = (secrets or env_secret_resolver())(key_ref) if key_ref is not None else None
    return HttpRetriever(url, index_version=run["index_version"], timeout_s=cfg.timeout_s,
                         max_concurrency=cfg.max_concurrency, max_retries=cfg.max_retries, api_key=api_key)


def score_outcomes(settings: Any, suite: Any, outcomes: list[Any]) -> tuple[list[dict], list[dict], list[dict]]:
    """(retrieval_queries rows, retrieval_results rows, retrieval_summaries rows) of the answered queries."""
    from llmmon.retrieval.metrics import evaluate

    names = settings.retrieval.metric_names
    by_id = {q.id: q for q in suite.queries}
    ok = [o for o in outcomes if o.ok]
    table = evaluate({o.query_id: [d.doc_id for d in o.docs] for o in ok}, suite.qrels, names)
    query_rows = []
    for o in outcomes:
        q = by_id[o.query_id]
        seen: set[str] = set()
        grades = []
        for d in o.docs:  # the grade each rank earned: a repeated id earns nothing (metrics.py)
            grades.append(0 if d.doc_id in seen else q.judgements.get(d.doc_id, 0))
            seen.add(d.doc_id)
        query_rows.append({
            "query_id": q.id, "intent": q.intent, "status": "ok" if o.ok else "error", "error_type": o.error_type,
            "error": o.error, "latency_s": o.latency_s, "n_returned": len(o.docs) if o.ok else None,
            "n_relevant": sum(1 for g in q.judgements.values() if g >= 1),
            "doc_ids": [d.doc_id for d in o.docs] if o.ok else None,
            "scores": [d.score for d in o.docs] if o.ok else None, "grades": grades if o.ok else None,
        })
    result_rows = []
    per_query = table.per_query()
    for qid, values in per_query.items():
        for metric, value in values.items():
            result_rows.append({"query_id": qid, "metric": metric, "intent": by_id[qid].intent, "value": value})
    return query_rows, result_rows, summarise(result_rows)


def summarise(result_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Means per metric overall and per intent (undefined values left out)."""
    groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in result_rows:
        for dim, val in (("overall", "all"), ("intent", r["intent"])):
            groups[(dim, val, r["metric"])]
            if r["value"] is not None:
                groups[(dim, val, r["metric"])].append(float(r["value"]))
    return [{"dimension": d, "value": v, "metric": m, "n": len(xs), "mean": float(np.mean(xs)) if xs else None}
            for (d, v, m), xs in sorted(groups.items())]


def _relevance(settings: Any, suite: Any, outcomes: list[Any], *, secrets: Any) -> tuple[dict, Any]:
    """Judge ratings of the top chunks of each answered query: {(query_id, rank): (score, relevance)}."""
    from llmmon.retrieval.relevance import Chunk, judge_chunks

    n = settings.retrieval.context_relevance.chunks_per_query
    by_id = {q.id: q for q in suite.queries}
    chunks = []
    # rank-major order: under a tight budget every query gets its top chunk rated before any gets its second
    for rank in range(n):
        for o in outcomes:
            if o.ok and rank < len(o.docs) and o.docs[rank].text:
                chunks.append(Chunk(f"{o.query_id}#{rank + 1}", by_id[o.query_id].query, o.docs[rank].text))
    if not chunks:
        return {}, None
    report = judge_chunks(settings, chunks, secrets=secrets)
    out = {}
    for key, score in report.scores.items():
        qid, _, rank = key.rpartition("#")
        out[(qid, int(rank))] = (score, report.relevance[key])
    return out, report


def retrieve_and_score(settings: Any, warehouse: Any, run_key: str, *, secrets: Any = None,
                       retriever: Any = None) -> dict[str, Any]:
    """Send every query to the retriever, rate chunks with the judge, compute the metrics, write the run."""
    from llmmon.judge.calls import run_sync
    from llmmon.warehouse import retrieval_store

    run = _run_row(warehouse, run_key)
    suite = load_suite(settings, run["suite"])
    if suite.version != run["suite_version"]:
        raise LlmmonError(f"retrieval suite {suite.name}: its content changed during run {run_key} (version "
                          f"{run['suite_version']} at start, {suite.version} now); run the evaluation again")
    retriever = retriever or make_retriever(settings, run, secrets=secrets)
    t0 = time.perf_counter()
    queries = [(q.id, q.query) for q in suite.queries]
    outcomes = run_sync(lambda: retriever.retrieve_many(queries, run["top_k"]))
    retrieve_s = time.perf_counter() - t0
    n_failed = sum(1 for o in outcomes if not o.ok)
    share = n_failed / len(outcomes) if outcomes else 0.0
    query_rows, result_rows, summaries = score_outcomes(settings, suite, outcomes)
    budget = settings.retrieval.error_budget
    if share > budget:
        by_type: dict[str, int] = defaultdict(int)
        for o in outcomes:
            if not o.ok:
                by_type[o.error_type] += 1
        error = (f"{n_failed} of {len(outcomes)} queries failed ({share:.1%}, above the error budget of {budget:.1%}): "
                 + ", ".join(f"{n} {t}" for t, n in sorted(by_type.items())))
        retrieval_store.write_run_results(warehouse, run_key, queries=query_rows, results=[], summaries=[],
                                          run_update={"status": "failed", "error": error, "n_failed": n_failed,
                                                      "error_share": share, "finished_at": dt.datetime.now(dt.UTC)})
        raise RetrievalRunError(f"retrieval run {run_key}: {error} (per-query rows are written: retrieval_queries)")

    details = dict(run.get("verdict_details") or {})
    judge_on = (details.get("conf") or {}).get("judge", settings.retrieval.context_relevance.enabled)
    n_judged, mean_rel, report = 0, None, None
    if judge_on:
        ratings, report = _relevance(settings, suite, outcomes, secrets=secrets)
        n = settings.retrieval.context_relevance.chunks_per_query
        name = f"context_relevance@{n}"
        by_query: dict[str, list[float]] = defaultdict(list)
        for (qid, _rank), (_score, rel) in sorted(ratings.items()):
            by_query[qid].append(rel)
        for row in query_rows:
            if row["status"] == "ok":
                row["relevance"] = [ratings.get((row["query_id"], r + 1), (None,))[0]
                                    for r in range(min(n, row["n_returned"] or 0))]
        intents = {row["query_id"]: row["intent"] for row in query_rows}
        rel_rows = [{"query_id": q, "metric": name, "intent": intents[q], "value": float(np.mean(v))}
                    for q, v in sorted(by_query.items())]
        result_rows += rel_rows
        summaries += summarise(rel_rows)
        n_judged = len(ratings)
        mean_rel = float(np.mean([rel for _, rel in ratings.values()])) if ratings else None
    retrieval_store.write_run_results(warehouse, run_key, queries=query_rows, results=result_rows, summaries=summaries,
                                      # a re-scored run is compared again (compare runs next): no stale verdict
                                      run_update={"status": "success", "error": None, "n_failed": n_failed,
                                                  "verdict": None, "verdict_reason": None, "baseline_run_key": None,
                                                  "error_share": share, "n_judged": n_judged,
                                                  "context_relevance": mean_rel,
                                                  "finished_at": dt.datetime.now(dt.UTC)})
    overall = {s["metric"]: s["mean"] for s in summaries if s["dimension"] == "overall"}
    return {"run_key": run_key, "n_queries": len(outcomes), "n_failed": n_failed, "retrieve_s": round(retrieve_s, 3),
            "n_judged": n_judged, "judge_errors": len(report.errors) if report else 0,
            "judge_budget_cut": report.budget_cut if report else 0, "means": overall}
