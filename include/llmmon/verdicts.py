"""Golden-set verdicts: compare a candidate run with its baseline on the same example ids.

The comparison is paired: only examples present in both runs count, so a changed set never masquerades as a
changed model. A drop in pass rate beyond the configured threshold — overall, or for an intent with enough
examples — is a regression. The exact McNemar p-value of the discordant pairs is recorded beside each slice so a
reader can see whether a drop is more than noise. Above the error budget (endpoint errors, not wrong answers)
the verdict is ``inconclusive``: an outage is not a quality regression.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from math import comb
from typing import Any

from llmmon.config import Thresholds

REGRESSION = "regression"
IMPROVEMENT = "improvement"
NO_CHANGE = "no_change"
INCONCLUSIVE = "inconclusive"
NO_BASELINE = "no_baseline"


def mcnemar_exact_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs (binomial test at 1/2).

    McNemar (1947), "Note on the sampling error of the difference between correlated proportions".
    """
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2.0 * tail)


@dataclass(frozen=True)
class SliceComparison:
    """Paired pass rates of one slice (``overall`` or ``intent:<name>``) in baseline and candidate."""

    subject: str
    n_paired: int
    baseline_pass_rate: float
    candidate_pass_rate: float
    threshold: float
    baseline_only_passed: int  # passed in the baseline, failed in the candidate
    candidate_only_passed: int  # failed in the baseline, passed in the candidate
    mcnemar_p: float
    judged: bool  # False when the slice has too few examples to be judged alone

    @property
    def drop(self) -> float:
        return self.baseline_pass_rate - self.candidate_pass_rate

    @property
    def regressed(self) -> bool:
        return self.judged and self.drop > self.threshold

    @property
    def improved(self) -> bool:
        return self.judged and -self.drop > self.threshold


@dataclass(frozen=True)
class Verdict:
    """The outcome of comparing a candidate run with its baseline."""

    verdict: str
    reason: str
    baseline_run_key: str | None = None
    error_share: float = 0.0
    error_budget: float = 0.0
    overall: SliceComparison | None = None
    intents: list[SliceComparison] = field(default_factory=list)

    @property
    def regressions(self) -> list[SliceComparison]:
        slices = ([self.overall] if self.overall else []) + self.intents
        return [s for s in slices if s.regressed]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """Rebuild a verdict stored by :meth:`to_dict` (derived keys such as ``drop`` are ignored)."""
        def sc(d: Mapping[str, Any] | None) -> SliceComparison | None:
            if d is None:
                return None
            return SliceComparison(**{k: v for k, v in d.items() if k != "drop"})

        return cls(
            verdict=data["verdict"], reason=data["reason"], baseline_run_key=data.get("baseline_run_key"),
            error_share=data.get("error_share", 0.0), error_budget=data.get("error_budget", 0.0),
            overall=sc(data.get("overall")), intents=[sc(i) for i in data.get("intents", [])],
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for s in ([out["overall"]] if out["overall"] else []) + out["intents"]:
            s["drop"] = s["baseline_pass_rate"] - s["candidate_pass_rate"]
        return out


def _pairs(results: Iterable[Mapping[str, Any]]) -> dict[tuple[str, int], Mapping[str, Any]]:
    return {(r["example_id"], int(r.get("trial") or 0)): r for r in results}


def _compare_slice(
    subject: str, keys: list[tuple[str, int]], base: Mapping, cand: Mapping, threshold: float, judged: bool
) -> SliceComparison:
    n = len(keys)
    base_pass = sum(1 for k in keys if base[k]["passed"])
    cand_pass = sum(1 for k in keys if cand[k]["passed"])
    b = sum(1 for k in keys if base[k]["passed"] and not cand[k]["passed"])
    c = sum(1 for k in keys if cand[k]["passed"] and not base[k]["passed"])
    return SliceComparison(
        subject=subject,
        n_paired=n,
        baseline_pass_rate=base_pass / n if n else 0.0,
        candidate_pass_rate=cand_pass / n if n else 0.0,
        threshold=threshold,
        baseline_only_passed=b,
        candidate_only_passed=c,
        mcnemar_p=mcnemar_exact_p(b, c),
        judged=judged and n > 0,
    )


def compare_runs(
    candidate: Iterable[Mapping[str, Any]],
    baseline: Iterable[Mapping[str, Any]] | None,
    thresholds: Thresholds,
    *,
    baseline_run_key: str | None = None,
) -> Verdict:
    """Compare per-example results (dicts with example_id, trial, intent, passed, error_type)."""
    cand = _pairs(candidate)
    n_total = len(cand)
    n_errors = sum(1 for r in cand.values() if r.get("error_type"))
    error_share = n_errors / n_total if n_total else 0.0
    common = dict(error_share=error_share, error_budget=thresholds.error_budget, baseline_run_key=baseline_run_key)

    if n_total == 0:
        return Verdict(INCONCLUSIVE, "the candidate run has no results", **common)
    if error_share > thresholds.error_budget:
        return Verdict(
            INCONCLUSIVE,
            f"{n_errors} of {n_total} calls failed ({error_share:.1%}), above the error budget "
            f"of {thresholds.error_budget:.1%}: endpoint errors are not judged as a quality change",
            **common,
        )
    if baseline is None:
        return Verdict(NO_BASELINE, "no earlier successful run of this suite version on the previous version", **common)

    base = _pairs(baseline)
    keys = sorted(set(cand) & set(base))
    if not keys:
        return Verdict(INCONCLUSIVE, "baseline and candidate share no example ids", **common)

    overall = _compare_slice("overall", keys, base, cand, thresholds.min_effect, judged=True)
    by_intent: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for k in keys:
        by_intent[str(cand[k].get("intent"))].append(k)
    intents = [
        _compare_slice(
            f"intent:{intent}", ks, base, cand, thresholds.intent_min_effect,
            judged=len(ks) >= thresholds.min_intent_examples,
        )
        for intent, ks in sorted(by_intent.items())
    ]
    verdict = Verdict(NO_CHANGE, "", overall=overall, intents=intents, **common)
    regressions = verdict.regressions
    if regressions:
        worst = ", ".join(f"{s.subject} {s.baseline_pass_rate:.1%} -> {s.candidate_pass_rate:.1%}" for s in regressions)
        return Verdict(REGRESSION, f"pass rate dropped beyond threshold: {worst}", overall=overall,
                       intents=intents, **common)
    if overall.improved:
        return Verdict(IMPROVEMENT, f"overall pass rate rose {overall.baseline_pass_rate:.1%} -> "
                       f"{overall.candidate_pass_rate:.1%}", overall=overall, intents=intents, **common)
    return Verdict(NO_CHANGE, f"overall pass rate {overall.baseline_pass_rate:.1%} -> "
                   f"{overall.candidate_pass_rate:.1%}, within thresholds", overall=overall, intents=intents, **common)
