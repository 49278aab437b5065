"""Benchmark: judge 10,000 sampled spans against the demo server's judge persona at 100 ms per call.

Writes N spans (golden-set prompts answered by v1 and v2, 4 templates x 3 segments) into ``llm_spans`` of a
scratch SQLite warehouse, then runs :func:`llmmon.judge.run_judging` over their window with every span sampled
(uniform, rate 1) and one rubric, so N judge calls. The demo server runs in its own process with a fixed
100 ms latency and no jitter. Prints:

* the judge phase's wall time against the concurrency-bound ideal, N x latency / concurrency (target: at most
  1.2x), and the whole run's wall time (read, sample, render, judge, write);
* client CPU per judged span, calls, errors, tokens and cost as recorded in ``judge_runs``;
* a PASS/FAIL line for the target.

    .venv/bin/python bench/judge.py [--spans 10000] [--concurrency 32] [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.2
SERVER_CODE = (
    "import sys; from pathlib import Path; from llmmon.demo.server import DemoServerConfig, run; "
    "run(DemoServerConfig(host='127.0.0.1', port=0, golden_sets_dir=Path(sys.argv[1]), ttft_ms=float(sys.argv[2]), "
    "latency_ms=float(sys.argv[2]), jitter_ms=0))"
)
W0 = dt.datetime(2026, 11, 28, 9, tzinfo=dt.UTC)
W1 = W0 + dt.timedelta(hours=1)


def start_server(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    """The demo server in its own process (its CPU is not the client's); returns it and its /v1 URL."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER_CODE, str(ROOT / "golden_sets"), str(latency_ms)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if "listening on " not in line:
        proc.kill()
        raise SystemExit(f"demo server did not start: {line.strip() or 'no output'}")
    base_url = line.split("listening on ", 1)[1].split()[0]
    with urllib.request.urlopen(base_url.removesuffix("/v1") + "/healthz", timeout=10) as resp:
        json.loads(resp.read())
    return proc, base_url


def spans(n: int, server_url: str) -> list[dict]:
    """N llm_spans rows: golden prompts with the answer each version gives, spread over strata and the hour."""
    from llmmon.demo.answers import AnswerPlanner, load_golden_cases
    from llmmon.demo.profiles import DEFAULT_MODELS

    cases = load_golden_cases(ROOT / "golden_sets")
    planner = AnswerPlanner(cases, DEFAULT_MODELS, seed=7)
    rows = []
    for i in range(n):
        case = cases[i % len(cases)]
        version, model = (("v1", "llmmon-demo-v1") if i % 2 == 0 else ("v2", "llmmon-demo-v2"))
        h = hashlib.sha256(f"bench-{i}".encode()).hexdigest()
        start = W0 + dt.timedelta(seconds=(i * 3600) / n)
        rows.append({
            "trace_id": h[:32], "span_id": h[32:48], "name": f"chat {model}", "operation": "chat",
            "start_time": start, "end_time": start + dt.timedelta(seconds=1), "duration_s": 1.0, "status": "ok",
            "request_model": model, "response_model": model, "input_tokens": 50, "output_tokens": 10,
            "cost_usd": None, "cost_known": False, "endpoint": "demo", "model_version": version,
            "prompt_template": case.task_type, "user_segment": ("free", "pro", "enterprise")[i % 3],
            "prompt": case.input, "completion": planner.plan(model, case.input).text, "attributes": {},
            "source": "bench", "ingest_batch_id": "bench", "ingested_at": W1,
        })
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spans", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--latency-ms", type=float, default=100.0)
    ap.add_argument("--rubric", default="helpfulness")
    args = ap.parse_args(argv)

    from llmmon.config import DEFAULTS_PATH, load_settings
    from llmmon.judge import run_judging
    from llmmon.warehouse import Warehouse
    from llmmon.warehouse.schema_traffic import llm_spans

    proc, base_url = start_server(args.latency_ms)
    try:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='llmmon-bench-judge-')}/warehouse.db"
        settings = load_settings(DEFAULTS_PATH, env={"LLMMON_HOME": str(ROOT), "LLMMON_DEMO_URL": base_url,
                                                     "LLMMON_WAREHOUSE_URL": url})
        judge = settings.judge.model_copy(update={
            "sampling": settings.judge.sampling.model_copy(update={"mode": "uniform", "rate": 1.0}),
            "budget": settings.judge.budget.model_copy(update={"max_calls": None, "max_usd": None}),
            "concurrency": args.concurrency,
        })
        settings = settings.model_copy(update={"judge": judge})
        wh = Warehouse(url)
        wh.upgrade()
        t = time.perf_counter()
        with wh.engine.begin() as conn:
            conn.execute(llm_spans.insert(), spans(args.spans, base_url))
        print(f"wrote {args.spans:,} spans in {time.perf_counter() - t:.1f} s")

        cpu0 = time.process_time()
        summary = run_judging(settings, wh, window_start=W0, window_end=W1, judge_run_key="bench/judge",
                              rubrics=[args.rubric])
        cpu = time.process_time() - cpu0
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    n = summary["planned"]
    ideal = n * args.latency_ms / 1000.0 / args.concurrency
    ratio = summary["judge_wall_s"] / ideal
    print(f"judged {summary['judged']:,} of {n:,} sampled spans ({summary['errors']} errors, {summary['calls']:,} "
          f"calls) at concurrency {args.concurrency}, {args.latency_ms:g} ms per call")
    print(f"judge phase: {summary['judge_wall_s']:.1f} s wall vs {ideal:.1f} s ideal = {ratio:.2f}x")
    print(f"whole run (read, sample, render, judge, write): {summary['wall_s']:.1f} s; "
          f"client CPU {1000 * cpu / max(n, 1):.2f} ms per span")
    print(f"judge tokens in/out {summary['input_tokens']:,}/{summary['output_tokens']:,}, "
          f"cost ${summary['cost_usd']:.4f}")
    ok = ratio <= TARGET_RATIO and summary["errors"] == 0
    print(f"{'PASS' if ok else 'FAIL'}: judge wall within {TARGET_RATIO}x the concurrency-bound ideal ({ratio:.2f}x)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
