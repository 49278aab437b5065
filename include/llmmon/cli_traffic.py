"""``llmmon ingest`` and ``llmmon demo-traffic``: production traffic in (wired into ``llmmon.cli`` by ``register``)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys


def _settings(args: argparse.Namespace):
    from llmmon.config import load_settings

    return load_settings(getattr(args, "config", None))


def cmd_ingest(args: argparse.Namespace) -> int:
    from llmmon.traffic.ingest import ingest, resolve_default_source
    from llmmon.warehouse import Warehouse

    settings = _settings(args)
    source = args.source or resolve_default_source(settings)
    batch_id = args.batch_id or f"manual__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"
    wh = Warehouse(settings.warehouse.url)
    wh.upgrade()
    report = ingest(settings, wh, source, batch_id=batch_id, format=args.format)
    print(json.dumps(report.to_dict()) if args.json else report.summary())
    return 0


def cmd_demo_traffic(args: argparse.Namespace) -> int:
    from llmmon.traffic.demo_traffic import generate_demo_traffic

    settings = _settings(args)
    kwargs = {"requests": args.requests, "seed": args.seed, "error_rate": args.error_rate,
              "v2_share": args.v2_share, "concurrency": args.concurrency}
    if args.start_at is not None:
        kwargs["start_at"] = dt.datetime.fromisoformat(args.start_at)
        if kwargs["start_at"].tzinfo is None:
            print("llmmon: error: --start-at needs a time zone, e.g. 2026-11-20T00:00:00+00:00", file=sys.stderr)
            return 2
        kwargs["spread"] = dt.timedelta(hours=args.spread_hours)
    if args.start_server:
        from llmmon.demo.server import DemoServer, DemoServerConfig

        with DemoServer(DemoServerConfig(port=0, golden_sets_dir=settings.golden_sets_dir)) as server:
            endpoint = settings.endpoint(args.endpoint).model_copy(update={"base_url": server.base_url})
            settings = settings.model_copy(update={"endpoints": [endpoint], "default_endpoint": endpoint.name})
            report = generate_demo_traffic(settings, args.out, endpoint=endpoint.name, **kwargs)
    else:
        report = generate_demo_traffic(settings, args.out, endpoint=args.endpoint, **kwargs)
    print(f"{report.summary()}: {', '.join(report.files)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ingest`` and ``demo-traffic`` to the ``llmmon`` command line."""
    i = subparsers.add_parser(
        "ingest", help="ingest production LLM spans (OTLP JSON, Parquet, or table:<name>) into llm_spans",
        description="Validate and ingest spans; bad records are quarantined with their reason (docs/traffic.md).",
    )
    i.add_argument("source", nargs="?",
                   help="fsspec path, folder or glob, or table:<name> (default: traffic.source in the config)")
    i.add_argument("--format", choices=["otlp_json", "parquet", "table"], help="default: from the file names")
    i.add_argument("--batch-id", help="id of this ingestion (default: manual__<timestamp>); reuse one to retry")
    i.add_argument("--json", action="store_true", help="print the report as JSON")
    i.set_defaults(func=cmd_ingest)

    d = subparsers.add_parser(
        "demo-traffic", help="send demo traffic through the demo model server and write it as OTLP JSON",
        description="Golden-set prompts to llmmon-demo-v1 then -v2, several segments and templates, a few errors.",
    )
    d.add_argument("--out", required=True, help="folder for the OTLP JSON files")
    d.add_argument("--requests", type=int, default=200)
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--endpoint", help="configured endpoint of the demo server (default: the default endpoint)")
    d.add_argument("--error-rate", type=float, default=0.03, help="share of requests given a 500 or 429 (0 to 1)")
    d.add_argument("--v2-share", type=float, default=0.5, help="share of requests (the last ones) sent to v2")
    d.add_argument("--concurrency", type=int, default=8)
    d.add_argument("--start-at", help="re-time the spans from this ISO time (with --spread-hours)")
    d.add_argument("--spread-hours", type=float, default=24.0, help="with --start-at: hours the requests span")
    d.add_argument("--start-server", action="store_true",
                   help="run an in-process demo server instead of using the configured endpoint")
    d.set_defaults(func=cmd_demo_traffic)
