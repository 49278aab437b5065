"""Drift benchmark: llmmon's drift job next to Evidently's DataDriftPreset on the same data, in one run.

Data: 1,000,000 current vs 100,000 reference rows; the numeric features (prompt_chars, prompt_tokens,
output_tokens, ttft_s, latency_s, embedding_distance, oov_rate — the embedding distances precomputed) and the
categorical ones (prompt_template, user_segment, language, attack_signal), the current window mildly shifted.
Each contender runs in its own subprocess (CPU-seconds from getrusage, peak RSS = the child's ru_maxrss):

- ``llmmon``: statistics on all rows (calibrated PSI/JS, KS, chi-square, Wasserstein, correction), the warehouse
  write (SQLite), the report sample and the Evidently report rendered on it (import cost shown apart);
- ``evidently``: ``Report([DataDriftPreset()])`` with its defaults on all rows;
- ``embed``: the local hashed n-gram embedder on 100,000 prompts (prompts per second);
- ``features``: every text feature (tokens, language, attack patterns and similarity, embeddings, OOV, token
  counts) of 100,000 reference and 100,000 current prompts.

Run: .venv/bin/python bench/drift.py [--rows 1000000] [--ref-rows 100000] [--skip-evidently]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time

NUMERIC = ("prompt_chars", "prompt_tokens", "output_tokens", "ttft_s", "latency_s", "embedding_distance", "oov_rate")
CATEGORICAL = ("prompt_template", "user_segment", "language", "attack_signal")


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_data(n: int, shift: float, seed: int) -> dict:
    """Columns of ``n`` requests; ``shift`` moves lengths, the template mix and the language/attack shares."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {
        "prompt_chars": np.round(rng.lognormal(5.0 + 0.05 * shift, 0.5, n)),
        "prompt_tokens": np.round(rng.lognormal(3.6 + 0.05 * shift, 0.5, n)),
        "output_tokens": rng.poisson(60, n).astype(np.float64),
        "ttft_s": np.where(rng.random(n) < 0.05, np.nan, rng.gamma(4.0, 0.05, n)),
        "latency_s": rng.gamma(4.0, 0.25, n),
        "embedding_distance": rng.beta(2.0 + shift, 8.0, n),
        "oov_rate": rng.beta(1.0, 30.0 - 5 * shift, n),
    }
    cats = {
        "prompt_template": (["support_routing", "ticket_extraction", "ticket_triage", "policy_qa"],
                            [0.3, 0.28, 0.22, 0.2 + 0.1 * shift]),
        "user_segment": (["free", "plus", "business"], [0.5, 0.3, 0.2]),
        "language": (["en", "es", "de", "fr"], [0.9 - 0.05 * shift, 0.04 + 0.03 * shift, 0.03 + 0.02 * shift, 0.03]),
        "attack_signal": (["no", "yes"], [0.995 - 0.01 * shift, 0.005 + 0.01 * shift]),
    }
    for name, (values, p) in cats.items():
        p = np.asarray(p) / np.sum(p)
        out[name] = np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p)]
    return out


def run_llmmon(rows: int, ref_rows: int) -> dict:
    import datetime as dt

    from llmmon.config import DEFAULTS_PATH, load_settings
    from llmmon.drift.features import Features
    from llmmon.drift.job import evaluate_features
    from llmmon.drift.stats import DriftResult
    from llmmon.warehouse import Warehouse
    from llmmon.warehouse.drift_store import replace_drift_run

    ref_cols, cur_cols = make_data(ref_rows, 0.0, 1), make_data(rows, 1.0, 2)

    def frame(cols: dict, n: int) -> Features:
        return Features(n=n, numeric={k: cols[k] for k in NUMERIC},
                        categorical={k: list(cols[k]) for k in CATEGORICAL})

    f_ref, f_cur = frame(ref_cols, ref_rows), frame(cur_cols, rows)
    del ref_cols, cur_cols
    settings = load_settings(DEFAULTS_PATH, env={})
    cfg = settings.drift
    tmp = tempfile.mkdtemp()
    wh = Warehouse(f"sqlite:///{tmp}/bench.db")
    wh.upgrade()
    t0 = time.process_time()
    results: list[DriftResult] = evaluate_features(f_ref, f_cur, cfg, seed=1,
                                                   features=list(NUMERIC) + list(CATEGORICAL))
    t_stats = time.process_time() - t0
    now = dt.datetime.now(dt.UTC)
    metrics = [r.row() for r in results]
    run = {"run_key": "bench", "endpoint": "", "window_start": now - dt.timedelta(days=1), "window_end": now,
           "reference": "rolling-7d", "reference_start": now - dt.timedelta(days=8),
           "reference_end": now - dt.timedelta(days=1), "status": "success", "n_ref": ref_rows, "n_cur": rows,
           "n_features_tested": sum(1 for m in metrics if m["decisive"] and m["tested"]),
           "n_features_drifted": sum(1 for m in metrics if m["decisive"] and m["drifted"]),
           "drifted": any(m["drifted"] for m in metrics if m["decisive"]), "computed_at": now}
    t1 = time.process_time()
    replace_drift_run(wh, run, metrics)
    from llmmon.drift.job import _sample

    sample = {"reference": _sample(f_ref, cfg.report.sample_rows, 2), "current": _sample(f_cur, cfg.report.sample_rows, 3)}
    t_write = time.process_time() - t1
    t2 = time.process_time()
    import evidently  # noqa: F401  (the import alone: ~7 s; paid once per report task)
    import pandas as pd

    t_import = time.process_time() - t2
    t3 = time.process_time()
    from llmmon.drift.report import render_html

    page = render_html(run, metrics, {k: pd.DataFrame(v) for k, v in sample.items()})
    t_report = time.process_time() - t3
    drifted = sorted(m["feature"] for m in metrics if m["decisive"] and m["drifted"])
    return {"stats_cpu_s": t_stats, "write_cpu_s": t_write, "evidently_import_cpu_s": t_import,
            "report_cpu_s": t_report, "report_mib": len(page) / 2**20, "peak_mib": _peak_mib(),
            "drifted": drifted, "rows_sample": cfg.report.sample_rows, "n_metrics": len(metrics)}


def run_evidently(rows: int, ref_rows: int) -> dict:
    import pandas as pd

    ref, cur = pd.DataFrame(make_data(ref_rows, 0.0, 1)), pd.DataFrame(make_data(rows, 1.0, 2))
    t0 = time.process_time()
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    t_import = time.process_time() - t0
    t1 = time.process_time()
    definition = DataDefinition(numerical_columns=list(NUMERIC), categorical_columns=list(CATEGORICAL))
    snapshot = Report([DataDriftPreset()]).run(Dataset.from_pandas(cur, data_definition=definition),
                                                Dataset.from_pandas(ref, data_definition=definition))
    result = json.loads(snapshot.json())
    t_run = time.process_time() - t1
    return {"import_cpu_s": t_import, "run_cpu_s": t_run, "peak_mib": _peak_mib(),
            "metrics": len(result.get("metrics", []))}


def run_embed(n: int) -> dict:
    import random

    from llmmon.drift.embeddings import LocalHashedEmbedder

    words = ("where is my order refund billing invoice please help account password shipping delayed cancel "
             "subscription charged twice address change damaged package return policy warranty").split()
    rng = random.Random(7)
    prompts = [" ".join(rng.choice(words) for _ in range(rng.randint(6, 60))) + f" #{i}" for i in range(n)]
    chars = sum(map(len, prompts))
    t0 = time.process_time()
    LocalHashedEmbedder(256).embed(prompts)
    cpu = time.process_time() - t0
    return {"cpu_s": cpu, "prompts_per_s": n / cpu, "mean_chars": chars / n, "peak_mib": _peak_mib()}


def run_features(n: int) -> dict:
    """Feature extraction from prompt text (tokens, language, attack patterns and similarity, embeddings, OOV,
    token counts): ``n`` reference and ``n`` current prompts."""
    import random

    from llmmon.drift.embeddings import LocalHashedEmbedder
    from llmmon.drift.features import compute_features
    from llmmon.drift.text import AttackSet
    from llmmon.drift_config import FEATURES, AttackConfig

    words = ("where is my order refund billing invoice please help account password shipping delayed cancel "
             "subscription charged twice address change damaged package return policy warranty").split()
    rng = random.Random(8)

    def cols() -> dict:
        prompts = [" ".join(rng.choice(words) for _ in range(rng.randint(6, 60))) + f" #{i}" for i in range(n)]
        return {"prompt": prompts, "input_tokens": [len(p) // 4 for p in prompts], "output_tokens": [50] * n,
                "ttft_s": [0.2] * n, "duration_s": [1.0] * n, "prompt_template": ["t"] * n,
                "user_segment": ["s"] * n}

    ref, cur = cols(), cols()
    t0 = time.process_time()
    compute_features(ref, cur, features=list(FEATURES), embedder=LocalHashedEmbedder(256),
                     attacks=AttackSet.from_config(AttackConfig()), seed=1)
    cpu = time.process_time() - t0
    return {"cpu_s": cpu, "prompts_per_s": 2 * n / cpu, "peak_mib": _peak_mib()}


def _child(kind: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--rows", str(args.rows), "--ref-rows", str(args.ref_rows),
           "--embed-rows", str(args.embed_rows)]
    started = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.monotonic() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ref-rows", type=int, default=100_000)
    parser.add_argument("--embed-rows", type=int, default=100_000)
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--child", choices=("llmmon", "evidently", "embed", "features"))
    args = parser.parse_args()
    if args.child:
        result = {"llmmon": lambda: run_llmmon(args.rows, args.ref_rows),
                  "evidently": lambda: run_evidently(args.rows, args.ref_rows),
                  "embed": lambda: run_embed(args.embed_rows),
                  "features": lambda: run_features(args.embed_rows)}[args.child]()
        print(json.dumps(result))
        return
    load = " ".join(f"{x:.2f}" for x in __import__("os").getloadavg())
    print(f"drift benchmark: {args.rows:,} current vs {args.ref_rows:,} reference rows, "
          f"{len(NUMERIC)} numeric + {len(CATEGORICAL)} categorical features (load average {load})")
    ll = _child("llmmon", args)
    job = ll["stats_cpu_s"] + ll["write_cpu_s"] + ll["report_cpu_s"]
    print(f"  llmmon  statistics on all rows      {ll['stats_cpu_s']:6.2f} CPU-s ({ll['n_metrics']} metric rows)")
    print(f"          warehouse write + sample    {ll['write_cpu_s']:6.2f} CPU-s (SQLite)")
    print(f"          Evidently report, {ll['rows_sample']:,}-row sample {ll['report_cpu_s']:6.2f} CPU-s "
          f"({ll['report_mib']:.1f} MiB HTML)")
    print(f"          whole job                   {job:6.2f} CPU-s, peak RSS {ll['peak_mib']:,.0f} MiB "
          f"(+ {ll['evidently_import_cpu_s']:.2f} CPU-s to import Evidently in the report task; wall "
          f"{ll['wall_s']:.1f} s incl. data generation)")
    print(f"          drifted: {', '.join(ll['drifted']) or 'none'}")
    if not args.skip_evidently:
        ev = _child("evidently", args)
        print(f"  Evidently DataDriftPreset() defaults {ev['run_cpu_s']:6.2f} CPU-s, peak RSS {ev['peak_mib']:,.0f} MiB "
              f"(+ {ev['import_cpu_s']:.2f} CPU-s import; wall {ev['wall_s']:.1f} s incl. data generation)")
    em = _child("embed", args)
    print(f"  local embeddings: {args.embed_rows:,} prompts (mean {em['mean_chars']:.0f} chars) in {em['cpu_s']:.2f} "
          f"CPU-s = {em['prompts_per_s']:,.0f} prompts/s, peak RSS {em['peak_mib']:,.0f} MiB")
    fe = _child("features", args)
    print(f"  all text features (embeddings included) of {args.embed_rows:,} + {args.embed_rows:,} prompts: "
          f"{fe['cpu_s']:.2f} CPU-s = {fe['prompts_per_s']:,.0f} prompts/s, peak RSS {fe['peak_mib']:,.0f} MiB")


if __name__ == "__main__":
    main()
