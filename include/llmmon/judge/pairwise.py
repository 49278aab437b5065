"""Pairwise judging (shadow and canary comparisons): which of two answers is better, asked in both orders.

LLM judges favour a position (often the first answer shown; Zheng et al. 2023, "Judging LLM-as-a-Judge with
MT-Bench and Chatbot Arena", arXiv:2306.05685). So every pair is judged twice: baseline as A, then candidate
as A. When both orders name the same answer (or both say tie), that is the verdict; when they disagree, the
pair is *position-inconsistent* and counts as a tie. The share of inconsistent pairs is reported: a high
rate says the judge cannot tell the two apart on this rubric, whatever the win rate says.

Scores (as stored in ``judge_scores`` by :func:`run_pairwise`): 1.0 candidate better, 0.5 tie, 0.0 baseline
better — so the mean score is the candidate's win rate with ties counting half.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from llmmon.config import SecretResolver, Settings
from llmmon.errors import ConfigError, RunConfError
from llmmon.judge.calls import JudgeCall, JudgeTarget, judge_many, judge_target, run_sync
from llmmon.judge.parse import parse_preference
from llmmon.judge.prompt import PairItem, judge_request, pairwise_messages
from llmmon.judge.rubrics import Rubric, configured_rubrics
from llmmon.judge.sampling import stratum_of

OUTCOME_SCORE = {"candidate": 1.0, "tie": 0.5, "baseline": 0.0}
_FIRST = {"A": "baseline", "B": "candidate", "tie": "tie"}  # order 1: baseline shown as A
_SECOND = {"A": "candidate", "B": "baseline", "tie": "tie"}  # order 2: candidate shown as A


def combine(baseline_first: str, candidate_first: str) -> tuple[str, bool]:
    """The verdict of a pair from its two orders' winners (``A``/``B``/``tie``): (winner, consistent).

    ``baseline_first`` is the answer when the baseline was shown as A; ``candidate_first`` when the candidate
    was. Consistent when both name the same answer or both say tie; otherwise the pair is a tie.
    """
    o1, o2 = _FIRST[baseline_first], _SECOND[candidate_first]
    return (o1, True) if o1 == o2 else ("tie", False)


@dataclass
class PairOutcome:
    """One pair judged in both orders. ``winner`` is baseline, candidate or tie; None on a judge error."""

    key: str
    winner: str | None
    consistent: bool | None
    baseline_first: str | None
    candidate_first: str | None
    rationale: str | None
    error_type: str | None
    error: str | None
    calls: int
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    judge_model: str | None
    answered_at: dt.datetime | None = None

    @property
    def score(self) -> float | None:
        return None if self.winner is None else OUTCOME_SCORE[self.winner]


@dataclass
class PairwiseReport:
    """All pairs' outcomes and the totals: wins, ties, position-inconsistency rate, candidate win rate."""

    rubric: Rubric
    outcomes: list[PairOutcome] = field(default_factory=list)

    @property
    def judged(self) -> list[PairOutcome]:
        return [o for o in self.outcomes if o.winner is not None]

    def count(self, winner: str) -> int:
        return sum(1 for o in self.judged if o.winner == winner)

    @property
    def inconsistent(self) -> int:
        return sum(1 for o in self.judged if o.consistent is False)

    @property
    def position_inconsistency_rate(self) -> float | None:
        """Inconsistent pairs / pairs judged in both orders (None when none was)."""
        n = len(self.judged)
        return self.inconsistent / n if n else None

    @property
    def candidate_win_rate(self) -> float | None:
        """(candidate wins + half the ties) / pairs judged."""
        n = len(self.judged)
        return (self.count("candidate") + 0.5 * self.count("tie")) / n if n else None

    def summary(self) -> dict[str, Any]:
        return {
            "rubric": self.rubric.label, "pairs": len(self.outcomes), "judged": len(self.judged),
            "errors": len(self.outcomes) - len(self.judged), "candidate_wins": self.count("candidate"),
            "baseline_wins": self.count("baseline"), "ties": self.count("tie"), "inconsistent": self.inconsistent,
            "position_inconsistency_rate": self.position_inconsistency_rate,
            "candidate_win_rate": self.candidate_win_rate,
        }


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _outcome(key: str, first: JudgeCall, second: JudgeCall) -> PairOutcome:
    calls = first.calls + second.calls
    cost = None if first.cost_usd is None or second.cost_usd is None else first.cost_usd + second.cost_usd
    common = dict(key=key, calls=calls, input_tokens=_sum([first.input_tokens, second.input_tokens]),
                  output_tokens=_sum([first.output_tokens, second.output_tokens]), cost_usd=cost,
                  judge_model=second.judge_model or first.judge_model,
                  answered_at=max((c.answered_at for c in (first, second) if c.answered_at), default=None))
    failed = next((c for c in (first, second) if not c.ok), None)
    if failed is not None:
        return PairOutcome(winner=None, consistent=None,
                           baseline_first=first.parsed.winner if first.ok else None,
                           candidate_first=second.parsed.winner if second.ok else None, rationale=None,
                           error_type=failed.error_type, error=failed.error, **common)
    winner, consistent = combine(first.parsed.winner, second.parsed.winner)
    rationale = (f"baseline shown first: {first.parsed.rationale} | candidate shown first: "
                 f"{second.parsed.rationale}")
    return PairOutcome(winner=winner, consistent=consistent, baseline_first=first.parsed.winner,
                       candidate_first=second.parsed.winner, rationale=rationale, error_type=None, error=None,
                       **common)


def pairwise_rubric(settings: Settings, name: str) -> Rubric:
    """The pairwise rubric ``name``; ConfigError when unknown or not pairwise."""
    rubric = configured_rubrics(settings, [name])[0]
    if rubric.kind != "pairwise":
        raise ConfigError(f"rubric {name!r} is {rubric.kind}; pairwise judging needs a pairwise rubric")
    return rubric


async def judge_pairs_async(client: Any, rubric: Rubric, pairs: list[PairItem], *, workers: int,
                            mode: str = "json_schema", max_tokens: int | None = None) -> PairwiseReport:
    """Judge each pair in both orders with an open EndpointClient; all calls share its concurrency bound."""
    keys = [p.key for p in pairs]
    if len(set(keys)) != len(keys):
        raise RunConfError("pair keys must be unique")
    jobs = []
    for pair in pairs:
        for order, baseline_first in (("1", True), ("2", False)):
            messages = pairwise_messages(rubric, pair, baseline_first=baseline_first)
            jobs.append((judge_request(f"{pair.key}#{order}", messages, rubric, mode=mode, max_tokens=max_tokens),
                         parse_preference, rubric))
    calls = {c.key: c for c in await judge_many(client, jobs, workers=workers)}
    return PairwiseReport(rubric, [_outcome(p.key, calls[f"{p.key}#1"], calls[f"{p.key}#2"]) for p in pairs])


def judge_pairs(settings: Settings, pairs: list[PairItem], *, rubric: str = "preference",
                secrets: SecretResolver | None = None, target: JudgeTarget | None = None) -> PairwiseReport:
    """Judge ``pairs`` in both orders with the configured judge (synchronous); see the module docstring."""
    r = pairwise_rubric(settings, rubric)
    target = target or judge_target(settings, secrets=secrets)

    async def main() -> PairwiseReport:
        async with target.client() as client:
            return await judge_pairs_async(client, r, pairs, workers=target.concurrency,
                                           mode=settings.judge.response_format, max_tokens=settings.judge.max_tokens)

    return run_sync(main)


@dataclass(frozen=True)
class SpanPair:
    """A production span (the baseline answer) and a candidate answer to the same prompt, e.g. a shadow's."""

    trace_id: str
    span_id: str
    item: PairItem
    prompt_template: str | None = None
    user_segment: str | None = None
    endpoint: str | None = None
    model_version: str | None = None  # the candidate's version
    span_start_time: dt.datetime | None = None


def run_pairwise(
    settings: Settings,
    warehouse: Any,
    pairs: list[SpanPair],
    *,
    judge_run_key: str,
    window_start: dt.datetime,
    window_end: dt.datetime,
    rubric: str = "preference",
    secrets: SecretResolver | None = None,
) -> dict[str, Any]:
    """Judge span pairs in both orders and record them: a ``judge_runs`` row of kind pairwise (with its
    position-inconsistency rate) and one ``judge_scores`` row per pair (score 1 / 0.5 / 0). Idempotent: a rerun
    with the same key overwrites the same rows. Returns the report's summary."""
    from llmmon.warehouse import judge_store

    r = pairwise_rubric(settings, rubric)
    target = judge_target(settings, secrets=secrets)
    t0 = time.perf_counter()
    judge_store.start_judge_run(warehouse, {
        "judge_run_key": judge_run_key, "kind": "pairwise", "window_start": window_start, "window_end": window_end,
        "rubrics": [r.label], "judge_endpoint": target.endpoint.name, "judge_model": target.endpoint.model,
        "sampled": len(pairs), "planned": len(pairs), "budget_cut": 0, "skipped": 0,
    })
    report = judge_pairs(settings, [p.item for p in pairs], rubric=rubric, target=target)
    by_key = {o.key: o for o in report.outcomes}
    rows = []
    for p in pairs:
        o = by_key[p.item.key]
        rows.append({
            "judge_run_key": judge_run_key, "trace_id": p.trace_id, "span_id": p.span_id, "rubric": r.name,
            "rubric_version": r.version, "kind": "pairwise",
            "stratum": stratum_of(p.prompt_template, p.user_segment), "prompt_template": p.prompt_template,
            "user_segment": p.user_segment, "window_start": window_start, "window_end": window_end,
            "span_start_time": p.span_start_time, "endpoint": p.endpoint, "model_version": p.model_version,
            "judge_model": o.judge_model or target.endpoint.model, "score": o.score, "score_norm": o.score,
            "rationale": o.rationale, "error_type": o.error_type, "error": o.error, "judge_calls": o.calls,
            "judge_input_tokens": o.input_tokens, "judge_output_tokens": o.output_tokens,
            "judge_cost_usd": o.cost_usd,
            "details": {"baseline_first": o.baseline_first, "candidate_first": o.candidate_first,
                        "consistent": o.consistent, "winner": o.winner},
            "judged_at": o.answered_at or dt.datetime.now(dt.UTC),
        })
    judge_store.write_judge_scores(warehouse, rows)
    judge_store.finish_judge_run(warehouse, judge_run_key, status="success",
                                 update={"position_inconsistency_rate": report.position_inconsistency_rate})
    return {**report.summary(), "judge_run_key": judge_run_key, "wall_s": round(time.perf_counter() - t0, 3)}
