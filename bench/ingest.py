"""Benchmark: ingest 1,000,000 spans from Parquet into ``llm_spans`` — time and peak memory.

Generates a deterministic Parquet file of N spans (default 1,000,000: three models, one of them unpriced, eight
templates, four segments, 2% error spans, 30% RAG calls with retrieved document ids, prompt and completion text,
and 0.1% bad rows: negative durations, missing request models, malformed trace ids), then ingests it into a
fresh warehouse in a child process per run, so each figure is that process's own wall time and peak RSS
(``resource.getrusage(...).ru_maxrss``, imports included). Runs: SQLite file warehouse and PostgreSQL (COPY),
each with the Great Expectations cross-check on and off. Checks every run's counts against the generator's.

Targets (issue 4): at most 30 s and 1 GiB for the SQLite run with Great Expectations on, on a 2-core machine.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--batch-rows 100000] [--dialects sqlite,postgresql]
                                     [--ge on,off] [--pg-url postgresql+psycopg2://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

TARGET_S, TARGET_MIB = 30.0, 1024.0
MODELS = ("llmmon-demo-v1", "llmmon-demo-v2", "unpriced-model")
TEMPLATES = tuple(f"template_{i}" for i in range(8))
SEGMENTS = ("free", "plus", "business", "enterprise")


def generate(path: Path, rows: int, seed: int = 7) -> dict[str, int]:
    """Write the benchmark Parquet file; returns the expected counts (valid, and bad rows per rule)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    chunk = 250_000
    writer = None
    expected = {"valid": 0, "end_before_start": 0, "required_request_model": 0, "trace_id_format": 0}
    start0 = int(dt.datetime(2026, 11, 20, tzinfo=dt.UTC).timestamp() * 1e9)
    prompts = [f"Customer {i}: " + " ".join(rnd.choice(("order", "refund", "late", "charge", "broken", "help",
                                                         "account", "please", "when", "why")) for _ in range(25))
               for i in range(2000)]
    completions = [f"Answer {i}: " + " ".join(rnd.choice(("sure", "we", "will", "refund", "ship", "check", "your",
                                                           "order", "today", "sorry")) for _ in range(18))
                   for i in range(2000)]
    for offset in range(0, rows, chunk):
        n = min(chunk, rows - offset)
        trace = [rnd.randbytes(16).hex() for _ in range(n)]
        span = [rnd.randbytes(8).hex() for _ in range(n)]
        start = start0 + np.arange(offset, offset + n, dtype=np.int64) * 600_000_000  # one span per 0.6 s
        duration = rng.integers(50_000_000, 4_000_000_000, n)
        end = start + duration
        model_idx = rng.integers(0, len(MODELS), n)
        request_model = np.array(MODELS, dtype=object)[model_idx]
        error = rng.random(n) < 0.02
        inp = rng.integers(20, 2000, n)
        out = rng.integers(1, 500, n)
        rag = rng.random(n) < 0.3
        docs = [[f"doc-{rnd.randrange(10_000)}" for _ in range(3)] if r else None for r in rag]
        bad = rng.random(n)
        neg = bad < 0.0004
        no_model = (bad >= 0.0004) & (bad < 0.0007)
        bad_trace = (bad >= 0.0007) & (bad < 0.001)
        end = np.where(neg, start - 1_000_000, end)
        request_model = np.where(no_model, None, request_model)
        trace = [("zz" + t[2:]) if b else t for t, b in zip(trace, bad_trace, strict=True)]
        expected["end_before_start"] += int(neg.sum())
        expected["required_request_model"] += int(no_model.sum())
        expected["trace_id_format"] += int(bad_trace.sum())
        expected["valid"] += int(n - neg.sum() - no_model.sum() - bad_trace.sum())
        pidx = rng.integers(0, len(prompts), n)
        table = pa.table({
            "trace_id": pa.array(trace, pa.string()),
            "span_id": pa.array(span, pa.string()),
            "name": pa.array(np.char.add("chat ", np.array(MODELS)[model_idx]).tolist()),
            "operation": pa.array(["chat"] * n),
            "start_time": pa.array(start, pa.timestamp("ns", tz="UTC")),
            "end_time": pa.array(end, pa.timestamp("ns", tz="UTC")),
            "ttft_s": pa.array(np.where(error, np.nan, duration / 1e9 * 0.3)),
            "status": pa.array(np.where(error, "error", "ok")),
            "error_type": pa.array(np.where(error, "server_error", None).tolist(), pa.string()),
            "request_model": pa.array(request_model.tolist(), pa.string()),
            "response_model": pa.array(np.where(error, None, request_model).tolist(), pa.string()),
            "system_fingerprint": pa.array(np.where(error, None, "fp_bench").tolist(), pa.string()),
            "input_tokens": pa.array(inp),
            "output_tokens": pa.array(np.where(error, 0, out)),
            "endpoint": pa.array(np.array(("chat-a", "chat-b"))[rng.integers(0, 2, n)].tolist()),
            "model_version": pa.array(np.array(("v1", "v2"))[model_idx % 2].tolist()),
            "prompt_template": pa.array(np.array(TEMPLATES)[rng.integers(0, len(TEMPLATES), n)].tolist()),
            "user_segment": pa.array(np.array(SEGMENTS)[rng.integers(0, len(SEGMENTS), n)].tolist()),
            "replica": pa.array(np.char.add("replica-", rng.integers(0, 6, n).astype(str)).tolist()),
            "retrieved_doc_ids": pa.array(docs, pa.list_(pa.string())),
            "prompt": pa.array([prompts[i] for i in pidx]),
            "completion": pa.array([None if e else completions[i] for i, e in zip(pidx, error, strict=True)],
                                   pa.string()),
            "finish_reason": pa.array(np.where(error, None, "stop").tolist(), pa.string()),
        })
        # NaN TTFT of error spans: null, not NaN (NaN would be quarantined as a type problem).
        ttft = table.column("ttft_s")
        import pyarrow.compute as pc

        table = table.set_column(table.schema.get_field_index("ttft_s"), "ttft_s",
                                 pc.if_else(pc.is_nan(ttft), pa.scalar(None, pa.float64()), ttft))
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table)
    writer.close()
    return expected


CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from llmmon.config import load_settings
from llmmon.traffic.ingest import ingest
from llmmon.warehouse import Warehouse
args = json.loads(sys.argv[1])
env = {"LLMMON_WAREHOUSE_URL": args["url"]}
settings = load_settings(env=env)
settings = settings.model_copy(update={"traffic": settings.traffic.model_copy(
    update={"great_expectations": args["ge"], "batch_rows": args["batch_rows"]})})
wh = Warehouse(settings.warehouse.url)
wh.upgrade()
t1 = time.perf_counter()
report = ingest(settings, wh, args["path"], batch_id="bench")
t2 = time.perf_counter()
again = ingest(settings, wh, args["path"], batch_id="bench") if args["again"] else None
t3 = time.perf_counter()
print(json.dumps({"ingest_s": t2 - t1, "startup_s": t1 - t0, "reingest_s": (t3 - t2) if again else None,
                  "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "report": report.to_dict(), "again_inserted": again.inserted if again else None}))
"""


def _pg_database(server_url: str):
    import sqlalchemy as sa

    url = sa.make_url(server_url)
    name = f"llmmon_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return admin, name, url.set(database=name).render_as_string(hide_password=False)


def run_child(args: dict) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(args)], capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--dialects", default="sqlite,postgresql")
    parser.add_argument("--ge", default="on,off", help="Great Expectations cross-check: on, off or both")
    parser.add_argument("--again", action="store_true", help="also time re-ingesting the same file")
    parser.add_argument("--pg-url", default=os.environ.get("LLMMON_TEST_PG_URL",
                                                           "postgresql+psycopg2://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmmon-bench-ingest-") as tmp:
        path = Path(tmp) / "spans.parquet"
        expected = generate(path, args.rows)
        print(f"{args.rows:,} spans -> {path.stat().st_size / 2**20:.0f} MiB Parquet (zstd); expected {expected}")
        print(f"{'dialect':<11} {'GE':<4} {'ingest s':>9} {'peak MiB':>9} {'valid':>9} {'quar.':>6} "
              f"{'GE s':>6} {'read s':>7} {'valid. s':>8} {'write s':>8}  target")
        failures = 0
        for dialect in args.dialects.split(","):
            for ge in args.ge.split(","):
                admin = None
                if dialect == "sqlite":
                    url = f"sqlite:///{tmp}/wh-{ge}.db"
                else:
                    admin, name, url = _pg_database(args.pg_url)
                try:
                    res = run_child({"url": url, "path": str(path), "ge": ge == "on",
                                     "batch_rows": args.batch_rows, "again": args.again})
                finally:
                    if admin is not None:
                        with admin.connect() as conn:
                            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                        admin.dispose()
                rep = res["report"]
                counts_ok = (rep["valid"] == expected["valid"]
                             and all(rep["by_reason"].get(k, 0) == v for k, v in expected.items() if k != "valid"))
                within = res["ingest_s"] <= TARGET_S and res["maxrss_mib"] <= TARGET_MIB
                verdict = ("PASS" if within else "FAIL") + ("" if counts_ok else " (COUNTS WRONG)")
                failures += (not counts_ok) + (not within and dialect == "sqlite" and ge == "on")
                t = rep["timings"]
                print(f"{dialect:<11} {ge:<4} {res['ingest_s']:>9.1f} {res['maxrss_mib']:>9.0f} {rep['valid']:>9,} "
                      f"{rep['quarantined']:>6,} {t.get('great_expectations', 0):>6.1f} {t['read']:>7.1f} "
                      f"{t['validate']:>8.1f} {t['write']:>8.1f}  {verdict}")
                if res["reingest_s"] is not None:
                    print(f"{'':<16} re-ingest of the same file: {res['reingest_s']:.1f} s, "
                          f"{res['again_inserted']} new rows")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
