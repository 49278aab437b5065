"""Retrieval metrics at scale: llmmon vs ranx vs trec_eval (pytrec-eval-terrier), printed side by side.

100,000 queries x 20 retrieved documents, 1-5 relevant documents per query (grades 1-3); the six metrics (recall,
precision, hit rate, MRR, nDCG, MAP) at k = 5 and 10: 12 numbers per query.

    .venv/bin/python bench/retrieval.py [--queries 100000] [--depth 20]

How each is fed (the fair way for each, stated in the output):
- llmmon: padded integer arrays (retrieved ids (n, 20), judged ids and grades (n, 5)) -> ``gains_of`` + ``compute``.
  Run in a separate process so its peak RSS is its own (data included; the data alone is printed too).
- ranx: its numba kernels (the ``*_parallel`` functions its ``evaluate`` calls) on numba typed lists of per-query
  ``[[id, grade]]`` / ``[[id, score]]`` arrays, which is what ``Qrels``/``Run`` hand them; JIT warmed up on a small
  input first; building the typed lists is timed separately.
- trec_eval: ``RelevanceEvaluator`` on dicts of dicts; MRR@k needs the run cut to the top k (its recip_rank has no
  cutoff), so it evaluates three times (full run, top 5, top 10). Building the dicts is timed separately.
Times are CPU seconds (``time.process_time``: all threads), robust to other load on the machine; wall seconds too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

KS = (5, 10)
BASES = ("recall", "precision", "hit", "mrr", "ndcg", "map")


def make_data(n: int, depth: int, seed: int = 0):
    """Padded arrays: retrieved (n, depth) ids, qrel ids (n, 5) (-1 padded), grades (n, 5), scores (n, depth)."""
    rng = np.random.default_rng(seed)
    pool = 1009  # prime: offset + step * j (mod pool) gives distinct ids for any step 1..pool-1
    n_rel = rng.integers(1, 6, size=n)
    qids = np.full((n, 5), -1, dtype=np.int64)
    grades = np.zeros((n, 5), dtype=np.float64)
    retrieved = np.empty((n, depth), dtype=np.int64)
    # each query: a random ranking of distinct ids from a pool of 1000; relevant ids are drawn partly from it
    offset = rng.integers(0, pool, size=(n, 1))
    step = rng.integers(1, pool, size=(n, 1))
    base = (offset + step * np.arange(depth + 5)) % pool
    retrieved[:] = base[:, :depth]
    for r in range(5):
        take_from_run = rng.random(n) < 0.7
        pos = rng.integers(0, depth, size=n)  # a relevant document the retriever found, at a random rank
        pick = np.where(take_from_run, base[np.arange(n), pos], base[:, depth + r])
        has = r < n_rel
        qids[has, r] = pick[has]
        grades[has, r] = rng.integers(1, 4, size=has.sum())
    # ids within a query's judgements must be unique: drop repeats
    for r in range(1, 5):
        dup = (qids[:, [r]] == qids[:, :r]).any(axis=1) & (qids[:, r] >= 0)
        qids[dup, r], grades[dup, r] = -1, 0.0
    scores = np.sort(rng.random((n, depth)), axis=1)[:, ::-1] + np.arange(depth)[::-1] * 1e-9
    return retrieved, qids, grades, scores


def _names() -> list[str]:
    return [f"{b}@{k}" for k in KS for b in BASES]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hwm_mb() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_llmmon(n: int, depth: int) -> dict:
    from llmmon.retrieval.metrics import compute, gains_of

    retrieved, qids, grades, _ = make_data(n, depth)
    data_peak = _peak_mb()
    t, w = time.process_time(), time.perf_counter()
    values = compute(gains_of(retrieved, qids, grades), grades, _names())
    cpu, wall = time.process_time() - t, time.perf_counter() - w
    return {"cpu_s": cpu, "wall_s": wall, "peak_mb": _peak_mb(), "data_peak_mb": data_peak,
            "means": {m: float(np.nanmean(v)) for m, v in values.items()}}


def run_ranx(retrieved, qids, grades, scores) -> dict:
    from numba.typed import List
    from ranx.metrics.average_precision import _average_precision_parallel
    from ranx.metrics.hit_rate import _hit_rate_parallel
    from ranx.metrics.ndcg import _ndcg_parallel
    from ranx.metrics.precision import _precision_parallel
    from ranx.metrics.recall import _recall_parallel
    from ranx.metrics.reciprocal_rank import _reciprocal_rank_parallel

    fns = {"recall": _recall_parallel, "precision": _precision_parallel, "hit": _hit_rate_parallel,
           "mrr": _reciprocal_rank_parallel, "map": _average_precision_parallel,
           "ndcg": lambda q, r, k, lvl: _ndcg_parallel(q, r, k, lvl, True)}

    def typed(n_from: int, n_to: int):
        ql, rl = List(), List()
        for i in range(n_from, n_to):
            keep = qids[i] >= 0
            q = np.stack([qids[i][keep].astype(np.float64), grades[i][keep]], axis=1)
            ql.append(q[np.argsort(-q[:, 1], kind="stable")])
            rl.append(np.stack([retrieved[i].astype(np.float64), scores[i]], axis=1))
        return ql, rl

    t = time.process_time()
    small = typed(0, 50)
    for fn in fns.values():  # JIT warm-up (or load from numba's cache)
        fn(*small, 5, 1)
    warm = time.process_time() - t
    t = time.process_time()
    ql, rl = typed(0, len(retrieved))
    convert = time.process_time() - t
    t, w = time.process_time(), time.perf_counter()
    means = {}
    for k in KS:
        for base in BASES:
            means[f"{base}@{k}"] = float(np.mean(fns[base](ql, rl, k, 1)))
    return {"cpu_s": time.process_time() - t, "wall_s": time.perf_counter() - w, "convert_cpu_s": convert,
            "warmup_cpu_s": warm, "means": means}


def run_trec(retrieved, qids, grades, scores) -> dict:
    import pytrec_eval

    t = time.process_time()
    qrels = {}
    runs = {k: {} for k in (None, *KS)}
    for i in range(len(retrieved)):
        q = str(i)
        qrels[q] = {str(d): int(g) for d, g in zip(qids[i], grades[i], strict=True) if d >= 0}
        full = {str(d): float(s) for d, s in zip(retrieved[i], scores[i], strict=True)}
        runs[None][q] = full
        for k in KS:
            runs[k][q] = dict(list(full.items())[:k])
    convert = time.process_time() - t
    t, w = time.process_time(), time.perf_counter()
    ks = ",".join(map(str, KS))
    res = pytrec_eval.RelevanceEvaluator(qrels, {f"recall.{ks}", f"P.{ks}", f"success.{ks}", f"ndcg_cut.{ks}",
                                                 f"map_cut.{ks}"}).evaluate(runs[None])
    rr = {k: pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(runs[k]) for k in KS}
    cpu, wall = time.process_time() - t, time.perf_counter() - w
    names = {"recall": "recall_{k}", "precision": "P_{k}", "hit": "success_{k}", "ndcg": "ndcg_cut_{k}",
             "map": "map_cut_{k}"}
    means = {}
    for k in KS:
        for base, name in names.items():
            means[f"{base}@{k}"] = float(np.mean([v[name.format(k=k)] for v in res.values()]))
        means[f"mrr@{k}"] = float(np.mean([v["recip_rank"] for v in rr[k].values()]))
    return {"cpu_s": cpu, "wall_s": wall, "convert_cpu_s": convert, "means": means}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=100_000)
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--part", choices=["all", "llmmon"], default="all")
    args = ap.parse_args()
    if args.part == "llmmon":
        print(json.dumps(run_llmmon(args.queries, args.depth)))
        return 0

    n, depth = args.queries, args.depth
    print(f"retrieval metrics: {n:,} queries x {depth} retrieved, 1-5 relevant (grades 1-3); "
          f"{len(_names())} metrics ({', '.join(BASES)} at k={', '.join(map(str, KS))}); load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    proc = subprocess.run([sys.executable, __file__, "--part", "llmmon", "--queries", str(n), "--depth", str(depth)],
                          capture_output=True, text=True, check=True)
    ours = json.loads(proc.stdout.strip().splitlines()[-1])
    data = make_data(n, depth)
    ranx = run_ranx(*data)
    trec = run_trec(*data)
    print(f"  llmmon (numpy, padded int arrays, own process): {ours['cpu_s']:.2f} CPU-s, {ours['wall_s']:.2f} s wall; "
          f"peak RSS {ours['peak_mb']:.0f} MB (data alone {ours['data_peak_mb']:.0f} MB)")
    print(f"  ranx 0.3 (numba kernels on typed lists, after JIT warm-up): {ranx['cpu_s']:.2f} CPU-s, "
          f"{ranx['wall_s']:.2f} s wall; + {ranx['convert_cpu_s']:.2f} CPU-s building its typed lists; "
          f"warm-up {ranx['warmup_cpu_s']:.1f} CPU-s")
    print(f"  trec_eval (pytrec-eval-terrier, 3 evaluations for MRR@k): {trec['cpu_s']:.2f} CPU-s, {trec['wall_s']:.2f} s "
          f"wall; + {trec['convert_cpu_s']:.2f} CPU-s building its dicts")
    print(f"  peak RSS of this process (ranx + trec_eval + data): {_peak_mb():.0f} MB")
    worst = 0.0
    for name in _names():
        for other in (ranx, trec):
            worst = max(worst, abs(ours["means"][name] - other["means"][name]))
    print(f"  means agree across the three: max |difference| {worst:.2e} over {len(_names())} metrics")
    print("  " + "  ".join(f"{m} {ours['means'][m]:.4f}" for m in _names()))
    ratio = ranx["cpu_s"] / ours["cpu_s"] if ours["cpu_s"] else float("inf")
    print(f"  llmmon vs ranx: {ratio:.1f}x less CPU; target <= ranx and <= 1024 MB peak: "
          f"{'met' if ours['cpu_s'] <= ranx['cpu_s'] and ours['peak_mb'] <= 1024 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
