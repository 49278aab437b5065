"""Benchmark: 10 million spans over 24 hours as Parquet -> 5-minute SLO windows by model and endpoint, written to a
SQLite warehouse. Prints CPU-seconds, peak RSS and wall time of the job, and checks the percentiles are exact.

    .venv/bin/python bench/slo.py [--spans 10000000] [--out /tmp/llmmon-bench-slo] [--slices]

Three steps, each in its own process so the figures are the job's alone: (1) generate the Parquet file (3 models,
5 endpoints, 20 prompt templates, 4 user segments, 8 replicas, 1% errors, half the spans carrying their cost and
half priced from the price table, 0.1% with a bad duration); (2) the job in a fresh process: aggregate
(``llmmon.slo.windows.aggregate_windows``) and write (``llmmon.warehouse.slo_store.replace_windows``) on a fresh
SQLite warehouse; (3) exactness: the p99 of the 20 busiest windows recomputed with numpy from the same Parquet.
Target (issue 7): the job at most 5 CPU-seconds and 768 MiB peak. CPU-seconds count DuckDB's threads (they run
in-process: RUSAGE_SELF); wall time depends on the machine's load, so quote the load with it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

T0 = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
MODELS = ["gpt-large", "gpt-small", "unpriced-model"]
ENDPOINTS = [f"endpoint-{i}" for i in range(5)]
TEMPLATES = [f"template-{i:02d}" for i in range(20)]
SEGMENTS = ["free", "pro", "enterprise", "internal"]
REPLICAS = [f"replica-{i}" for i in range(8)]


def generate(path: Path, n: int, seed: int = 7) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    chunk = 2_000_000
    writer = None
    start_us = int(T0.timestamp()) * 1_000_000
    for lo in range(0, n, chunk):
        m = min(chunk, n - lo)
        start = start_us + np.sort(rng.integers(0, 86_400 * 1_000_000, m))
        model = rng.integers(0, len(MODELS), m)
        ttft = rng.lognormal(-1.2, 0.6, m) * (1 + model * 0.3)
        dur = ttft + rng.lognormal(0.5, 0.5, m)
        bad = rng.random(m) < 0.001
        dur[bad] = -dur[bad]
        err = rng.random(m) < 0.01
        itok = rng.integers(50, 2000, m)
        otok = rng.integers(10, 800, m)
        carried = np.where(rng.random(m) < 0.5, (itok * 0.5 + otok * 1.5) / 1e6, np.nan)

        def cat(values: list[str], idx: np.ndarray) -> pa.DictionaryArray:
            return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pa.array(values))

        table = pa.table({
            "start_time": pa.array(start, pa.timestamp("us", tz="UTC")),
            "end_time": pa.array(start + (np.abs(dur) * 1e6).astype(np.int64), pa.timestamp("us", tz="UTC")),
            "duration_s": dur,
            "ttft_s": ttft,
            "status": cat(["ok", "error"], err.astype(np.int32)),
            "request_model": cat(MODELS, model),
            "response_model": cat(MODELS, model),
            "input_tokens": itok,
            "output_tokens": otok,
            "cost_usd": pa.array(carried, from_pandas=True),
            "endpoint": cat(ENDPOINTS, rng.integers(0, len(ENDPOINTS), m)),
            "model_version": cat(["v1", "v2"], rng.integers(0, 2, m)),
            "prompt_template": cat(TEMPLATES, rng.integers(0, len(TEMPLATES), m)),
            "user_segment": cat(SEGMENTS, rng.integers(0, len(SEGMENTS), m)),
            "replica": cat(REPLICAS, rng.integers(0, len(REPLICAS), m)),
            "ingested_at": pa.array(start + 5_000_000, pa.timestamp("us", tz="UTC")),
        })
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=1_000_000)
    writer.close()


def job(parquet: Path, warehouse_db: Path, slices: bool) -> dict:
    """The measured job: aggregate the Parquet file into windows and write them to a fresh SQLite warehouse."""
    from llmmon.config import Price
    from llmmon.slo.windows import aggregate_windows
    from llmmon.slo_config import SloConfig
    from llmmon.warehouse import Warehouse
    from llmmon.warehouse.slo_store import replace_windows

    warehouse_db.unlink(missing_ok=True)
    wh = Warehouse(f"sqlite:///{warehouse_db}")
    wh.upgrade()  # schema creation is setup, not the job
    prices = [Price(model="gpt-large", input_per_mtok=0.5, output_per_mtok=1.5, effective_from=dt.date(2026, 1, 1)),
              Price(model="gpt-small", input_per_mtok=0.1, output_per_mtok=0.4, effective_from=dt.date(2026, 1, 1)),
              Price(model="gpt-small", input_per_mtok=0.08, output_per_mtok=0.3,
                    effective_from=dt.date(2026, 11, 20))]
    config = SloConfig() if slices else SloConfig(slices=())
    r0, w0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    table = aggregate_windows(str(parquet), config, prices)
    r1, w1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    starts = set(table.column("window_start").to_pylist())
    written = replace_windows(wh, starts, table)
    r2, w2 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()

    def cpu(a, b):
        return (b.ru_utime - a.ru_utime) + (b.ru_stime - a.ru_stime)

    return {
        "rows": written, "windows": len(starts),
        "aggregate_cpu_s": round(cpu(r0, r1), 2), "aggregate_wall_s": round(w1 - w0, 2),
        "write_cpu_s": round(cpu(r1, r2), 2), "write_wall_s": round(w2 - w1, 2),
        "job_cpu_s": round(cpu(r0, r2), 2), "job_wall_s": round(w2 - w0, 2),
        "peak_rss_mib": round(r2.ru_maxrss / 1024, 1),  # Linux: KiB; the whole process, imports included
        "unknown_cost_spans": int(sum(table.filter(
            __import__("pyarrow.compute").compute.equal(table.column("dimension"), "all")
        ).column("n_cost_unknown").to_pylist())),
    }


def dag_path(n: int, out: Path) -> dict:
    """The DAG's path: ``n`` spans over 2 hours ingested into a SQLite warehouse (not measured), then one
    ``run_slo_windows`` (measured): find the windows of the pending ingestion, read their spans back from
    llm_spans, aggregate with the four slice dimensions, replace the windows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from llmmon.config import DEFAULTS_PATH, load_settings
    from llmmon.slo.run import run_slo_windows
    from llmmon.traffic.ingest import ingest
    from llmmon.warehouse import Warehouse

    db = out / "dag-warehouse.db"
    db.unlink(missing_ok=True)
    settings = load_settings(DEFAULTS_PATH, env={"LLMMON_WAREHOUSE_URL": f"sqlite:///{db}"})
    settings = settings.model_copy(update={"traffic": settings.traffic.model_copy(
        update={"great_expectations": False})})
    wh = Warehouse(settings.warehouse.url)
    wh.upgrade()
    rng = np.random.default_rng(3)
    start = int((dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).timestamp()) * 1_000_000
    t0 = start + np.sort(rng.integers(0, 2 * 3600 * 1_000_000, n))
    ttft = rng.lognormal(-1.2, 0.6, n)
    dur = ttft + rng.lognormal(0.5, 0.5, n)
    ts = pa.timestamp("us", tz="UTC")

    def pick(values: list[str]) -> pa.Array:
        return pa.array(np.array(values)[rng.integers(0, len(values), n)])

    table = pa.table({
        "trace_id": pa.array([f"{i + 1:032x}" for i in range(n)]), "span_id": pa.array([f"{i + 1:016x}" for i in range(n)]),
        "start_time": pa.array(t0, ts), "end_time": pa.array(t0 + (dur * 1e6).astype(np.int64), ts),
        "ttft_s": ttft, "status": pick(["ok"] * 99 + ["error"]), "operation": pick(["chat"]),
        "request_model": pick(["llmmon-demo-v1", "llmmon-demo-v2"]), "endpoint": pick(["demo"]),
        "input_tokens": rng.integers(50, 2000, n), "output_tokens": rng.integers(10, 800, n),
        "model_version": pick(["v1", "v2"]), "prompt_template": pick(TEMPLATES), "user_segment": pick(SEGMENTS),
        "replica": pick(REPLICAS),
    })
    path = out / f"dag-spans-{n}.parquet"
    pq.write_table(table, path)
    ingest(settings, wh, str(path), batch_id="bench", format="parquet")
    r0, w0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    done = run_slo_windows(settings, wh, run_key="bench")
    r1, w1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    return {"spans": done["spans"], "windows": len(done["windows"]), "rows": done["rows"],
            "cpu_s": round((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), 2),
            "wall_s": round(w1 - w0, 2), "peak_rss_mib": round(r1.ru_maxrss / 1024, 1)}


def check_exact(parquet: Path, warehouse_db: Path) -> dict:
    """numpy's p99 (linear interpolation) of the 20 busiest (window, model, endpoint) groups vs the stored p99."""
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{warehouse_db}")
    with engine.connect() as conn:
        top = conn.execute(sa.text(
            "SELECT window_start, model, endpoint, latency_p99_s, ttft_p95_s FROM slo_windows "
            "WHERE dimension = 'all' ORDER BY n_requests DESC LIMIT 20")).fetchall()
    t = pq.read_table(parquet, columns=["start_time", "response_model", "endpoint", "duration_s", "ttft_s", "status"])
    w = pc.divide(pc.cast(t.column("start_time"), "int64"), 300_000_000)
    worst = 0.0
    for ws, model, endpoint, p99, p95 in top:
        start = dt.datetime.fromisoformat(str(ws)).replace(tzinfo=dt.UTC)
        key = int(start.timestamp()) // 300
        mask = pc.and_(pc.and_(pc.equal(w, key), pc.equal(pc.cast(t.column("response_model"), "string"), model)),
                       pc.and_(pc.equal(pc.cast(t.column("endpoint"), "string"), endpoint),
                               pc.equal(pc.cast(t.column("status"), "string"), "ok")))
        sub = t.filter(mask)
        dur = sub.column("duration_s").to_numpy()
        dur = dur[dur >= 0]
        ttft = sub.column("ttft_s").to_numpy()
        worst = max(worst, abs(np.percentile(dur, 99) - p99) / p99, abs(np.percentile(ttft, 95) - p95) / p95)
    return {"groups_checked": len(top), "max_relative_error": worst}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", type=int, default=10_000_000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/llmmon-bench-slo"))
    ap.add_argument("--slices", action="store_true", help="also store the four slice dimensions (not the target)")
    ap.add_argument("--dag-spans", type=int, default=200_000,
                    help="spans for the DAG-path figure (ingested into SQLite, then run_slo_windows); 0 skips it")
    ap.add_argument("--step", choices=["generate", "job", "check", "dag"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    parquet = args.out / f"spans-{args.spans}.parquet"
    db = args.out / "warehouse.db"
    if args.step == "generate":
        generate(parquet, args.spans)
        return 0
    if args.step == "job":
        print(json.dumps(job(parquet, db, args.slices)))
        return 0
    if args.step == "check":
        print(json.dumps(check_exact(parquet, db)))
        return 0
    if args.step == "dag":
        print(json.dumps(dag_path(args.dag_spans, args.out)))
        return 0

    me = [sys.executable, __file__, "--spans", str(args.spans), "--out", str(args.out)]
    if not parquet.exists():
        t = time.perf_counter()
        subprocess.run([*me, "--step", "generate"], check=True)
        print(f"generated {args.spans:,} spans in {time.perf_counter() - t:.1f} s: {parquet} "
              f"({parquet.stat().st_size / 2**20:.0f} MiB)")
    load = os.getloadavg()[0]
    out = subprocess.run([*me, "--step", "job", *(["--slices"] if args.slices else [])], check=True,
                         capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    what = "model, endpoint and 4 slice dimensions" if args.slices else "model and endpoint"
    print(f"job ({what}, 5-minute windows, {args.spans:,} spans -> {r['rows']:,} rows in {r['windows']} windows, "
          f"SQLite write included; load average {load:.1f} on {os.cpu_count()} cores):")
    print(f"  aggregate: {r['aggregate_cpu_s']:.2f} CPU-s ({r['aggregate_wall_s']:.2f} s wall)")
    print(f"  write:     {r['write_cpu_s']:.2f} CPU-s ({r['write_wall_s']:.2f} s wall)")
    print(f"  total:     {r['job_cpu_s']:.2f} CPU-s ({r['job_wall_s']:.2f} s wall), peak RSS {r['peak_rss_mib']:.0f} MiB"
          f"  [target <= 5 CPU-s, <= 768 MiB]")
    print(f"  spans of the unpriced model counted as cost unknown: {r['unknown_cost_spans']:,}")
    out = subprocess.run([*me, "--step", "check"], check=True, capture_output=True, text=True)
    c = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"exactness: TTFT p95 and latency p99 of the {c['groups_checked']} busiest windows vs numpy: "
          f"max relative difference {c['max_relative_error']:.2e}")
    if args.dag_spans:
        out = subprocess.run([*me, "--step", "dag", "--dag-spans", str(args.dag_spans)], check=True,
                             capture_output=True, text=True)
        d = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"DAG path (slo_report's task: {d['spans']:,} spans read back from llm_spans on SQLite, 4 slice "
              f"dimensions, {d['windows']} windows, {d['rows']:,} rows): {d['cpu_s']:.2f} CPU-s "
              f"({d['wall_s']:.2f} s wall), process peak RSS {d['peak_rss_mib']:.0f} MiB (ingestion included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
