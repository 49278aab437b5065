"""The ``llmmon`` command line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys

from llmmon.errors import LlmmonError


def _settings(args):
    from llmmon.config import load_settings

    return load_settings(getattr(args, "config", None))


def _warehouse(settings):
    from llmmon.warehouse import Warehouse

    return Warehouse(settings.warehouse.url)


def cmd_demo_server(args) -> int:
    from llmmon.demo.server import DemoServerConfig, run

    kwargs = {"host": args.host, "port": args.port, "seed": args.seed}
    if args.golden_sets_dir:
        kwargs["golden_sets_dir"] = args.golden_sets_dir
    else:
        kwargs["golden_sets_dir"] = _settings(args).golden_sets_dir
    run(DemoServerConfig(**kwargs))
    return 0


def cmd_warehouse_upgrade(args) -> int:
    settings = _settings(args)
    wh = _warehouse(settings)
    wh.upgrade()
    print(f"warehouse {settings.warehouse.url} is at the latest schema")
    return 0


def cmd_validate(args) -> int:
    from llmmon.golden_eval import load_and_validate

    settings = _settings(args)
    suite = load_and_validate(settings, args.suite or settings.default_suite)
    print(f"golden set {suite.name} version {suite.version}: {len(suite.cases)} cases valid ({suite.cases_path})")
    return 0


def cmd_eval(args) -> int:
    from llmmon import golden_eval as ge
    from llmmon.config import env_secret_resolver
    from llmmon.report import format_run_report, run_report

    settings = _settings(args)
    wh = _warehouse(settings)
    wh.upgrade()
    conf = {k: getattr(args, k) for k in ge.CONF_KEYS if getattr(args, k, None) is not None}
    run_id = args.run_id or f"manual__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"
    spec = ge.resolve_run_spec(settings, conf, dag_id="cli", dag_run_id=run_id, warehouse=wh)
    try:
        suite = ge.load_and_validate(settings, spec.suite)
        shards = ge.prepare_run(settings, wh, spec, suite)
        secrets = env_secret_resolver()
        tty = sys.stderr.isatty()
        for shard in shards:
            ge.run_shard(settings, wh, spec.run_key, shard, len(shards), secrets=secrets, tty=tty,
                         emit=lambda line: print(line, file=sys.stderr, end="" if tty else "\n", flush=True))
        ge.score_run(settings, wh, spec.run_key)
    except LlmmonError as exc:
        wh.fail_eval_run(spec.run_key, f"{type(exc).__name__}: {exc}", dag_id="cli", dag_run_id=run_id)
        raise
    ge.compare_with_baseline(settings, wh, spec.run_key)
    ge.evaluate_alerts(settings, wh, secrets=env_secret_resolver())
    print(format_run_report(run_report(wh, spec.run_key)))
    return 0


def cmd_report(args) -> int:
    from llmmon.report import format_example_queries, format_run_report, run_report

    settings = _settings(args)
    wh = _warehouse(settings)
    keys = args.run_keys or [r["run_key"] for r in wh.latest_eval_runs(limit=args.latest)]
    if not keys:
        print("no eval runs in the warehouse yet", file=sys.stderr)
        return 1
    for key in keys:
        report = run_report(wh, key)
        if args.json:
            print(json.dumps(report, default=str))
        else:
            print(format_run_report(report) + "\n")
    if not args.json:
        print(format_example_queries(settings.warehouse.url))
    return 0


def cmd_alerts_evaluate(args) -> int:
    from llmmon.config import env_secret_resolver
    from llmmon.golden_eval import evaluate_alerts

    settings = _settings(args)
    wh = _warehouse(settings)
    wh.upgrade()
    report = evaluate_alerts(settings, wh, secrets=env_secret_resolver())
    print(report.summary())
    return 1 if report.failed_deliveries else 0


def cmd_alerts_list(args) -> int:
    from llmmon.alerts.engine import open_alerts

    rows = open_alerts(_warehouse(_settings(args)))
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    if not rows:
        print("no open alerts")
    for a in rows:
        labels = ", ".join(f"{k}={v}" for k, v in sorted((a.get("labels") or {}).items()))
        print(f"{a['state']:<8} [{a['severity']}] {a['rule']} ({labels}) value={a['value']} "
              f"since {a['started_at']}  id={a['alert_id']}")
    return 0


def cmd_deploy_hook(args) -> int:
    from llmmon.deploy_hook import DeployRequest, trigger_golden_eval

    req = DeployRequest(
        endpoint=args.endpoint, model_version=args.model_version, deploy_id=args.deploy_id, stage=args.stage,
        model=args.model, suite=args.suite,
    )
    result = trigger_golden_eval(args.airflow_url, req, unpause=args.unpause, dag_id=args.dag_id)
    print(json.dumps({"dag_run_id": result.dag_run_id, "status": result.status, "url": result.dag_run_url,
                      "paused": result.paused}))
    if result.paused:
        print(f"warning: the {args.dag_id} DAG is paused; the run waits until it is unpaused (or pass --unpause)",
              file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    from llmmon.demo.runner import run_demo

    return run_demo(keep_home=args.keep)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="llmmon", description="Airflow-native, warehouse-first LLM monitoring")
    p.add_argument("--config", help="configuration file (default: $LLMMON_CONFIG, else the embedded defaults)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("demo-server", help="run the OpenAI-compatible demo model server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--golden-sets-dir", help="where the golden sets it answers live (default: from config)")
    s.set_defaults(func=cmd_demo_server)

    w = sub.add_parser("warehouse", help="warehouse schema management")
    wsub = w.add_subparsers(dest="warehouse_command", required=True)
    wu = wsub.add_parser("upgrade", help="create or migrate the warehouse tables (Alembic)")
    wu.set_defaults(func=cmd_warehouse_upgrade)

    v = sub.add_parser("validate-golden-set", help="validate a golden set with Great Expectations")
    v.add_argument("suite", nargs="?")
    v.set_defaults(func=cmd_validate)

    e = sub.add_parser("eval", help="run a golden-set eval here, without Airflow (same steps as the DAG)")
    for name in ("endpoint", "model", "model-version", "deploy-id", "suite"):
        e.add_argument(f"--{name}")
    e.add_argument("--stage", choices=["daily", "deploy", "canary", "shadow", "manual"])
    e.add_argument("--trials", type=int)
    e.add_argument("--max-examples", type=int)
    e.add_argument("--shards", type=int, default=1)
    e.add_argument("--run-id", help="run id (default: manual__<timestamp>); reuse one to resume")
    e.set_defaults(func=cmd_eval)

    r = sub.add_parser("report", help="print eval run summaries from the warehouse")
    r.add_argument("run_keys", nargs="*")
    r.add_argument("--latest", type=int, default=2, help="how many latest runs when no key is given")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_report)

    al = sub.add_parser("alerts", help="alert rules: evaluate now, list open alerts")
    alsub = al.add_subparsers(dest="alerts_command", required=True)
    ae = alsub.add_parser("evaluate", help="evaluate every rule and deliver (exit 1 if a delivery failed)")
    ae.set_defaults(func=cmd_alerts_evaluate)
    alist = alsub.add_parser("list", help="pending and firing alerts")
    alist.add_argument("--json", action="store_true")
    alist.set_defaults(func=cmd_alerts_list)

    d = sub.add_parser("deploy-hook", help="trigger golden_eval for a deploy through Airflow's REST API")
    d.add_argument("--airflow-url", default=None, help="default: $AIRFLOW_API_URL")
    d.add_argument("--endpoint", required=True)
    d.add_argument("--model-version", required=True)
    d.add_argument("--deploy-id", required=True)
    d.add_argument("--stage", default="deploy", choices=["deploy", "canary", "shadow", "manual"])
    d.add_argument("--model")
    d.add_argument("--suite")
    d.add_argument("--unpause", action="store_true", help="unpause the DAG if it is paused")
    d.add_argument("--dag-id", default="golden_eval",
                   help="DAG to trigger: golden_eval (a model or prompt ships) or rag_eval (an index ships; "
                        "--endpoint names the retriever, --model-version the index version)")
    d.set_defaults(func=cmd_deploy_hook)

    from llmmon.cli_traffic import register as register_traffic

    register_traffic(sub)
    from llmmon.cli_drift import register as register_drift
    from llmmon.cli_retrieval import register as register_retrieval
    from llmmon.cli_slo import register as register_slo

    register_drift(sub)
    register_retrieval(sub)
    register_slo(sub)

    m = sub.add_parser("demo", help="run golden_eval through Airflow for v1 then v2 and print the summary")
    m.add_argument("--keep", action="store_true", help="keep the demo's temporary AIRFLOW_HOME")
    m.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except LlmmonError as exc:
        print(f"llmmon: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
