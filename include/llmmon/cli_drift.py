"""``llmmon drift`` and ``llmmon embed``: input drift of production traffic (wired into ``llmmon.cli`` by ``register``)."""

from __future__ import annotations

import argparse
import json
import sys


def _settings(args: argparse.Namespace):
    from llmmon.config import load_settings

    return load_settings(getattr(args, "config", None))


def format_outcome(run: dict, metrics: list[dict]) -> str:
    """A run's verdict as text: status, then one line per decisive feature (drifted first)."""
    lines = [f"{run['run_key']}: {run['status']}"
             + (f" — {run['n_features_drifted']} of {run['n_features_tested']} features drifted"
                if run["status"] == "success" else "")
             + f" ({run['n_cur']:,} spans vs {run['n_ref']:,} in reference {run['reference']})"]
    if run.get("reason"):
        lines.append(f"  {run['reason']}")
    rows = sorted((m for m in metrics if m["decisive"] or (m["method"] == "new_categories" and m["drifted"])),
                  key=lambda m: (not m["drifted"], m["feature"]))
    for m in rows:
        def num(x):
            return "-" if x is None else f"{x:.4g}"

        flag = "DRIFTED" if m["drifted"] else ("untested" if not m["tested"] else "ok")
        lines.append(f"  {flag:8} {m['feature']:18} {m['method']:14} stat {num(m['statistic']):>9} "
                     f"thr {num(m['threshold']):>9} p_adj {num(m['p_adjusted']):>8} effect {num(m['effect']):>9} "
                     f"floor {num(m['effect_floor'])}")
    if run.get("report_uri"):
        lines.append(f"  report: {run['report_uri']}")
    return "\n".join(lines)


def cmd_drift(args: argparse.Namespace) -> int:
    from llmmon.config import parse_aware_time
    from llmmon.drift.job import run_drift, stage_report, windows_to_test
    from llmmon.warehouse import Warehouse

    if (args.start is None) != (args.end is None):
        print("llmmon: error: give both --start and --end, or neither", file=sys.stderr)
        return 2
    settings = _settings(args)
    wh = Warehouse(settings.warehouse.url)
    wh.upgrade()
    bounds = [None if t is None else parse_aware_time(t, flag) for t, flag in ((args.start, "--start"),
                                                                                (args.end, "--end"))]
    # the window given, else the last complete window before now
    ((start, end),) = windows_to_test(settings.drift, *bounds)[-1:]
    outcome = run_drift(settings, wh, window_start=start, window_end=end, endpoint=args.endpoint,
                        reference=args.reference)
    run = outcome.run
    if args.report and outcome.sample:
        from llmmon.drift.report import write_report

        folder = stage_report(settings.drift, outcome)
        if folder is not None:
            run["report_uri"] = write_report(settings, wh, run["run_key"], folder)
    if args.json:
        print(json.dumps({"run": run, "metrics": outcome.metrics}, default=str))
    else:
        print(format_outcome(run, outcome.metrics))
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from llmmon.drift.embeddings import make_embedder

    settings = _settings(args)
    texts = [line.rstrip("\n") for line in (open(args.file, encoding="utf-8") if args.file else sys.stdin)]
    vectors = make_embedder(settings).embed(texts)
    for text, vec in zip(texts, vectors, strict=True):
        print(json.dumps({"text": text, "embedding": [round(float(x), 6) for x in vec]}))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``drift`` and ``embed`` to the ``llmmon`` command line."""
    d = sub.add_parser(
        "drift", help="test a window of production spans for input drift against its reference (docs/drift.md)",
        description="Compute the drift features of every span of the window and of the reference, test them with "
                    "calibrated thresholds and effect floors, and write drift_runs / drift_metrics.",
    )
    d.add_argument("--config", help="llmmon config file (default: LLMMON_CONFIG or the embedded defaults)")
    d.add_argument("--start", help="window start, ISO 8601 with offset (default: the last complete window)")
    d.add_argument("--end", help="window end (exclusive)")
    d.add_argument("--reference", help="rolling, or a named reference of drift.references")
    d.add_argument("--endpoint", help="only this endpoint's spans")
    d.add_argument("--report", action="store_true", help="also render the Evidently HTML report (slow: imports Evidently)")
    d.add_argument("--json", action="store_true", help="print the run and its metrics as JSON")
    d.set_defaults(func=cmd_drift)
    e = sub.add_parser("embed", help="embed prompts (one per line) with the configured embedding provider")
    e.add_argument("--config", help="llmmon config file")
    e.add_argument("file", nargs="?", help="text file, one prompt per line (default: stdin)")
    e.set_defaults(func=cmd_embed)
