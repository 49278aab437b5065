"""Seeded study of the drift verdict: false-alarm rate on identical data and power on real shifts, for llmmon's
calibrated rule (calibrated PSI p-value < alpha AND Wasserstein-1 >= floor) next to fixed PSI >= 0.1 and KS p < 0.05.

One numeric feature, standard normal reference (unit = 1 sigma), effect floor 0.1 sigma, alpha 0.05, 499 bootstrap
replicates. "Harmless" is a shift below the floor: an alarm there is a false alarm too. A second table covers
discrete numeric data (ties), a categorical feature (vs chi-square p < 0.05) and the vocabulary permutation test.
Prints Markdown tables (quoted in docs/drift.md). Run: .venv/bin/python bench/drift_study.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from llmmon.drift.stats import categorical_drift, decide, ks_sorted, numeric_drift, vocabulary_drift

FLOOR = 0.1
CASES = (  # (label, n_ref, n_cur, shift in sigma, trials, what an alarm is)
    ("identical", 100, 100, 0.0, 400, "false alarm"),
    ("identical", 1_000, 1_000, 0.0, 400, "false alarm"),
    ("identical", 100_000, 100_000, 0.0, 60, "false alarm"),
    ("harmless 0.05 sigma", 10_000, 10_000, 0.05, 100, "false alarm"),
    ("harmless 0.05 sigma", 100_000, 100_000, 0.05, 60, "false alarm"),
    ("real 0.5 sigma", 100, 100, 0.5, 400, "detection"),
    ("real 0.2 sigma", 1_000, 1_000, 0.2, 400, "detection"),
    ("real 0.2 sigma", 100_000, 100_000, 0.2, 60, "detection"),
)


def fixed_psi(ref: np.ndarray, cur: np.ndarray, bins: int = 10) -> float:
    """Textbook PSI on 10 reference-quantile bins (epsilon 1e-4 for empty bins)."""
    edges = np.quantile(ref, np.arange(1, bins) / bins)
    p = np.bincount(np.searchsorted(edges, ref), minlength=bins) / len(ref)
    q = np.bincount(np.searchsorted(edges, cur), minlength=bins) / len(cur)
    p, q = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    return float(((q - p) * np.log(q / p)).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a quarter of the trials")
    args = parser.parse_args()
    rng = np.random.default_rng(20261128)
    print("| data | n_ref | n_cur | alarm means | fixed PSI >= 0.1 | KS p < 0.05 | llmmon (calibrated + floor) |")
    print("|---|---:|---:|---|---:|---:|---:|")
    started = time.process_time()
    for label, n_ref, n_cur, shift, trials, meaning in CASES:
        trials = max(20, trials // 4) if args.quick else trials
        alarms = np.zeros(3)
        for _ in range(trials):
            ref = rng.normal(size=n_ref)
            cur = rng.normal(loc=shift, size=n_cur)
            alarms[0] += fixed_psi(ref, cur) >= 0.1
            alarms[1] += ks_sorted(np.sort(ref), np.sort(cur))[1] < 0.05
            rows = numeric_drift("x", ref, cur, floor=FLOOR, bins=10, replicates=499, alpha=0.05, min_values=2,
                                 rng=np.random.default_rng(int(rng.integers(1 << 31))))
            alarms[2] += decide(rows, alpha=0.05, correction="holm")[0].drifted
        rates = alarms / trials
        print(f"| {label} | {n_ref:,} | {n_cur:,} | {meaning} ({trials} trials) | {rates[0]:.1%} | {rates[1]:.1%} "
              f"| {rates[2]:.1%} |")
    other_cases(rng, args.quick)
    print(f"\n(seed 20261128, {time.process_time() - started:.0f} CPU-s)")


def _prompt(py, words: list[str], foreign: list[str], mix: float) -> list[str]:
    pool = foreign if py.random() < mix else words
    weights = [1.0 / (i + 1) for i in range(len(pool))]
    return py.choices(pool, weights, k=py.randint(4, 20))


def other_cases(rng: np.random.Generator, quick: bool) -> None:
    """Discrete numeric data (ties), a categorical feature and the vocabulary permutation test."""
    import random
    from collections import Counter

    print("\n| data | n_ref | n_cur | alarm means | fixed cut-off | llmmon (calibrated + floor) |")
    print("|---|---:|---:|---|---:|---:|")
    trials = 100 if quick else 400
    for label, n, lam_cur, meaning in (("token counts Poisson(30), identical", 1_000, 30.0, "false alarm"),
                                       ("token counts Poisson(30) vs Poisson(32)", 1_000, 32.0, "detection")):
        fixed = ours = 0
        for _ in range(trials):
            ref, cur = rng.poisson(30, n).astype(float), rng.poisson(lam_cur, n).astype(float)
            fixed += fixed_psi(ref, cur) >= 0.1
            rows = numeric_drift("x", ref, cur, floor=1.0, bins=10, replicates=499, alpha=0.05, min_values=2,
                                 rng=np.random.default_rng(int(rng.integers(1 << 31))))
            ours += decide(rows, alpha=0.05, correction="holm")[0].drifted
        print(f"| {label} (floor 1 token) | {n:,} | {n:,} | {meaning} ({trials} trials) | PSI >= 0.1: "
              f"{fixed / trials:.1%} | {ours / trials:.1%} |")
    shares = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
    moved = np.array([0.3, 0.3, 0.15, 0.15, 0.1])
    for label, n, p_cur, meaning in (("5 categories, identical", 100, shares, "false alarm"),
                                     ("5 categories, identical", 10_000, shares, "false alarm"),
                                     ("5 categories, 10 points moved", 300, moved, "detection")):
        fixed = ours = 0
        for _ in range(trials):
            ref = list(rng.choice(5, size=n, p=shares))
            cur = list(rng.choice(5, size=n, p=p_cur))
            rows = categorical_drift("c", ref, cur, floor=0.05, max_categories=30, replicates=499, alpha=0.05,
                                     min_values=2, rng=np.random.default_rng(int(rng.integers(1 << 31))))
            fixed += rows[1].p_value < 0.05  # chi-square
            ours += decide(rows, alpha=0.05, correction="holm")[0].drifted
        print(f"| {label} (floor TV 0.05) | {n:,} | {n:,} | {meaning} ({trials} trials) | chi-square p < 0.05: "
              f"{fixed / trials:.1%} | {ours / trials:.1%} |")
    words = [f"w{i}" for i in range(300)]  # a Zipf-like vocabulary: many rare words, as in real prompts
    foreign = [f"x{i}" for i in range(40)]
    vtrials = 40 if quick else 200
    for label, mix, meaning in (("prompts, identical vocabulary", 0.0, "false alarm"),
                                ("prompts, 10% in another language", 0.1, "detection")):
        fixed = ours = 0
        py = random.Random(int(rng.integers(1 << 31)))
        for _ in range(vtrials):
            ref = [_prompt(py, words, foreign, 0.0) for _ in range(500)]
            cur = [_prompt(py, words, foreign, mix) for _ in range(500)]
            counts = [Counter(w for p in side for w in p) for side in (ref, cur)]
            row = vocabulary_drift(*counts, ref, cur, floor=0.02, vocabulary=500, replicates=199, alpha=0.05,
                                   min_values=2, rng=np.random.default_rng(int(rng.integers(1 << 31))))
            fixed += row[0].statistic >= 0.02
            ours += decide(row, alpha=0.05, correction="holm")[0].drifted
        print(f"| {label} (floor JS 0.02) | 500 | 500 | {meaning} ({vtrials} trials) | JS >= 0.02: "
              f"{fixed / vtrials:.1%} | {ours / vtrials:.1%} |")


if __name__ == "__main__":
    main()
