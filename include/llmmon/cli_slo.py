"""``llmmon slo ...`` and ``llmmon triage``: SLO windows, error budgets and incident triage (wired into ``llmmon.cli``
by ``register``)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys


def _settings_and_warehouse(args: argparse.Namespace):
    from llmmon.config import load_settings
    from llmmon.warehouse import Warehouse

    settings = load_settings(getattr(args, "config", None))
    wh = Warehouse(settings.warehouse.url)
    wh.upgrade()
    return settings, wh


def _when(text: str | None) -> dt.datetime | None:
    from llmmon.config import parse_aware_time

    return None if text is None else parse_aware_time(text, "--until")


def _duration(text: str) -> dt.timedelta:
    from llmmon.config import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_slo_windows(args: argparse.Namespace) -> int:
    from llmmon.slo.run import run_slo_windows

    settings, wh = _settings_and_warehouse(args)
    done = run_slo_windows(settings, wh, run_key="cli")
    out = {"batches": done["batches"], "windows": len(done["windows"]), "spans": done["spans"], "rows": done["rows"]}
    print(json.dumps(out) if args.json else
          f"{len(done['batches'])} ingestion(s): {len(done['windows'])} window(s) recomputed from {done['spans']:,} "
          f"spans, {done['rows']:,} rows")
    return 0


def cmd_slo_aggregate(args: argparse.Namespace) -> int:
    from llmmon.slo.windows import aggregate_windows
    from llmmon.warehouse.slo_store import replace_windows

    settings, wh = _settings_and_warehouse(args)
    table = aggregate_windows(args.source, settings.slo, settings.prices)
    starts = set(table.column("window_start").to_pylist())
    rows = replace_windows(wh, starts, table)
    print(f"{args.source}: {len(starts)} window(s), {rows:,} rows written to slo_windows")
    return 0


def cmd_slo_status(args: argparse.Namespace) -> int:
    from llmmon.slo.burn import BURN_ALERTS, burn_points, error_budgets
    from llmmon.slo.triage import to_json
    from llmmon.warehouse.slo_store import window_rows

    settings, wh = _settings_and_warehouse(args)
    until = _when(args.until) or dt.datetime.now(dt.UTC)
    period = settings.slo.burn_rates.period
    rows = window_rows(wh, start=until - period, end=until, dimension="all")
    budgets = error_budgets(rows, start=until - period, end=until, period=period)
    burns = {}
    for alert in BURN_ALERTS:
        latest: dict[tuple, dict] = {}
        for p in burn_points(rows, alert, settings.slo.window):
            latest[(p["model"], p["endpoint"], p["slo"])] = p
        burns[alert.name] = list(latest.values())
    if args.json:
        print(json.dumps(to_json({"until": until, "period_days": period / dt.timedelta(days=1), "budgets": budgets,
                                  "burn": burns}), indent=2))
        return 0
    print(f"error budgets over the {period / dt.timedelta(days=1):g} days before {until:%Y-%m-%d %H:%M} UTC:")
    for b in budgets:
        spent = "-" if b["budget_spent"] is None else f"{100 * b['budget_spent']:.1f}%"
        print(f"  {b['model']} @ {b['endpoint']} {b['slo']:<8} {b['bad']:>9,} bad of {b['total']:>10,} "
              f"(budget {100 * b['budget']:.2g}%): {spent} spent")
    for name, points in burns.items():
        for p in points:
            rate = "-" if p["value"] is None else f"{p['value']:.1f}x"
            print(f"  {name} burn {p['model']} @ {p['endpoint']} {p['slo']:<8} at {p['window_end']:%H:%M}: {rate} "
                  f"(factor {p['factor']:g})")
    return 0


def cmd_triage(args: argparse.Namespace) -> int:
    from llmmon.slo.triage import format_triage, to_json, triage

    settings, wh = _settings_and_warehouse(args)
    report = triage(settings, wh, since=args.since, until=_when(args.until))
    if args.json:
        json.dump(to_json(report), sys.stdout, indent=2)
        print()
    else:
        print(format_triage(report))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``slo`` (windows, aggregate, status) and ``triage`` to the ``llmmon`` parser."""
    s = sub.add_parser("slo", help="infrastructure SLO windows of production spans, error budgets, burn rates")
    ssub = s.add_subparsers(dest="slo_command", required=True)
    w = ssub.add_parser("windows", help="recompute the windows touched by ingestions since the last run")
    w.add_argument("--json", action="store_true")
    w.set_defaults(func=cmd_slo_windows)
    a = ssub.add_parser("aggregate", help="aggregate a Parquet file (path, glob or fsspec URL) of spans into slo_windows")
    a.add_argument("source")
    a.set_defaults(func=cmd_slo_aggregate)
    st = ssub.add_parser("status", help="error budget spent per SLO, and the latest fast and slow burn rates")
    st.add_argument("--until", help="ISO time with zone (default: now)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_slo_status)

    t = sub.add_parser("triage", help="latency or quality? model-wide or one slice? what deployed?",
                       description="Answer the first three incident questions from the warehouse (docs/triage.md).")
    t.add_argument("--since", type=_duration, default=dt.timedelta(hours=24), help="period length (default 24h)")
    t.add_argument("--until", help="end of the period, ISO time with zone (default: now)")
    t.add_argument("--json", action="store_true", help="print the answers as JSON")
    t.set_defaults(func=cmd_triage)
