"""Verdict study: false alarms and detection power of llmmon's paired verdict + ``for: 2`` vs the naive rule.

Simulates, on a golden set of 200 examples (8 intents x 25), many 90-day sequences of daily eval runs after a
deploy. Each example has its own pass probability, drawn from a Beta distribution with mean 0.85 (most examples
easy, some always failing, some flaky in between). The baseline is one run of the previous version (day 0); the
new version then runs daily (day 1 is the deploy's own run) and every run is compared with that baseline, as
``golden_eval.find_baseline`` does. New versions:

* stable: as good as the previous version (drop 0);
* degraded by 3, 5 or 10 points of pass rate on this set;

with errors either

* correlated across versions: the new version's per-example probabilities are the old ones shifted on the logit
  scale (the same hard examples fail, a little more often), or
* independent across versions: the new version's probabilities are a fresh draw from the same Beta (its hard
  examples are different ones), then shifted so its mean on this set is the old mean minus the drop.

Rules compared (an alert fires when its condition starts to hold and resolves when it stops; a new firing after
a resolution is a new alert — the same deduplication for every rule):

* llmmon: the run's paired verdict (the ``llmmon.verdicts`` decision: exact McNemar overall and per intent, Holm
  across intents, effect floors; thresholds from ``config.Thresholds`` defaults) is ``regression`` for 2
  consecutive runs (``for: 2``);
* naive: the run's pass rate fell more than T points below the baseline run's (T = 2, 3, 5), single run.

Reported: false alerts per 90 days for the stable version (and the share of 90-day sequences with any), and the
detection power — the share of sequences whose first alert fired within N days of the deploy — per drop. Then
the same for other alphas / ``for`` values, for sets of 50 and 1000 examples (25 per intent), and with 3 trials
per example in every run (the trial-aware sign-flip test).

The per-run decision is computed vectorised from the same statistics functions the verdict uses; a sample of
runs of every scenario is re-judged by ``llmmon.verdicts.compare_runs`` itself and must agree (printed).

    .venv/bin/python bench/verdict_study.py [--sequences 400] [--days 90] [--seed 0] [--check 40]
                                            [--trial-sequences 200]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from llmmon.config import Thresholds
from llmmon.statistics.bootstrap import paired_bootstrap_ci
from llmmon.statistics.mcnemar import mcnemar_exact_p
from llmmon.statistics.signflip import null_distribution
from llmmon.verdicts import REGRESSION, compare_runs

N_EXAMPLES, PER_INTENT = 200, 25
MEAN_PASS, CONCENTRATION = 0.85, 2.0  # Beta(1.7, 0.3): E[p(1-p)] = 0.085, run-to-run sd of the pass rate ~2 points
DROPS = (0.0, 0.03, 0.05, 0.10)
STRUCTURES = ("correlated", "independent")
WITHIN = (1, 2, 3, 7)
_EPS = 1e-12
_CELLS = 4_000_000  # simulated outcomes held at once


@dataclass(frozen=True)
class Rule:
    label: str
    kind: str  # "llmmon" or "naive"
    sustain: int  # consecutive breaching runs before the alert fires (``for``)
    thresholds: Thresholds | None = None
    naive_drop: float = 0.0


def logit_shift_to_mean(p: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Shift each row of probabilities on the logit scale so the row mean equals ``target`` (bisection)."""
    logit = np.log(p) - np.log1p(-p)
    lo = np.full(p.shape[0], -20.0)
    hi = np.full(p.shape[0], 20.0)
    for _ in range(60):
        mid = (lo + hi) / 2
        too_high = (1.0 / (1.0 + np.exp(-(logit - mid[:, None])))).mean(axis=1) > target
        lo = np.where(too_high, mid, lo)
        hi = np.where(too_high, hi, mid)
    return 1.0 / (1.0 + np.exp(-(logit - ((lo + hi) / 2)[:, None])))


def difficulties(rng: np.random.Generator, sequences: int, n: int, structure: str, drop: float):
    """Per-example pass probabilities of the previous (p) and the new (q) version, one row per sequence."""
    a, b = MEAN_PASS * CONCENTRATION, (1 - MEAN_PASS) * CONCENTRATION
    p = np.clip(rng.beta(a, b, size=(sequences, n)), 1e-6, 1 - 1e-6)
    if structure == "correlated":
        q = p.copy() if drop == 0 else logit_shift_to_mean(p, p.mean(axis=1) - drop)
    else:
        fresh = np.clip(rng.beta(a, b, size=(sequences, n)), 1e-6, 1 - 1e-6)
        q = logit_shift_to_mean(fresh, p.mean(axis=1) - drop)
    return p, q


def mcnemar_lookup(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Exact McNemar p-values for arrays of counts (computed once per distinct (b, c))."""
    pairs = np.stack([b.ravel(), c.ravel()], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    values = np.array([mcnemar_exact_p(int(x), int(y)) for x, y in uniq])
    return values[inverse.ravel()].reshape(b.shape)


def adjusted(p: np.ndarray, method: str) -> np.ndarray:
    """Holm or BH adjusted p-values along the last axis (``llmmon.statistics.multiple``, vectorised)."""
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ps = np.take_along_axis(p, order, axis=-1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, ps * (m - np.arange(m))), axis=-1)
    else:
        adj = np.minimum(1.0, np.minimum.accumulate((ps * m / np.arange(1, m + 1))[..., ::-1], axis=-1)[..., ::-1])
    out = np.empty_like(adj)
    np.put_along_axis(out, order, adj, axis=-1)
    return out


def sign_flip_lookup(diffs: np.ndarray, trials: int) -> np.ndarray:
    """Exact sign-flip p-values over the last axis of integer per-example differences (-trials..trials).

    The p-value depends only on how many examples changed by each magnitude and on |sum|: one null distribution
    per distinct multiset of magnitudes, read at every run's |sum| (``llmmon.statistics.signflip``).
    """
    mags = np.abs(diffs)
    counts = np.stack([(mags == m).sum(axis=-1) for m in range(1, trials + 1)], axis=-1)
    total = np.abs(diffs.sum(axis=-1))
    uniq, inverse = np.unique(counts.reshape(-1, trials), axis=0, return_inverse=True)
    tails, offsets, start = [], [], 0
    for row in uniq:
        dist = null_distribution(np.repeat(np.arange(1, trials + 1), row))
        reach = (len(dist) - 1) // 2
        # tail[a] = P(|sum| >= a) for a = 0..reach
        folded = dist[reach:].copy()
        folded[1:] += dist[:reach][::-1]
        tails.append(np.minimum(1.0, np.cumsum(folded[::-1])[::-1]))
        offsets.append(start)
        start += reach + 1
    flat = np.concatenate(tails)
    return flat[np.asarray(offsets)[inverse.ravel()] + total.ravel()].reshape(total.shape)


def regression_verdicts(base: np.ndarray, runs: np.ndarray, th: Thresholds, trials: int) -> np.ndarray:
    """(sequences, days) booleans: is each run's paired verdict against the baseline ``regression``?

    ``base`` (sequences, n) and ``runs`` (sequences, days, n) hold pass counts out of ``trials`` per example.
    """
    s, d, n = runs.shape
    k = n // PER_INTENT
    diff = (runs - base[:, None, :]).reshape(s, d, k, PER_INTENT)
    if trials == 1:  # exact McNemar on the discordant counts, as compare_runs does for one trial
        lost, won = (diff < 0).sum(axis=-1), (diff > 0).sum(axis=-1)
        p_overall, p_intent = mcnemar_lookup(lost.sum(axis=-1), won.sum(axis=-1)), mcnemar_lookup(lost, won)
    else:
        p_overall, p_intent = sign_flip_lookup(diff.reshape(s, d, n), trials), sign_flip_lookup(diff, trials)
    drop_intent = -diff.sum(axis=-1) / (trials * PER_INTENT)
    drop = -diff.sum(axis=(-1, -2)) / (trials * n)
    enough = n >= th.min_examples
    overall = enough & (p_overall < th.alpha) & (drop >= th.min_effect - _EPS)
    judged = enough and PER_INTENT >= th.min_intent_examples
    p_adj = adjusted(p_intent, th.correction)
    intents = judged & (p_adj < th.alpha) & (drop_intent >= th.intent_min_effect - _EPS)
    return overall | intents.any(axis=-1)


def naive_breaches(base: np.ndarray, runs: np.ndarray, t: float, trials: int) -> np.ndarray:
    drop = (base.mean(axis=-1)[:, None] - runs.mean(axis=-1)) / trials
    return drop > t + _EPS


def alerts(breach: np.ndarray, sustain: int) -> tuple[np.ndarray, np.ndarray]:
    """Firings per sequence and the day (1-based) of the first one (0 = never), for ``for: sustain``."""
    s, d = breach.shape
    streak = np.zeros(s, dtype=int)
    fired = np.zeros(s, dtype=int)
    first = np.zeros(s, dtype=int)
    for day in range(d):
        streak = np.where(breach[:, day], streak + 1, 0)
        starts = streak == sustain
        fired += starts
        first = np.where((first == 0) & starts, day + 1, first)
    return fired, first


def result_rows(passes: np.ndarray, trials: int = 1) -> list[dict]:
    """Result dicts, as the warehouse hands them to compare_runs, for one simulated run (pass counts per example)."""
    return [{"example_id": f"ex{j:04d}", "trial": t, "intent": f"intent{j // PER_INTENT}", "passed": t < x,
             "score": float(t < x), "error_type": None} for j, x in enumerate(passes) for t in range(trials)]


def cross_check(base, runs, verdicts, th: Thresholds, trials: int, rng: np.random.Generator, n: int) -> int:
    """Re-judge ``n`` runs (half of them regressions where there are some) with compare_runs; exit on a mismatch."""
    quick = th.model_copy(update={"bootstrap_resamples": 100})  # intervals do not enter the decision
    hits = np.argwhere(verdicts)
    chosen = [tuple(x) for x in hits[rng.permutation(len(hits))[: n // 2]]]
    chosen += [(int(rng.integers(runs.shape[0])), int(rng.integers(runs.shape[1]))) for _ in range(n - len(chosen))]
    for s, d in chosen:
        v = compare_runs(result_rows(runs[s, d], trials), result_rows(base[s], trials), quick)
        if (v.verdict == REGRESSION) != bool(verdicts[s, d]):
            raise SystemExit(f"study decision disagrees with compare_runs at sequence {s} day {d}: {v.reason}")
    return len(chosen)


def simulate(args, rules: list[Rule], n: int, structures=STRUCTURES, drops=DROPS, trials: int = 1,
             sequences: int | None = None) -> tuple[dict, int]:
    """{(structure, drop, rule label): (firings per sequence, first firing day per sequence)}, runs cross-checked.

    Every run (baseline and daily) samples each example ``trials`` times.
    """
    rng = np.random.default_rng([args.seed, n, trials])
    check_rng = np.random.default_rng([args.seed, n, trials, 1])
    sequences = sequences or args.sequences
    out: dict = {}
    checked = 0
    chunk = max(1, _CELLS // (args.days * n))
    for structure in structures:
        for drop in drops:
            breaches: dict[str, list[np.ndarray]] = {r.label: [] for r in rules}
            for start in range(0, sequences, chunk):
                size = min(chunk, sequences - start)
                p, q = difficulties(rng, size, n, structure, drop)
                base = rng.binomial(trials, p)
                runs = rng.binomial(trials, q[:, None, :], size=(size, args.days, n))
                for rule in rules:
                    if rule.kind == "llmmon":
                        breach = regression_verdicts(base, runs, rule.thresholds, trials)
                        if start == 0 and args.check and rule.thresholds == Thresholds():
                            checked += cross_check(base, runs, breach, rule.thresholds, trials, check_rng, args.check)
                    else:
                        breach = naive_breaches(base, runs, rule.naive_drop, trials)
                    breaches[rule.label].append(breach)
            for rule in rules:
                out[(structure, drop, rule.label)] = alerts(np.concatenate(breaches[rule.label]), rule.sustain)
    return out, checked


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def table(results: dict, rules: list[Rule], days: int, structures=STRUCTURES, drops=DROPS, n: int | None = None) -> str:
    head = (["n"] if n else []) + ["errors", "rule", "false alerts / 90 d", "P(any false alert)"]
    head += [f"{round(100 * d)} pt: within {'/'.join(map(str, WITHIN))} d" for d in drops[1:]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for structure in structures:
        for rule in rules:
            fired, _ = results[(structure, 0.0, rule.label)]
            cells = ([str(n)] if n else []) + [structure, rule.label, f"{fired.mean() * 90 / days:.2f}",
                                               pct((fired > 0).mean())]
            for drop in drops[1:]:
                _, first = results[(structure, drop, rule.label)]
                cells.append(" / ".join(pct(((first > 0) & (first <= w)).mean()) for w in WITHIN))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def timings() -> str:
    d = np.random.default_rng(0).normal(size=240)
    paired_bootstrap_ci([d, d], resamples=2000, seed=0)
    t0 = time.perf_counter()
    for i in range(20):
        paired_bootstrap_ci([d, d], resamples=2000, seed=i)
    boot_ms = (time.perf_counter() - t0) / 20 * 1000
    rng = np.random.default_rng(1)
    base, cand = result_rows(rng.binomial(1, np.full(200, 0.85))), result_rows(rng.binomial(1, np.full(200, 0.8)))
    compare_runs(cand, base, Thresholds())
    t0 = time.perf_counter()
    for _ in range(10):
        compare_runs(cand, base, Thresholds())
    verdict_ms = (time.perf_counter() - t0) / 10 * 1000
    return (f"Timing: paired bootstrap, 2000 resamples x 240 examples, pass and score: {boot_ms:.1f} ms; "
            f"compare_runs on 200 examples x 8 intents (default thresholds): {verdict_ms:.1f} ms.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sequences", type=int, default=400, help="90-day sequences per scenario")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", type=int, default=40, help="runs per scenario re-judged by compare_runs")
    parser.add_argument("--trial-sequences", type=int, default=200, help="sequences per scenario with 3 trials")
    args = parser.parse_args()
    t0 = time.perf_counter()
    th = Thresholds()
    llmmon = Rule("llmmon: paired verdict, for: 2", "llmmon", 2, th)
    naive = [Rule(f"naive: drop > {t} pt", "naive", 1, naive_drop=t / 100) for t in (2, 3, 5, 7)]
    main_rules = [llmmon, Rule("llmmon: paired verdict, for: 1", "llmmon", 1, th), *naive]
    variants = [Rule(f"llmmon: alpha {a}, for: {k}", "llmmon", k, th.model_copy(update={"alpha": a}))
                for a in (0.05, 0.1, 0.15, 0.2) for k in (2, 3)]

    print(f"# Verdict study: {args.sequences} sequences x {args.days} daily runs per scenario, seed {args.seed}")
    print()
    print(f"Golden set: {N_EXAMPLES} examples ({N_EXAMPLES // PER_INTENT} intents x {PER_INTENT}); per-example pass "
          f"probability ~ Beta({MEAN_PASS * CONCENTRATION:.2f}, {(1 - MEAN_PASS) * CONCENTRATION:.2f}) (mean "
          f"{MEAN_PASS}). llmmon thresholds: alpha {th.alpha} (two-sided), {th.correction} across intents, "
          f"min_effect {th.min_effect}, intent_min_effect {th.intent_min_effect}.")
    print("Power cells: share of sequences whose first alert fired within 1 / 2 / 3 / 7 days of the deploy "
          f"(day 1 = the deploy's own run). Standard error of a share <= {50 / args.sequences ** 0.5:.1f} points.")
    print()
    print("## llmmon's rule against the naive rule")
    print()
    results, checked = simulate(args, main_rules, N_EXAMPLES)
    print(table(results, main_rules, args.days))
    print()
    print("## llmmon with other alpha and `for` values")
    print()
    results, more = simulate(args, variants, N_EXAMPLES)
    checked += more
    print(table(results, variants, args.days))
    print()
    print("## Other set sizes (25 examples per intent), correlated errors")
    print()
    size_rules = [llmmon, naive[2], naive[3]]
    for i, n in enumerate((50, 1000)):
        results, more = simulate(args, size_rules, n, structures=("correlated",))
        checked += more
        lines = table(results, size_rules, args.days, structures=("correlated",), n=n).splitlines()
        print("\n".join(lines if i == 0 else lines[2:]))
    print()
    print("## Repeated trials: every run (baseline and daily) samples each example 3 times, n = 200")
    print()
    trial_rules = [llmmon, *naive[:3]]
    results, more = simulate(args, trial_rules, N_EXAMPLES, trials=3, sequences=args.trial_sequences)
    checked += more
    print(table(results, trial_rules, args.days))
    print(f"({args.trial_sequences} sequences per scenario; pass rates are means over the 3 trials.)")
    print()
    print(f"{checked} simulated runs re-judged by llmmon.verdicts.compare_runs: all agree with the study's decision.")
    print(timings())
    print(f"Study wall time: {time.perf_counter() - t0:.0f} s.")


if __name__ == "__main__":
    main()
