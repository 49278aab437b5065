"""Benchmark: does the endpoint client measure the endpoint, or itself?

Sends 1,000 streamed chat requests to the demo server (fixed 200 ms latency, first token at 100 ms, no jitter)
at concurrency 8, 32 and 64, and prints per level: wall time against the ideal (N x latency / concurrency),
client CPU per request, client-measured TTFT p50/p95 against the TTFT the server applied (``gap_p95`` is the
p95 of the per-call difference), event-loop lag p95/max, the share of calls the client flagged
``timing_suspect`` and the TTFT p95 of the others (``ok_p95``), whether it flagged itself as saturated, and the
server's own worst lateness on a first chunk. Then one PASS/FAIL line per target:

* wall time within 1.2x the ideal at concurrency 32;
* client CPU at most 3 ms per streamed request (every level);
* measured TTFT p95 within 10 ms of the server-applied TTFT p95 at concurrency 32.

The server runs in a separate process so its CPU is not counted as the client's. ``--baseline`` also runs the
openai SDK's default streaming path (httpx transport, one pydantic model per chunk) for comparison.

    .venv/bin/python bench/golden_eval.py [--requests 1000] [--levels 8,32,64] [--baseline]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request

from llmmon.config import EndpointConfig
from llmmon.endpoints.client import BatchOutcome, run_requests
from llmmon.endpoints.looplag import percentile
from llmmon.records import ChatRequest

TTFT_MS, LATENCY_MS = 100.0, 200.0
TARGET_RATIO, TARGET_CPU_MS, TARGET_TTFT_GAP_MS = 1.2, 3.0, 10.0
TARGET_LEVEL = 32

SERVER_CODE = (
    "from llmmon.demo.server import DemoServerConfig, run; "
    "run(DemoServerConfig(host='127.0.0.1', port=0))"
)


def start_server() -> tuple[subprocess.Popen[str], str]:
    """The demo server in its own process; returns it and its root URL (read from its 'listening' line)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER_CODE], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    line = proc.stdout.readline() if proc.stdout else ""
    marker = "listening on "
    if marker not in line:
        proc.kill()
        raise SystemExit(f"demo server did not start: {line.strip() or 'no output'}")
    base_url = line.split(marker, 1)[1].split()[0]
    return proc, base_url.removesuffix("/v1")


def admin(root: str, path: str, payload: object | None = None) -> dict:
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(f"{root}/admin/{path}", data=data, method="GET" if data is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def make_requests(n: int) -> list[ChatRequest]:
    topics = ["my order", "a refund", "my invoice", "shipping to Canada", "my password", "the mobile app"]
    return [
        ChatRequest(key=f"bench-{i:05d}", messages=[{"role": "user", "content": f"Question {i}: help with "
                                                     f"{topics[i % len(topics)]}, please."}])
        for i in range(n)
    ]


def run_baseline(base_url: str, reqs: list[ChatRequest], concurrency: int) -> dict[str, float]:
    """The openai SDK's default streaming path, as most clients use it (for comparison only)."""
    from openai import AsyncOpenAI

    async def main() -> dict[str, float]:
        client = AsyncOpenAI(base_url=base_url + "/v1", api_key="bench", max_retries=0)
        sem = asyncio.Semaphore(concurrency)
        ttfts: list[float] = []

        async def one(req: ChatRequest) -> None:
            async with sem:
                t0 = time.perf_counter()
                stream = await client.chat.completions.create(
                    model="llmmon-demo-v1", messages=req.messages, stream=True,  # type: ignore[arg-type]
                    stream_options={"include_usage": True}, max_tokens=512, temperature=0,
                )
                first = None
                async for chunk in stream:
                    if first is None and chunk.choices and chunk.choices[0].delta.content:
                        first = time.perf_counter() - t0
                if first is not None:
                    ttfts.append(first)

        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(r) for r in reqs))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        await client.close()
        ttfts.sort()
        return {"wall_s": wall, "cpu_ms": cpu * 1000 / len(reqs), "ttft_p50_ms": percentile(ttfts, 0.5) * 1000,
                "ttft_p95_ms": percentile(ttfts, 0.95) * 1000}

    return asyncio.run(main())


def summarize(outcome: BatchOutcome) -> dict[str, float]:
    ok = [r for r in outcome.results if r.ok and r.ttft_s is not None]
    ttft = sorted(r.ttft_s * 1000 for r in ok)
    server = sorted(r.server_ttft_s * 1000 for r in ok if r.server_ttft_s is not None)
    gaps = sorted((r.ttft_s - r.server_ttft_s) * 1000 for r in ok if r.server_ttft_s is not None)
    trusted = sorted(r.ttft_s * 1000 for r in ok if not r.timing_suspect)
    return {
        "errors": len(outcome.results) - len(ok),
        "ttft_p50_ms": percentile(ttft, 0.5),
        "ttft_p95_ms": percentile(ttft, 0.95),
        "server_ttft_p50_ms": percentile(server, 0.5) if server else float("nan"),
        "server_ttft_p95_ms": percentile(server, 0.95) if server else float("nan"),
        "gap_p95_ms": percentile(gaps, 0.95) if gaps else float("nan"),
        "ttft_p95_trusted_ms": percentile(trusted, 0.95) if trusted else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--levels", default="8,32,64")
    parser.add_argument("--baseline", action="store_true", help="also run the SDK's default streaming path")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    n = args.requests
    reqs = make_requests(n)
    timing = {"ttft_ms": TTFT_MS, "latency_ms": LATENCY_MS, "jitter_ms": 0}

    proc, root = start_server()
    try:
        admin(root, "config", timing)
        endpoint = EndpointConfig(name="bench", base_url=root + "/v1", model="llmmon-demo-v1", timeout_s=30,
                                  max_concurrency=max(levels))
        # Warm-up in this process (imports, lazy SDK set-up) so the first level is not charged for them.
        run_requests(endpoint, reqs[:16], concurrency=8)
        print(f"llmmon endpoint client benchmark: {n} streamed requests per level; demo server in process "
              f"{proc.pid} with latency {LATENCY_MS:.0f} ms, first token at {TTFT_MS:.0f} ms, no jitter; "
              f"{os.cpu_count()} CPUs")
        header = (f"{'conc':>4} {'wall_s':>7} {'ideal_s':>7} {'ratio':>5} {'cpu_ms/req':>10} "
                  f"{'ttft_p50':>8} {'ttft_p95':>8} {'srv_p50':>7} {'srv_p95':>7} {'gap_p95':>7} "
                  f"{'lag_p95':>7} {'lag_max':>7} {'suspect':>7} {'ok_p95':>6} {'saturated':>9} {'srv_late_max':>12} "
                  f"{'err':>4}")
        print(header)
        rows: dict[int, dict[str, float]] = {}
        for c in levels:
            admin(root, "reset", {})
            admin(root, "config", timing)
            outcome = run_requests(endpoint, reqs, concurrency=c)
            server_stats = admin(root, "stats")
            s, st = summarize(outcome), outcome.stats
            ideal = n * LATENCY_MS / 1000 / c
            row = {"wall_s": st.wall_s, "ideal_s": ideal, "ratio": st.wall_s / ideal,
                   "cpu_ms": st.cpu_ms_per_request, **s, "lag_p95": st.loop_lag_p95_ms,
                   "lag_max": st.loop_lag_max_ms, "suspect": st.timing_suspect_share, "saturated": st.saturated,
                   "server_late_max_ms": server_stats.get("ttft_lateness_ms", {}).get("max", float("nan")),
                   "server_max_in_flight": server_stats.get("max_in_flight")}
            rows[c] = row
            print(f"{c:>4} {row['wall_s']:>7.2f} {ideal:>7.2f} {row['ratio']:>5.2f} {row['cpu_ms']:>10.2f} "
                  f"{row['ttft_p50_ms']:>8.1f} {row['ttft_p95_ms']:>8.1f} {row['server_ttft_p50_ms']:>7.1f} "
                  f"{row['server_ttft_p95_ms']:>7.1f} {row['gap_p95_ms']:>7.1f} {row['lag_p95']:>7.1f} "
                  f"{row['lag_max']:>7.1f} {row['suspect']:>7.1%} {row['ttft_p95_trusted_ms']:>6.1f} "
                  f"{'yes' if row['saturated'] else 'no':>9} "
                  f"{row['server_late_max_ms']:>12.1f} {row['errors']:>4}", flush=True)
        if args.baseline:
            print("\nbaseline: openai SDK default streaming path (httpx transport, pydantic chunk models)")
            for c in levels:
                admin(root, "reset", {})
                admin(root, "config", timing)
                b = run_baseline(root, reqs, c)
                ideal = n * LATENCY_MS / 1000 / c
                print(f"{c:>4} wall {b['wall_s']:.2f}s ratio {b['wall_s'] / ideal:.2f} cpu {b['cpu_ms']:.2f} "
                      f"ms/req ttft p50 {b['ttft_p50_ms']:.1f} p95 {b['ttft_p95_ms']:.1f} ms", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    print()
    failed = 0

    def verdict(ok: bool, text: str) -> None:
        nonlocal failed
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {text}")

    if TARGET_LEVEL in rows:
        r = rows[TARGET_LEVEL]
        verdict(r["ratio"] <= TARGET_RATIO,
                f"wall time {r['ratio']:.2f}x ideal at concurrency {TARGET_LEVEL} (target <= {TARGET_RATIO}x)")
    for c, r in rows.items():
        verdict(r["cpu_ms"] <= TARGET_CPU_MS,
                f"client CPU {r['cpu_ms']:.2f} ms/request at concurrency {c} (target <= {TARGET_CPU_MS} ms)")
    if TARGET_LEVEL in rows:
        r = rows[TARGET_LEVEL]
        gap = r["ttft_p95_ms"] - r["server_ttft_p95_ms"]
        verdict(gap <= TARGET_TTFT_GAP_MS,
                f"TTFT p95 {r['ttft_p95_ms']:.1f} ms vs server-applied {r['server_ttft_p95_ms']:.1f} ms at "
                f"concurrency {TARGET_LEVEL}: +{gap:.1f} ms (target <= {TARGET_TTFT_GAP_MS:.0f} ms)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
