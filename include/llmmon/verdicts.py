"""Golden-set verdicts: is the candidate run worse than its baseline, beyond noise? (see docs/verdicts.md)

The comparison is paired: only examples present in both runs count, so a changed set never masquerades as a
changed model, and each example is compared with itself. Every slice (``overall`` and ``intent:<name>``) carries
its paired test (exact McNemar for one trial per example, the sign-flip permutation test on per-example pass
proportions for k trials), its p-value adjusted across intents (Holm or Benjamini-Hochberg), paired bootstrap
intervals of the pass-rate and mean-score change, and the minimum detectable effect for its size. A slice
regresses when the test is significant AND the drop reaches the effect floor: significance alone flags harmless
changes on big sets, a fixed drop alone cries wolf on small ones.

Endpoint errors are not wrong answers: above the error budget the verdict is ``inconclusive``; below it, errored
trials are left out of the pairing (and counted).

The baseline may pool several runs of the previous version (:func:`pool_baseline`, ``thresholds.baseline_runs``):
their trials count as trials of each example, so one lucky baseline run cannot make every later verdict look worse
together. The verdict names every pooled run (``baseline_run_keys``).
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from llmmon.config import Thresholds

if TYPE_CHECKING:  # the statistics (numpy) load when a comparison runs, not when a verdict is read
    from llmmon.statistics.trials import ExampleOutcome

REGRESSION = "regression"
IMPROVEMENT = "improvement"
NO_SIGNIFICANT_CHANGE = "no_significant_change"
INCONCLUSIVE = "inconclusive"
NO_BASELINE = "no_baseline"
VERDICTS = (REGRESSION, IMPROVEMENT, NO_SIGNIFICANT_CHANGE, INCONCLUSIVE, NO_BASELINE)

MCNEMAR_EXACT = "mcnemar_exact"
FLAKY_LIST_CAP = 20  # flaky example ids kept in the verdict; the count is always complete
_EPS = 1e-12  # pass rates are means of fractions: 0.85 - 0.80 must count as a 5-point drop


@dataclass(frozen=True)
class SliceComparison:
    """Paired comparison of one slice (``overall`` or ``intent:<name>``); rates and differences are 0..1 shares.

    ``b``/``c`` are McNemar's discordant counts: examples whose pass proportion fell / rose (with one trial per
    example: passed only in the baseline / only in the candidate). ``discordance`` is the mean squared per-example
    pass difference ((b + c) / n for one trial). Intervals are of candidate minus baseline.
    """

    subject: str
    n_paired: int
    baseline_pass_rate: float
    candidate_pass_rate: float
    baseline_mean_score: float
    candidate_mean_score: float
    b: int
    c: int
    discordance: float
    test: str  # mcnemar_exact | sign_flip_exact | sign_flip_monte_carlo
    p_value: float
    p_adjusted: float | None  # None when the slice is not judged
    correction: str  # "none" (overall), "holm" or "bh" (intents)
    pass_rate_diff_ci: tuple[float, float] | None
    score_diff_ci: tuple[float, float] | None
    mde: float | None  # smallest pass-rate change detectable with the configured power; None if none is
    min_effect: float  # the drop a regression must reach (min_effect overall, intent_min_effect per intent)
    judged: bool  # False when the slice (or the whole comparison) has too few examples to be judged
    regressed: bool
    improved: bool

    @property
    def drop(self) -> float:
        """Baseline minus candidate pass rate (positive = worse)."""
        return self.baseline_pass_rate - self.candidate_pass_rate

    @property
    def threshold(self) -> float:  # read by alerts/golden.py
        return self.min_effect

    @property
    def mcnemar_p(self) -> float:  # read by alerts/golden.py; the trial-aware test's p-value for k > 1
        return self.p_value


@dataclass(frozen=True)
class Verdict:
    """The outcome of comparing a candidate run with its baseline, with the statistics behind it."""

    verdict: str
    reason: str
    baseline_run_key: str | None = None  # the most recent baseline run (baseline_run_keys[0])
    baseline_run_keys: list[str] = field(default_factory=list)  # every run pooled into the baseline, newest first
    error_share: float = 0.0  # candidate trials that failed at the endpoint / all candidate trials
    error_budget: float = 0.0
    n_errors: int = 0  # candidate trials with an endpoint error
    n_excluded: int = 0  # common examples left out of the pairing: no error-free trial in one of the runs
    trials: int = 1  # most trials any example had in the candidate run
    baseline_trials: int = 0  # most trials any example had in the (pooled) baseline: runs x trials per run
    flaky_count: int = 0  # examples whose trials disagree in either run
    flaky_examples: list[str] = field(default_factory=list)  # their ids, the first FLAKY_LIST_CAP
    alpha: float | None = None
    correction: str | None = None
    confidence: float | None = None
    power: float | None = None
    overall: SliceComparison | None = None
    intents: list[SliceComparison] = field(default_factory=list)

    @property
    def regressions(self) -> list[SliceComparison]:
        """Slices that regressed (empty unless the verdict is ``regression``)."""
        return [s for s in self._slices() if s.regressed]

    def _slices(self) -> list[SliceComparison]:
        return ([self.overall] if self.overall else []) + list(self.intents)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (no NaN or infinity: the warehouse refuses them), with each slice's ``drop`` added."""
        out = asdict(self)
        for s in ([out["overall"]] if out["overall"] else []) + out["intents"]:
            s["drop"] = s["baseline_pass_rate"] - s["candidate_pass_rate"]
        return _json_safe(out)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """Rebuild a verdict stored by :meth:`to_dict` (derived keys such as ``drop`` are ignored)."""
        slice_keys = {f.name for f in fields(SliceComparison)}

        def sc(d: Mapping[str, Any] | None) -> SliceComparison | None:
            if d is None:
                return None
            missing = sorted(slice_keys - set(d))
            if missing:
                raise ValueError(f"stored verdict slice {d.get('subject')!r} lacks {', '.join(missing)} "
                                 "(written by an older llmmon? compare the run again)")
            kw = {k: v for k, v in d.items() if k in slice_keys}
            for ci in ("pass_rate_diff_ci", "score_diff_ci"):
                if kw.get(ci) is not None:
                    kw[ci] = tuple(kw[ci])
            return SliceComparison(**kw)

        verdict_keys = {f.name for f in fields(cls)} - {"overall", "intents"}
        if "verdict" not in data or "reason" not in data:
            raise ValueError("stored verdict lacks 'verdict' or 'reason'")
        kw = {k: v for k, v in data.items() if k in verdict_keys}
        kw["flaky_examples"] = list(kw.get("flaky_examples") or [])
        keys = kw.get("baseline_run_keys")
        if keys is None:  # stored before baselines were pooled: the one run compared with
            keys = [kw["baseline_run_key"]] if kw.get("baseline_run_key") else []
        kw["baseline_run_keys"] = list(keys)
        return cls(**kw, overall=sc(data.get("overall")), intents=[sc(i) for i in data.get("intents") or []])


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _pts(x: float) -> str:
    return f"{100 * x:.1f}"


@dataclass(frozen=True)
class _Pair:
    """One example in both runs."""

    base: ExampleOutcome
    cand: ExampleOutcome


def _measure(subject: str, pairs: list[_Pair], th: Thresholds, seed: int, mde_alpha: float) -> dict[str, Any]:
    """Everything about one slice that does not depend on the other slices."""
    from llmmon.statistics.bootstrap import paired_bootstrap_ci
    from llmmon.statistics.mcnemar import mcnemar_exact_p
    from llmmon.statistics.power import min_detectable_effect
    from llmmon.statistics.signflip import sign_flip_p

    n = len(pairs)
    d_pass = [p.cand.pass_share - p.base.pass_share for p in pairs]
    d_score = [p.cand.mean_score - p.base.mean_score for p in pairs]
    b = sum(1 for d in d_pass if d < 0)
    c = sum(1 for d in d_pass if d > 0)
    # one seed per slice and purpose, stable across runs and independent of slice order
    slice_seed = [seed, zlib.crc32(subject.encode())]
    if all(p.base.valid == 1 and p.cand.valid == 1 for p in pairs):
        test, p_value = MCNEMAR_EXACT, mcnemar_exact_p(b, c)
    else:
        p_value, test = sign_flip_p(d_pass, seed=[*slice_seed, 1])
    discordance = sum(float(d) ** 2 for d in d_pass) / n
    k = max(max(p.base.valid, p.cand.valid) for p in pairs)
    pass_ci, score_ci = paired_bootstrap_ci(
        [[float(d) for d in d_pass], d_score], confidence=th.confidence, resamples=th.bootstrap_resamples,
        seed=[*slice_seed, 0],
    )
    return dict(
        subject=subject,
        n_paired=n,
        baseline_pass_rate=float(sum(p.base.pass_share for p in pairs) / n),
        candidate_pass_rate=float(sum(p.cand.pass_share for p in pairs) / n),
        baseline_mean_score=sum(p.base.mean_score for p in pairs) / n,
        candidate_mean_score=sum(p.cand.mean_score for p in pairs) / n,
        b=b,
        c=c,
        discordance=discordance,
        test=test,
        p_value=float(p_value),
        pass_rate_diff_ci=pass_ci,
        score_diff_ci=score_ci,
        mde=min_detectable_effect(n, discordance, mde_alpha, th.power, step=1.0 / k),
    )


def _decide(m: dict[str, Any], *, p_adjusted: float | None, correction: str, min_effect: float, judged: bool,
            alpha: float) -> SliceComparison:
    drop = m["baseline_pass_rate"] - m["candidate_pass_rate"]
    significant = judged and p_adjusted is not None and p_adjusted < alpha
    return SliceComparison(
        **m, p_adjusted=p_adjusted, correction=correction, min_effect=min_effect, judged=judged,
        regressed=significant and drop >= min_effect - _EPS,
        improved=significant and -drop >= min_effect - _EPS,
    )


def _describe(s: SliceComparison, confidence: float) -> str:
    adjusted = s.correction != "none" and s.p_adjusted is not None
    p = f"adjusted p={s.p_adjusted:.3g}" if adjusted else f"p={s.p_value:.3g}"
    ci = ""
    if s.pass_rate_diff_ci is not None:
        lo, hi = s.pass_rate_diff_ci
        ci = f", {confidence:.0%} CI of the change [{_pts(lo)}, {_pts(hi)}] points"
    return f"{s.subject} {_pct(s.baseline_pass_rate)} -> {_pct(s.candidate_pass_rate)} ({p}, n={s.n_paired}{ci})"


def pool_baseline(runs: Sequence[Iterable[Mapping[str, Any]]]) -> list[dict[str, Any]] | None:
    """The baseline for :func:`compare_runs` from the result rows of the pooled runs, most recent first.

    Every run's trials become trials of one run (``trial = run_index * k + trial``, k the trial slots of the widest
    run; see :func:`llmmon.statistics.trials.pool_runs`). None for no runs: there is no baseline.
    """
    from llmmon.statistics.trials import pool_runs

    return pool_runs(runs) if runs else None


def compare_runs(
    candidate: Iterable[Mapping[str, Any]],
    baseline: Iterable[Mapping[str, Any]] | None,
    thresholds: Thresholds,
    *,
    baseline_run_key: str | None = None,
    baseline_run_keys: Sequence[str] | None = None,
    seed: int = 0,
) -> Verdict:
    """Compare per-example results (dicts with example_id, trial, intent, passed, score, error_type).

    ``baseline`` is one run's rows or several runs pooled by :func:`pool_baseline`; ``baseline_run_keys`` names
    the pooled runs, most recent first (``baseline_run_key``, kept for one run, is the first of them). With a pooled
    baseline an example's baseline pass proportion is over all its pooled trials, and the trial-aware sign-flip test
    judges the per-example differences (McNemar only when both sides have one trial per example).

    ``seed`` makes the bootstrap intervals (and any Monte Carlo p-value) reproducible: the same runs and seed give
    the same verdict, byte for byte.
    """
    from llmmon.statistics.multiple import adjust
    from llmmon.statistics.trials import aggregate_trials, flaky_examples, max_trials

    keys = list(baseline_run_keys) if baseline_run_keys is not None else []
    if baseline_run_key is not None and keys and keys[0] != baseline_run_key:
        raise ValueError(f"baseline_run_key {baseline_run_key!r} must be the first (most recent) of "
                         f"baseline_run_keys {keys!r}")
    if baseline_run_key is not None and not keys:
        keys = [baseline_run_key]
    th = thresholds
    cand = aggregate_trials(candidate, source="candidate results")
    n_trials = sum(o.trials for o in cand.values())
    n_errors = sum(o.errors for o in cand.values())
    error_share = n_errors / n_trials if n_trials else 0.0
    base = aggregate_trials(baseline, source="baseline results") if baseline is not None else {}
    flaky = flaky_examples(cand, base)
    common: dict[str, Any] = dict(
        baseline_run_key=keys[0] if keys else None, baseline_run_keys=keys, error_share=error_share,
        error_budget=th.error_budget, n_errors=n_errors, trials=max(1, max_trials(cand)),
        baseline_trials=max_trials(base), flaky_count=len(flaky), flaky_examples=flaky[:FLAKY_LIST_CAP],
        alpha=th.alpha, correction=th.correction, confidence=th.confidence, power=th.power,
    )

    if n_trials == 0:
        return Verdict(INCONCLUSIVE, "the candidate run has no results", **common)
    if error_share > th.error_budget:
        return Verdict(
            INCONCLUSIVE,
            f"{n_errors} of {n_trials} calls failed at the endpoint ({error_share:.1%}), above the error budget "
            f"of {th.error_budget:.1%}: endpoint errors are not judged as a quality change",
            **common,
        )
    if baseline is None:
        return Verdict(NO_BASELINE, "no earlier successful run of this suite version on the previous version", **common)

    shared = sorted(set(cand) & set(base))
    if not shared:
        return Verdict(INCONCLUSIVE, "baseline and candidate share no example ids", **common)
    pairs = {eid: _Pair(base[eid], cand[eid]) for eid in shared if base[eid].valid and cand[eid].valid}
    common["n_excluded"] = n_excluded = len(shared) - len(pairs)
    notes = (f"; {n_excluded} shared example(s) left out: an endpoint error in every trial of one run"
             if n_excluded else "")
    if keys:  # how much baseline the verdict stands on
        notes += f"; baseline: {len(keys)} pooled runs" if len(keys) > 1 else "; baseline: 1 run"
    if not pairs:
        return Verdict(INCONCLUSIVE, f"no shared example has an error-free result in both runs{notes}", **common)

    by_intent: dict[str, list[_Pair]] = defaultdict(list)
    for pair in pairs.values():
        by_intent[str(pair.cand.intent)].append(pair)
    enough = len(pairs) >= th.min_examples
    judged_intents = [i for i, ps in by_intent.items() if enough and len(ps) >= th.min_intent_examples]
    # Power of the intents' tests is quoted at the first Holm step's level (alpha / m): conservative for both
    # corrections.
    intent_alpha = th.alpha / max(1, len(judged_intents))

    overall_m = _measure("overall", list(pairs.values()), th, seed, th.alpha)
    overall = _decide(overall_m, p_adjusted=overall_m["p_value"], correction="none", min_effect=th.min_effect,
                      judged=enough, alpha=th.alpha)
    measured = {i: _measure(f"intent:{i}", ps, th, seed, intent_alpha) for i, ps in sorted(by_intent.items())}
    adjusted = dict(zip(judged_intents, adjust([measured[i]["p_value"] for i in judged_intents], th.correction),
                        strict=True))
    intents = [
        _decide(m, p_adjusted=adjusted.get(i), correction=th.correction, min_effect=th.intent_min_effect,
                judged=i in adjusted, alpha=th.alpha)
        for i, m in measured.items()
    ]
    stats = dict(overall=overall, intents=intents, **common)

    if not enough:
        return Verdict(
            INCONCLUSIVE,
            f"only {len(pairs)} paired examples, fewer than min_examples={th.min_examples}: "
            f"{_describe(overall, th.confidence)}{notes}",
            **stats,
        )
    slices = [overall, *intents]
    regressed = [s for s in slices if s.regressed]
    if regressed:
        return Verdict(REGRESSION, "pass rate dropped significantly: "
                       + "; ".join(_describe(s, th.confidence) for s in regressed) + notes, **stats)
    if overall.improved:
        return Verdict(IMPROVEMENT, "pass rate rose significantly: " + _describe(overall, th.confidence) + notes,
                       **stats)
    mde = (f"; with {overall.n_paired} paired examples only changes of {_pts(overall.mde)} points or more are "
           f"detectable with {th.power:.0%} power" if overall.mde is not None else "")
    return Verdict(NO_SIGNIFICANT_CHANGE, "no significant change: " + _describe(overall, th.confidence) + mde
                   + notes, **stats)
