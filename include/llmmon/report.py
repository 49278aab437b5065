"""Readable summaries of eval runs, for the terminal (``llmmon report``, ``make demo``)."""

from __future__ import annotations

from typing import Any

EXAMPLE_QUERIES = {
    "Pass rate per run, newest first": (
        "SELECT run_key, model_version, stage, verdict, ROUND(pass_rate, 3) AS pass_rate, n_errors, finished_at\n"
        "FROM eval_runs WHERE status = 'success' ORDER BY finished_at DESC LIMIT 10;"
    ),
    "Per-intent pass rate of every run": (
        "SELECT r.model_version, s.value AS intent, s.n, ROUND(s.pass_rate, 3) AS pass_rate\n"
        "FROM eval_summaries s JOIN eval_runs r USING (run_key)\n"
        "WHERE s.dimension = 'intent' ORDER BY s.value, r.finished_at;"
    ),
    "Examples that passed on the baseline and fail on the latest run": (
        "SELECT c.example_id, c.intent, c.output, c.expected\n"
        "FROM eval_runs r JOIN eval_results c ON c.run_key = r.run_key\n"
        "JOIN eval_results b ON b.run_key = r.baseline_run_key AND b.example_id = c.example_id AND b.trial = c.trial\n"
        "WHERE r.run_key = (SELECT run_key FROM eval_runs WHERE status = 'success' ORDER BY finished_at DESC LIMIT 1)\n"
        "  AND b.passed AND NOT c.passed LIMIT 20;"
    ),
}


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{1000 * x:.0f} ms"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _slice_line(sl: dict[str, Any]) -> str:
    ci = sl.get("pass_rate_diff_ci")
    ci_text = f", {100 * ci[0]:+.1f} to {100 * ci[1]:+.1f} pts ({sl.get('test', 'paired test')})" if ci else ""
    p = sl.get("p_adjusted") if sl.get("p_adjusted") is not None else sl.get("p_value")
    p_text = f"p={p:.2g}" + (" adj." if sl.get("p_adjusted") is not None and sl["subject"] != "overall" else "")
    mde = sl.get("mde")
    mde_text = f", detectable change {100 * mde:.1f} pts" if mde is not None else ""
    flag = " REGRESSED" if sl.get("regressed") else (" improved" if sl.get("improved") else "")
    return (f"    {sl['subject']:<24} {100 * sl['baseline_pass_rate']:5.1f}% -> {100 * sl['candidate_pass_rate']:5.1f}%"
            f"  {p_text}{ci_text}{mde_text}  (n={sl['n_paired']}, {sl.get('b', '?')} lost / {sl.get('c', '?')} won)"
            f"{flag}")


def _slice_lines(details: dict[str, Any]) -> list[str]:
    """The overall slice with its p-value, confidence interval and MDE, then every intent that moved."""
    if not details.get("overall"):
        return []
    lines = [_slice_line(details["overall"])]
    lines += [_slice_line(sl) for sl in details.get("intents", []) if sl.get("regressed") or sl.get("improved")]
    if details.get("flaky_count"):
        lines.append(f"    flaky examples (trials disagree): {details['flaky_count']}")
    return lines


def run_report(warehouse, run_key: str) -> dict[str, Any]:
    """Everything the terminal summary shows about one run, read back from the warehouse."""
    run = warehouse.get_eval_run(run_key)
    if run is None:
        raise KeyError(run_key)
    alerts = []
    for a in warehouse.alerts_for_point(run_key):
        events = [e for e in warehouse.alert_events(a["alert_id"]) if e["point_id"] == run_key]
        deliveries = warehouse.alert_deliveries(a["alert_id"])
        alerts.append({**dict(a), "events_here": events, "deliveries": deliveries})
    return {
        "run": dict(run),
        "summaries": [dict(s) for s in warehouse.eval_summaries(run_key)],
        "alerts": alerts,
    }


def format_run_report(report: dict[str, Any]) -> str:
    """Overall and per-intent pass rates, timings, tokens, cost, the verdict and the alerts of one run."""
    run = report["run"]
    lines = [
        f"Run {run['run_key']}",
        f"  suite {run['suite']}@{run['suite_version']}  endpoint {run['endpoint']}  model {run['model']} "
        f"(version {run['model_version']}, stage {run['stage']}{', deploy ' + run['deploy_id'] if run.get('deploy_id') else ''})",
        f"  status {run['status']}" + (f": {run['error']}" if run.get("error") else ""),
    ]
    if run["status"] == "success":
        lines += [
            f"  pass rate {_pct(run['pass_rate'])} ({run['n_passed']}/{run['n_calls']}), endpoint errors {run['n_errors']}",
            f"  TTFT p50 {_ms(run['ttft_p50_s'])}  p95 {_ms(run['ttft_p95_s'])}   latency p95 {_ms(run['latency_p95_s'])}",
            f"  tokens in {run['input_tokens']:,} / out {run['output_tokens']:,}   cost ${run['cost_usd']:.4f}"
            + (f"   (client timing suspect for {_pct(run['timing_suspect_share'])} of calls)"
               if run.get("timing_suspect_share") else ""),
            "  per intent:",
        ]
        for s in report["summaries"]:
            if s["dimension"] == "intent":
                lines.append(f"    {s['value']:<16} {_pct(s['pass_rate']):>7}  (n={s['n']}, errors {s['n_errors']})")
        details = run.get("verdict_details") or {}
        lines.append(f"  verdict vs baseline: {run.get('verdict') or 'not compared'}"
                     + (f" (baseline {run['baseline_run_key']})" if run.get("baseline_run_key") else ""))
        if details.get("reason"):
            lines.append(f"    {details['reason']}")
        lines += _slice_lines(details)
    if report["alerts"]:
        lines.append("  alerts moved by this run (rules fire after `for` consecutive breaching runs):")
        for a in report["alerts"]:
            labels = ", ".join(f"{k}={v}" for k, v in sorted((a.get("labels") or {}).items()))
            moves = ", ".join(f"{e['from_state']} -> {e['to_state']}" for e in a["events_here"])
            lines.append(f"    [{a['severity']}] {a['rule']} ({labels}): {moves}; now {a['state']}")
            kinds = {e["to_state"] for e in a["events_here"]}  # deliveries this run's transitions caused
            for d in (d for d in a["deliveries"] if d["kind"] in kinds):
                lines.append(f"      {d['kind']} via {d['route']}: {d['status']}"
                             + (f" ({d['error']})" if d.get("error") else ""))
    else:
        lines.append("  alerts moved by this run: none")
    return "\n".join(lines)


def format_example_queries(warehouse_url: str) -> str:
    lines = [f"Warehouse: {warehouse_url}", "Try, for example:"]
    if warehouse_url.startswith("sqlite:///"):
        lines[1] = f"Try, for example (sqlite3 {warehouse_url.removeprefix('sqlite:///')}):"
    for title, sql in EXAMPLE_QUERIES.items():
        lines += ["", f"-- {title}", sql]
    return "\n".join(lines)
