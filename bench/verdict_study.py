"""Verdict study: false alarms and detection power of llmmon's pooled paired verdict + ``for: 2`` vs the naive rule.

Simulates, on a golden set of 200 examples (8 intents x 25), many 90-day sequences of daily eval runs around a
deploy. Each example has its own pass probability, drawn from a Beta distribution with mean 0.85 (most examples
easy, some always failing, some flaky in between). The previously deployed (stable) version runs daily before the
deploy; the new version then runs daily (day 1 is the deploy's own run). As ``golden_eval.find_baseline`` does,
every run of the new version is compared with the same baseline: the last N successful pre-deploy runs of the
previous version, pooled as trials of each example (``thresholds.baseline_runs``; N = 1 is the single-run baseline
llmmon used before). New versions:

* stable: as good as the previous version (drop 0);
* degraded by 3, 5 or 10 points of pass rate on this set;

with errors either

* correlated across versions: the new version's per-example probabilities are the old ones shifted on the logit
  scale (the same hard examples fail, a little more often), or
* independent across versions: the new version's probabilities are a fresh draw from the same Beta (its hard
  examples are different ones), then shifted so its mean on this set is the old mean minus the drop.

Rules compared (an alert fires when its condition starts to hold and resolves when it stops; a new firing after
a resolution is a new alert — the same deduplication for every rule):

* llmmon: the run's paired verdict against the pooled baseline of N runs (the ``llmmon.verdicts`` decision: the
  trial-aware sign-flip test overall and per intent — exact McNemar when N = 1 and one trial — Holm across intents,
  effect floors; thresholds from ``config.Thresholds`` defaults, alpha 0.15) is ``regression`` for 2 consecutive
  runs (``for: 2``), N = 1, 3 (default), 5; the row marked "(shipped)" is llmmon's default rule, and the same rule
  at alpha 0.05 and 0.10 is measured as a lever (a quieter pager, slower detection);
* naive: the run's pass rate fell more than T points below the most recent pre-deploy run's (T = 2, 3, 5, 7),
  single run — how threshold tools compare.

Reported: false alerts per 90 days for the stable version (and the share of 90-day sequences with any), and the
detection power — the share of sequences whose first alert fired within N days of the deploy — per drop; then the
per-run false-regression rate (calibration of the test), lower alphas, sets of 50 and 1000 examples (25 per
intent), and 3 trials per example in every run.

The per-run decision is computed vectorised (sign-flip null distributions by FFT of the characteristic function,
checked against ``llmmon.statistics``); a sample of runs of every scenario is re-judged by
``llmmon.verdicts.compare_runs`` on the pooled result rows itself and must agree (printed).

    .venv/bin/python bench/verdict_study.py [--sequences 400] [--days 90] [--seed 0] [--check 20]
                                            [--trial-sequences 200]
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import numpy as np

from llmmon.config import Thresholds
from llmmon.statistics.bootstrap import paired_bootstrap_ci
from llmmon.verdicts import REGRESSION, compare_runs, pool_baseline

N_EXAMPLES, PER_INTENT = 200, 25
MEAN_PASS, CONCENTRATION = 0.85, 2.0  # Beta(1.7, 0.3): E[p(1-p)] = 0.085, run-to-run sd of the pass rate ~2 points
DROPS = (0.0, 0.03, 0.05, 0.10)
STRUCTURES = ("correlated", "independent")
WITHIN = (1, 2, 3, 7)
PRE_DEPLOY_RUNS = 5  # daily runs of the stable version kept before the deploy (the largest pool studied)
_EPS = 1e-12
_CELLS = 4_000_000  # simulated outcomes held at once


@dataclass(frozen=True)
class Rule:
    label: str
    kind: str  # "llmmon" or "naive"
    sustain: int  # consecutive breaching runs before the alert fires (``for``)
    thresholds: Thresholds | None = None
    pool: int = 1  # baseline runs pooled (llmmon)
    test: str = "sign_flip"  # llmmon's test; "exchange" is a study-only alternative
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


def sign_flip_batch(diffs: np.ndarray) -> np.ndarray:
    """Exact two-sided sign-flip p-values of each row of integer per-example differences (rows, examples).

    Same null as ``llmmon.statistics.signflip`` (fair independent signs on every difference): the distribution of
    ``sum s_i |d_i|`` has the characteristic function ``prod_m cos(m t)^(n_m)`` (n_m differences of magnitude m),
    evaluated on a grid wide enough to avoid aliasing and inverted by one real FFT per row. The products are one
    matrix product of the magnitude counts with log|cos| (plus a parity for the sign). Float error ~1e-13.
    """
    rows, n = diffs.shape
    mags = np.abs(diffs)
    top = int(mags.max(initial=0))
    out = np.ones(rows)
    if top == 0:
        return out
    counts = np.stack([(mags == m).sum(axis=1) for m in range(1, top + 1)], axis=1)
    observed = np.abs(diffs.sum(axis=1))
    # The null depends only on the magnitude counts: one distribution per distinct count vector.
    code = counts @ (n + 1) ** np.arange(top, dtype=np.int64)
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    counts = counts[first].astype(float)
    reach = int((counts * np.arange(1, top + 1)).sum(axis=1).max())
    size = 1 << int(np.ceil(np.log2(2 * reach + 2)))
    cos = np.cos(np.outer(np.arange(1, top + 1), 2 * np.pi * np.arange(size) / size))
    log_abs, negative = np.log(np.maximum(np.abs(cos), 1e-300)), (cos < 0).astype(float)
    inverse = inverse.ravel()
    chunk = max(1, 4_000_000 // size)
    for start in range(0, len(counts), chunk):
        c = counts[start : start + chunk]
        phi = np.exp(c @ log_abs) * (1.0 - 2.0 * ((c @ negative) % 2))
        dist = np.fft.rfft(phi, axis=1).real / size  # P(S = t), t = 0 .. size/2 (symmetric)
        dist[:, 1:] *= 2.0  # P(|S| = t)
        tail = np.minimum(1.0, np.cumsum(dist[:, ::-1], axis=1)[:, ::-1])  # P(|S| >= t)
        mine = (inverse >= start) & (inverse < start + len(c))
        out[mine] = tail[inverse[mine] - start, observed[mine]]
    return out


def exchange_batch(cand: np.ndarray, base: np.ndarray, kc: int, kb: int) -> np.ndarray:
    """Two-sided p-values of the exact stratified trial-exchange test (study only; llmmon does not ship it).

    Same statistic as the sign-flip test (the sum of per-example differences ``c/kc - b/kb``), another null: under
    "no change" the ``kc + kb`` trials of an example are exchangeable, so given its total passes ``T`` the
    candidate's passes are hypergeometric, independently per example (an exact Cochran-Mantel-Haenszel-type test
    with one stratum per example). With one trial on each side it is the exact McNemar test. ``cand`` and ``base``
    hold pass counts (rows, examples) out of ``kc`` and ``kb``.
    """
    rows, n = cand.shape
    m = kc + kb
    total = cand + base
    counts = np.stack([(total == t).sum(axis=1) for t in range(1, m)], axis=1)
    # sum of differences in units of 1/(kc kb): sum(m c - kc T) = m S - offset, S = passes on informative examples
    observed = np.abs((m * cand - kc * total).sum(axis=1))
    offset = kc * total.sum(axis=1) - m * kc * (total == m).sum(axis=1)
    code = counts @ (n + 1) ** np.arange(m - 1, dtype=np.int64)
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    size = 1 << int(np.ceil(np.log2(kc * n + 2)))
    theta = 2 * np.pi * np.arange(size) / size
    log_cf = []
    for t in range(1, m):  # characteristic function of Hypergeometric(m, t, kc), one per total
        pmf = np.array([math.comb(t, j) * math.comb(m - t, kc - j) for j in range(kc + 1)]) / math.comb(m, kc)
        cf = np.exp(1j * np.outer(theta, np.arange(kc + 1))) @ pmf
        log_cf.append(np.log(np.where(np.abs(cf) < 1e-300, 1e-300, cf)))
    pmf_s = np.fft.fft(np.exp(counts[first].astype(float) @ np.array(log_cf)), axis=1).real / size
    cdf = np.cumsum(pmf_s, axis=1)
    inverse = inverse.ravel()
    hi = -((-(offset + observed)) // m)  # m S - offset >= observed
    lo = (offset - observed) // m  # m S - offset <= -observed
    upper = np.where(hi <= 0, 1.0, 1.0 - cdf[inverse, np.clip(hi - 1, 0, size - 1)])
    lower = np.where(lo >= 0, cdf[inverse, np.clip(lo, 0, size - 1)], 0.0)
    return np.minimum(1.0, upper + lower)


def check_exchange() -> str:
    """The vectorised exchange test against a direct convolution of hypergeometric pmfs, and against McNemar."""
    rng = np.random.default_rng(7)
    worst = 0.0
    for kc, kb in ((1, 3), (3, 9), (1, 5)):
        p = rng.beta(1.7, 0.3, size=(6, 40))
        cand, base = rng.binomial(kc, p), rng.binomial(kb, p)
        fast = exchange_batch(cand, base, kc, kb)
        for r in range(len(cand)):
            dist = {0: 1.0}  # exact null of sum(m c - kc T) by direct convolution
            for t_i in (cand[r] + base[r]).tolist():
                step = {(kc + kb) * j - kc * t_i: math.comb(t_i, j) * math.comb(kc + kb - t_i, kc - j)
                        / math.comb(kc + kb, kc) for j in range(max(0, t_i - kb), min(kc, t_i) + 1)}
                grown: dict[int, float] = {}
                for a, pa in dist.items():
                    for b, pb in step.items():
                        grown[a + b] = grown.get(a + b, 0.0) + pa * pb
                dist = grown
            obs = abs(int(((kc + kb) * cand[r] - kc * (cand[r] + base[r])).sum()))
            worst = max(worst, abs(fast[r] - sum(q for v, q in dist.items() if abs(v) >= obs)))
    p = rng.beta(1.7, 0.3, size=(200, 200))
    cand, base = rng.binomial(1, p), rng.binomial(1, p)
    mcnemar = float(np.abs(exchange_batch(cand, base, 1, 1) - sign_flip_batch(cand - base)).max())
    if worst > 1e-9 or mcnemar > 1e-9:
        raise SystemExit(f"exchange test disagrees with its direct computation ({worst:.2g}) or McNemar ({mcnemar:.2g})")
    return (f"Exchange test checked against a direct convolution (max |diff| {worst:.1e}) and, with one trial a side, "
            f"against exact McNemar ({mcnemar:.1e}).")


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


def verdicts(pre: np.ndarray, runs: np.ndarray, pool: int, th: Thresholds, trials: int,
             test: str = "sign_flip") -> tuple[np.ndarray, np.ndarray]:
    """(sequences, days) booleans: is each run's paired verdict against the pooled baseline ``regression``, and is
    it ``improvement``?

    ``pre`` (sequences, PRE_DEPLOY_RUNS, n), most recent first, and ``runs`` (sequences, days, n) hold pass counts
    out of ``trials`` per example. The baseline pools the first ``pool`` pre-deploy runs: its per-example proportion
    is their passes / (pool * trials), so ``pool * runs - baseline passes`` are the per-example differences in
    units of 1 / (pool * trials). ``test``: "sign_flip" (llmmon's) or "exchange" (:func:`exchange_batch`).
    """
    s, d, n = runs.shape
    k = n // PER_INTENT
    base = pre[:, :pool].sum(axis=1, dtype=np.int16)
    diff = pool * runs.astype(np.int16) - base[:, None, :]
    if test == "sign_flip":
        p_overall = sign_flip_batch(diff.reshape(s * d, n)).reshape(s, d)
        p_intent = sign_flip_batch(diff.reshape(s * d * k, PER_INTENT)).reshape(s, d, k)
    else:
        cand, base_b = runs.astype(np.int16), np.broadcast_to(base[:, None, :], runs.shape)
        kc, kb = trials, pool * trials
        p_overall = exchange_batch(cand.reshape(s * d, n), base_b.reshape(s * d, n), kc, kb).reshape(s, d)
        p_intent = exchange_batch(cand.reshape(s * d * k, PER_INTENT), base_b.reshape(s * d * k, PER_INTENT),
                                  kc, kb).reshape(s, d, k)
    scale = pool * trials
    drop_intent = -diff.reshape(s, d, k, PER_INTENT).sum(axis=-1) / (scale * PER_INTENT)
    drop = -diff.sum(axis=-1) / (scale * n)
    enough = n >= th.min_examples
    overall = enough & (p_overall < th.alpha) & (drop >= th.min_effect - _EPS)
    judged = enough and PER_INTENT >= th.min_intent_examples
    intents = judged & (adjusted(p_intent, th.correction) < th.alpha) & (drop_intent >= th.intent_min_effect - _EPS)
    regression = overall | intents.any(axis=-1)
    improvement = ~regression & enough & (p_overall < th.alpha) & (-drop >= th.min_effect - _EPS)
    return regression, improvement


def naive_breaches(pre: np.ndarray, runs: np.ndarray, t: float, trials: int) -> np.ndarray:
    """The run's pass rate fell more than ``t`` below the most recent pre-deploy run's."""
    drop = (pre[:, 0].mean(axis=-1)[:, None] - runs.mean(axis=-1)) / trials
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


def cross_check(pre, runs, verdicts, pool: int, th: Thresholds, trials: int, rng: np.random.Generator,
                n: int) -> int:
    """Re-judge ``n`` runs (half of them regressions where there are some) with compare_runs on the pooled rows of
    the pre-deploy runs; exit on a mismatch."""
    quick = th.model_copy(update={"bootstrap_resamples": 100})  # intervals do not enter the decision
    hits = np.argwhere(verdicts)
    chosen = [tuple(x) for x in hits[rng.permutation(len(hits))[: n // 2]]]
    chosen += [(int(rng.integers(runs.shape[0])), int(rng.integers(runs.shape[1]))) for _ in range(n - len(chosen))]
    for s, d in chosen:
        baseline = pool_baseline([result_rows(pre[s, i], trials) for i in range(pool)])
        v = compare_runs(result_rows(runs[s, d], trials), baseline, quick)
        if (v.verdict == REGRESSION) != bool(verdicts[s, d]):
            raise SystemExit(f"study decision disagrees with compare_runs (pool {pool}) at sequence {s} day {d}: "
                             f"{v.reason}")
    return len(chosen)


def simulate(args, rules: list[Rule], n: int, structures=STRUCTURES, drops=DROPS, trials: int = 1,
             sequences: int | None = None) -> tuple[dict, int]:
    """{(structure, drop, rule label): (breaches, improvements, firings per sequence, first firing day per sequence)}.

    Every run (pre-deploy and daily) samples each example ``trials`` times. Runs are cross-checked.
    """
    rng = np.random.default_rng([args.seed, n, trials])
    check_rng = np.random.default_rng([args.seed, n, trials, 1])
    sequences = sequences or args.sequences
    out: dict = {}
    checked = 0
    chunk = max(1, _CELLS // ((args.days + PRE_DEPLOY_RUNS) * n))
    for structure in structures:
        for drop in drops:
            breaches: dict[str, list[np.ndarray]] = {r.label: [] for r in rules}
            improvements: dict[str, list[np.ndarray]] = {r.label: [] for r in rules}
            verdict_cache: dict = {}
            for start in range(0, sequences, chunk):
                size = min(chunk, sequences - start)
                p, q = difficulties(rng, size, n, structure, drop)
                pre = rng.binomial(trials, p[:, None, :], size=(size, PRE_DEPLOY_RUNS, n)).astype(np.int8)
                runs = rng.binomial(trials, q[:, None, :], size=(size, args.days, n)).astype(np.int8)
                verdict_cache.clear()
                for rule in rules:
                    if rule.kind == "llmmon":
                        key = (rule.pool, rule.test, rule.thresholds.model_dump_json())
                        if key not in verdict_cache:  # rules differing only in `for` share the verdicts
                            verdict_cache[key] = verdicts(pre, runs, rule.pool, rule.thresholds, trials, rule.test)
                            if (start == 0 and args.check and rule.thresholds == Thresholds()
                                    and rule.test == "sign_flip"):
                                checked += cross_check(pre, runs, verdict_cache[key][0], rule.pool, rule.thresholds,
                                                       trials, check_rng, args.check)
                        breach, improved = verdict_cache[key]
                    else:
                        breach = naive_breaches(pre, runs, rule.naive_drop, trials)
                        improved = np.zeros_like(breach)
                    breaches[rule.label].append(breach)
                    improvements[rule.label].append(improved)
            for rule in rules:
                breach = np.concatenate(breaches[rule.label])
                out[(structure, drop, rule.label)] = (breach, np.concatenate(improvements[rule.label]),
                                                      *alerts(breach, rule.sustain))
    return out, checked


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def false_alerts(fired: np.ndarray, days: int) -> str:
    """Mean firings per 90 days of a stable version, +- 2 standard errors over sequences (the budget is 1)."""
    scale = 90 / days
    return f"{fired.mean() * scale:.2f} +- {2 * scale * fired.std(ddof=1) / len(fired) ** 0.5:.2f}"


def table(results: dict, rules: list[Rule], days: int, structures=STRUCTURES, drops=DROPS, n: int | None = None,
          within=WITHIN) -> str:
    head = (["n"] if n else []) + ["errors", "rule", "false alerts / 90 d (+- 2 SE)", "P(any false alert)"]
    head += [f"{round(100 * d)} pt: within {'/'.join(map(str, within))} d" for d in drops[1:]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for structure in structures:
        for rule in rules:
            _, _, fired, _ = results[(structure, 0.0, rule.label)]
            cells = ([str(n)] if n else []) + [structure, rule.label, false_alerts(fired, days),
                                               pct((fired > 0).mean())]
            for drop in drops[1:]:
                _, _, _, first = results[(structure, drop, rule.label)]
                cells.append(" / ".join(pct(((first > 0) & (first <= w)).mean()) for w in within))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def calibration(results: dict, rules: list[Rule]) -> str:
    """Per-run regression and improvement rates at drop 0, and how strongly consecutive regressions cling together."""
    lines = ["| errors | rule (one verdict per run) | P(regression) | P(improvement) | P(next run regression, given one) |",
             "|---|---|---|---|---|"]
    for structure in STRUCTURES:
        for rule in rules:
            breach, improved, _, _ = results[(structure, 0.0, rule.label)]
            both = (breach[:, 1:] & breach[:, :-1]).sum()
            cond = both / max(1, breach[:, :-1].sum())
            lines.append(f"| {structure} | {rule.label.split(', for')[0].removeprefix('llmmon: ')} | "
                         f"{100 * breach.mean():.2f}% | {100 * improved.mean():.2f}% | {100 * cond:.0f}% |")
    return "\n".join(lines)


def target_check(results: dict, pairs: list[tuple[Rule, list[Rule]]], days: int, drop: float = 0.10,
                 budget: float = 1.0) -> str:
    """llmmon's power at a ``drop`` minus the naive rule's, on the same sequences (paired), +- 2 standard errors,
    with whether the naive rule keeps the false-alarm budget (a rule that breaks it is no fair yardstick)."""
    head = ["errors", "llmmon rule", "its false alerts / 90 d (+- 2 SE)", "naive rule", "its false alerts / 90 d",
            f"{round(100 * drop)} pt power, llmmon minus naive, within {' / '.join(map(str, WITHIN))} d (+- 2 SE)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for structure in STRUCTURES:
        for rule, yardsticks in pairs:
            fa = false_alerts(results[(structure, 0.0, rule.label)][2], days)
            first = results[(structure, drop, rule.label)][3]
            for naive in yardsticks:
                naive_fa = results[(structure, 0.0, naive.label)][2].mean() * 90 / days
                fair = "" if naive_fa <= budget else f" (breaks the budget: {naive_fa / budget:.1f}x)"
                naive_first = results[(structure, drop, naive.label)][3]
                cells = []
                for w in WITHIN:
                    diff = ((first > 0) & (first <= w)).astype(float) - ((naive_first > 0) & (naive_first <= w))
                    se = diff.std(ddof=1) / len(diff) ** 0.5
                    cells.append(f"{100 * diff.mean():+.0f} +- {200 * se:.0f}")
                lines.append(f"| {structure} | {rule.label.removeprefix('llmmon: ')} | {fa} | "
                             f"{naive.label.removeprefix('naive: ')} | {naive_fa:.2f}{fair} | {' / '.join(cells)} |")
    return "\n".join(lines)


def timings() -> str:
    d = np.random.default_rng(0).normal(size=240)
    paired_bootstrap_ci([d, d], resamples=2000, seed=0)
    t0 = time.perf_counter()
    for i in range(20):
        paired_bootstrap_ci([d, d], resamples=2000, seed=i)
    boot_ms = (time.perf_counter() - t0) / 20 * 1000
    rng = np.random.default_rng(1)
    cand = result_rows(rng.binomial(1, np.full(200, 0.8)))
    base = pool_baseline([result_rows(rng.binomial(1, np.full(200, 0.85))) for _ in range(3)])
    compare_runs(cand, base, Thresholds())
    t0 = time.perf_counter()
    for _ in range(10):
        compare_runs(cand, base, Thresholds())
    verdict_ms = (time.perf_counter() - t0) / 10 * 1000
    return (f"Timing: paired bootstrap, 2000 resamples x 240 examples, pass and score: {boot_ms:.1f} ms; "
            f"compare_runs on 200 examples x 8 intents against 3 pooled runs (default thresholds): "
            f"{verdict_ms:.1f} ms.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sequences", type=int, default=400, help="90-day sequences per scenario")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", type=int, default=20, help="runs per scenario and pool re-judged by compare_runs")
    parser.add_argument("--trial-sequences", type=int, default=200, help="sequences per scenario with 3 trials")
    args = parser.parse_args()
    t0 = time.perf_counter()
    th = Thresholds()  # the shipped defaults: the rule marked "(shipped)" is exactly what llmmon runs
    shipped = th.baseline_runs
    pooled = {k: Rule(f"llmmon: pooled N={k}, alpha {th.alpha:g}, for: 2{' (shipped)' if k == shipped else ''}",
                      "llmmon", 2, th, pool=k) for k in (1, 3, 5)}
    per_run = [Rule(f"llmmon: pooled N={k}, alpha {th.alpha:g}, for: 1", "llmmon", 1, th, pool=k) for k in (1, 3, 5)]
    naive = {t: Rule(f"naive: drop > {t} pt", "naive", 1, naive_drop=t / 100) for t in (2, 3, 5, 7)}
    main_rules = [*pooled.values(), per_run[1], *naive.values()]

    print(f"# Verdict study: {args.sequences} sequences x {args.days} daily runs per scenario, seed {args.seed}")
    print()
    print(f"Golden set: {N_EXAMPLES} examples ({N_EXAMPLES // PER_INTENT} intents x {PER_INTENT}); per-example pass "
          f"probability ~ Beta({MEAN_PASS * CONCENTRATION:.2f}, {(1 - MEAN_PASS) * CONCENTRATION:.2f}) (mean "
          f"{MEAN_PASS}). llmmon thresholds: alpha {th.alpha} (two-sided), {th.correction} across intents, "
          f"min_effect {th.min_effect}, intent_min_effect {th.intent_min_effect}; baseline = the last N pre-deploy "
          "runs pooled. Naive: against the last pre-deploy run.")
    print("Power cells: share of sequences whose first alert fired within 1 / 2 / 3 / 7 days of the deploy "
          f"(day 1 = the deploy's own run). Standard error of a share <= {50 / args.sequences ** 0.5:.1f} points.")
    print()
    # Levers: the shipped rule at a lower alpha (a quieter pager, slower detection).
    lever_alphas = (0.05, 0.10)
    variants = {a: Rule(f"llmmon: pooled N={shipped}, alpha {a:g}, for: 2", "llmmon", 2,
                        th.model_copy(update={"alpha": a}), pool=shipped) for a in lever_alphas}
    quiet_per_run = Rule(f"llmmon: pooled N={shipped}, alpha {lever_alphas[0]:g}, for: 1", "llmmon", 1,
                         variants[lever_alphas[0]].thresholds, pool=shipped)
    exchange = [Rule(f"exchange test (not shipped): N={k}, alpha {th.alpha:g}, for: 2", "llmmon", 2, th, pool=k,
                     test="exchange") for k in (3, 5)]
    exchange_per_run = Rule(f"exchange test (not shipped): N=3, alpha {th.alpha:g}, for: 1", "llmmon", 1, th, pool=3,
                            test="exchange")
    # One simulation for every rule on n = 200: all rows below judge the very same runs (paired comparisons).
    results, checked = simulate(args, [*main_rules, per_run[0], per_run[2], *variants.values(), quiet_per_run,
                                       *exchange, exchange_per_run], N_EXAMPLES)
    print("## llmmon's rule against the naive rule")
    print()
    print(table(results, main_rules, args.days))
    print()
    print("## The target: <= 1 false alert per 90 days, 10-point power no lower than the naive rule's")
    print()
    print(target_check(results, [(pooled[shipped], list(naive.values())),
                                 *((v, [naive[7]]) for v in variants.values())], args.days))
    print()
    print("## Calibration: a stable version, one verdict per run (`for: 1`)")
    print()
    print(calibration(results, [*per_run, quiet_per_run, exchange_per_run]))
    print()
    print("## Levers: a lower alpha, or a test that treats pooled trials as exchangeable (study only)")
    print()
    print(table(results, [pooled[shipped], per_run[1], *variants.values(), quiet_per_run, *exchange, naive[7]],
                args.days))
    print("(A `for: 1` row's alerts are the regression streaks that start: the pending alerts of its `for: 2` rule.)")
    print(check_exchange())
    print()
    print("## Other set sizes (25 examples per intent), correlated errors")
    print()
    size_rules = [pooled[shipped], variants[lever_alphas[0]], naive[5], naive[7]]
    for i, n in enumerate((50, 1000)):
        results, more = simulate(args, size_rules, n, structures=("correlated",))
        checked += more
        lines = table(results, size_rules, args.days, structures=("correlated",), n=n).splitlines()
        print("\n".join(lines if i == 0 else lines[2:]))
    print()
    print("## Repeated trials: every run (pre-deploy and daily) samples each example 3 times, n = 200")
    print()
    trial_rules = [pooled[1], pooled[shipped], variants[lever_alphas[0]], naive[5], naive[7]]
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
