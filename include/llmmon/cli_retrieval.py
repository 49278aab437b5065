"""``llmmon retrieval ...``: RAG retrieval quality from the command line (wired into ``llmmon.cli`` by ``register``).

``eval`` runs one evaluation without Airflow (the same steps as the ``rag_eval`` DAG), ``runs`` lists the latest
runs, ``metrics`` scores a run file offline against a suite's judgements, ``validate`` checks a suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path


def _settings(args: argparse.Namespace):
    from llmmon.config import load_settings

    return load_settings(getattr(args, "config", None))


def cmd_eval(args: argparse.Namespace) -> int:
    from llmmon.retrieval.compare import compare_with_baseline
    from llmmon.retrieval.run import load_suite, resolve_run_spec, retrieve_and_score, start_run
    from llmmon.warehouse import Warehouse

    settings = _settings(args)
    wh = Warehouse(settings.warehouse.url)
    wh.upgrade()
    conf = {"retriever": args.retriever, "index_version": args.index_version, "deploy_id": args.deploy_id,
            "stage": args.stage or "manual", "suite": args.suite, "baseline_index_version": args.baseline,
            "judge": False if args.no_judge else None}
    run_id = f"manual__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"
    spec = resolve_run_spec(settings, conf, dag_id="cli", dag_run_id=run_id, warehouse=wh)
    suite = load_suite(settings, spec.suite)
    start_run(settings, wh, spec, suite)
    summary = retrieve_and_score(settings, wh, spec.run_key)
    verdict = compare_with_baseline(settings, wh, spec.run_key)
    if args.json:
        print(json.dumps({**summary, "verdict": verdict.to_dict()}, default=str))
        return 0
    means = summary["means"]
    print(f"run {spec.run_key}: retriever {spec.retriever} index {spec.index_version} on {suite.name}@{suite.version}")
    print(f"  {summary['n_queries']} queries, {summary['n_failed']} failed, {summary['n_judged']} chunks rated")
    print("  " + "  ".join(f"{m} {v:.3f}" for m, v in sorted(means.items()) if v is not None))
    print(f"  verdict {verdict.verdict}: {verdict.reason}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from llmmon.warehouse import Warehouse, retrieval_store

    settings = _settings(args)
    wh = Warehouse(settings.warehouse.url)
    wh.upgrade()
    for run in retrieval_store.list_runs(wh, retriever=args.retriever, limit=args.limit):
        means = {s["metric"]: s["mean"] for s in retrieval_store.run_summaries(wh, run["run_key"])
                 if s["dimension"] == "overall"}
        recall = means.get(args.metric)
        shown = f"{recall:.3f}" if recall is not None else "-"
        print(f"{run['started_at']:%Y-%m-%d %H:%M} {run['retriever']} {run['index_version']} {run['stage']} "
              f"{run['status']} {args.metric} {shown} verdict {run['verdict'] or '-'}  {run['run_key']}")
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from llmmon.retrieval.metrics import RetrievalInputError, evaluate
    from llmmon.retrieval.suite import load_retrieval_suite

    settings = _settings(args)
    suite = load_retrieval_suite(args.suite or settings.retrieval.suite, settings.golden_sets_dir)
    try:
        run = json.loads(Path(args.run_file).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RetrievalInputError(f"{args.run_file}: cannot read a JSON run: {exc}") from None
    if not isinstance(run, dict) or not all(isinstance(v, list) and all(isinstance(d, str) for d in v)
                                            for v in run.values()):
        raise RetrievalInputError(f"{args.run_file}: expected a JSON object of query id -> list of document ids")
    names = [m.strip() for m in args.metrics.split(",")] if args.metrics else settings.retrieval.metric_names
    table = evaluate(run, suite.qrels, names)
    out = {m: table.mean(m) for m in names}
    if args.per_query:
        print(json.dumps(table.per_query(), indent=1))
    print(json.dumps(out, indent=1) if args.json else "\n".join(
        f"{m:14} {v:.4f}" if v is not None else f"{m:14} -" for m, v in out.items()))
    return 0


def cmd_context(args: argparse.Namespace) -> int:
    from llmmon.config import parse_aware_time
    from llmmon.retrieval.traffic import judge_traffic
    from llmmon.warehouse import Warehouse

    settings = _settings(args)
    wh = Warehouse(settings.warehouse.url)
    wh.upgrade()
    start, end = parse_aware_time(args.start, "--start"), parse_aware_time(args.end, "--end")
    windows = judge_traffic(settings, wh, start, end)
    for w in windows:
        mean = "-" if w["mean_relevance"] is None else f"{w['mean_relevance']:.3f}"
        print(f"{w['window_start']}: {w['rag_spans']} RAG spans, {w['sampled']} sampled, {w['rated']} chunks rated "
              f"({w['errors']} judge errors, {w['budget_cut']} cut by the budget), mean relevance {mean}")
    if not windows:
        print("no RAG spans (llm_spans with retrieved_doc_ids) in the interval")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from llmmon.retrieval.suite import load_retrieval_suite

    settings = _settings(args)
    suite = load_retrieval_suite(args.suite or settings.retrieval.suite, settings.golden_sets_dir)
    print(f"{suite.name}@{suite.version}: {len(suite.queries)} queries, {len(suite.corpus)} documents, "
          f"{len(suite.intents)} intents: valid")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``retrieval`` and its subcommands to the ``llmmon`` parser."""
    p = sub.add_parser("retrieval", help="RAG retrieval quality: evaluate retrievers, list runs, score run files",
                       description="See docs/retrieval.md.")
    rs = p.add_subparsers(dest="retrieval_command", required=True)

    e = rs.add_parser("eval", help="evaluate a retriever on the golden retrieval suite (no Airflow)")
    e.add_argument("--retriever", help="retriever name (default: retrieval.default_retriever or the first)")
    e.add_argument("--index-version", help="index version under test (default: the last deployed)")
    e.add_argument("--deploy-id")
    e.add_argument("--stage", choices=["deploy", "daily", "manual"])
    e.add_argument("--suite", help="golden retrieval suite (default: retrieval.suite)")
    e.add_argument("--baseline", help="compare with this index version (default: the previous one)")
    e.add_argument("--no-judge", action="store_true", help="skip the context-relevance judge")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_eval)

    r = rs.add_parser("runs", help="the latest retrieval runs")
    r.add_argument("--retriever")
    r.add_argument("--metric", default="recall@10")
    r.add_argument("--limit", type=int, default=20)
    r.set_defaults(func=cmd_runs)

    m = rs.add_parser("metrics", help="score a run file ({query id: [doc ids]}) against a suite's judgements")
    m.add_argument("run_file")
    m.add_argument("--suite", help="golden retrieval suite (default: retrieval.suite)")
    m.add_argument("--metrics", help="comma-separated, e.g. recall@10,ndcg@10 (default: all)")
    m.add_argument("--per-query", action="store_true")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_metrics)

    c = rs.add_parser("context", help="judge the context relevance of production RAG spans, hour by hour")
    c.add_argument("--start", required=True, help="ISO time with zone; whole hours from here")
    c.add_argument("--end", required=True, help="ISO time with zone (exclusive)")
    c.set_defaults(func=cmd_context)

    v = rs.add_parser("validate", help="validate a golden retrieval suite")
    v.add_argument("suite", nargs="?")
    v.set_defaults(func=cmd_validate)

