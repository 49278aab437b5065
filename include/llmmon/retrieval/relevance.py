"""Context relevance: the project's LLM judge rates each retrieved chunk for its query (rubric ``context_relevance``).

The chunk is the judged "answer" and the query the "question" of a pointwise judge prompt (``llmmon.judge.prompt``),
so the judge's client, strict parsing with one retry, cost accounting and budget apply unchanged. The rubric ships
with this package (``rubrics/context_relevance.yaml``); a rubric of the same name in ``judge.rubrics_dir`` replaces
it. Judge errors are recorded per chunk, never raised.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmmon.errors import ConfigError

log = logging.getLogger("llmmon.retrieval")

SHIPPED_RUBRIC = Path(__file__).parent / "rubrics" / "context_relevance.yaml"


@dataclass(frozen=True)
class Chunk:
    """One retrieved chunk to rate: ``key`` identifies it in the results."""

    key: str
    query: str
    text: str


@dataclass
class RelevanceReport:
    """Ratings by chunk key (score on the rubric scale and 0..1 relevance), errors, and what the budget cut."""

    rubric_label: str
    judge_model: str
    scores: dict[str, float] = field(default_factory=dict)
    relevance: dict[str, float] = field(default_factory=dict)
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)
    planned: int = 0
    budget_cut: int = 0
    cut_by: str | None = None
    cost_usd: float | None = 0.0
    judged_at: dt.datetime | None = None


def relevance_rubric(settings: Any):
    """The ``context_relevance`` rubric (``retrieval.context_relevance.rubric``): from judge.rubrics_dir when it has
    one of that name, else the shipped one."""
    from llmmon.judge.rubrics import load_rubric, load_rubrics, rubrics_dir

    name = settings.retrieval.context_relevance.rubric
    configured = load_rubrics(rubrics_dir(settings))
    if name in configured:
        rubric = configured[name]
    elif name == "context_relevance":
        rubric = load_rubric(SHIPPED_RUBRIC)
    else:
        raise ConfigError(f"retrieval.context_relevance.rubric: unknown rubric {name!r}; available: "
                          f"context_relevance, {', '.join(sorted(configured))}")
    if rubric.kind != "pointwise":
        raise ConfigError(f"retrieval.context_relevance.rubric: {name!r} must be a pointwise rubric")
    return rubric


def judge_chunks(settings: Any, chunks: list[Chunk], *, secrets: Any = None) -> RelevanceReport:
    """Rate ``chunks`` (in priority order) with the judge, within ``judge.budget``; a report by chunk key."""
    from llmmon.judge.calls import judge_many, judge_target, run_sync
    from llmmon.judge.parse import parse_judgement
    from llmmon.judge.prompt import JudgeItem, estimate_tokens, judge_request, pointwise_messages
    from llmmon.judge.sampling import apply_budget

    cfg = settings.judge
    rubric = relevance_rubric(settings)
    target = judge_target(settings, secrets=secrets)
    requests = [
        judge_request(c.key, pointwise_messages(rubric, JudgeItem(key=c.key, question=c.query, answer=c.text)),
                      rubric, mode=cfg.response_format, max_tokens=cfg.max_tokens)
        for c in chunks
    ]
    today = dt.datetime.now(dt.UTC).date()
    est_out = cfg.budget.est_output_tokens

    def cost_of(req) -> tuple[int, float | None]:
        return 1, target.prices.cost(target.endpoint.model, estimate_tokens(req.messages), est_out, today)

    budget = apply_budget(requests, cost_of, max_calls=cfg.budget.max_calls, max_usd=cfg.budget.max_usd)
    if budget.cut:
        log.info("judge budget (%s) left %d of %d chunks unrated", budget.reason, budget.cut, len(requests))
    report = RelevanceReport(rubric_label=rubric.label, judge_model=target.endpoint.model, planned=len(budget.kept),
                             budget_cut=budget.cut, cut_by=budget.reason)
    if not budget.kept:
        report.judged_at = dt.datetime.now(dt.UTC)
        return report
    jobs = [(req, lambda text: parse_judgement(text, rubric), rubric) for req in budget.kept]

    async def main():
        async with target.client() as client:
            return await judge_many(client, jobs, workers=target.concurrency)

    calls = run_sync(main)
    cost_known = True
    total = 0.0
    for call in calls:
        if call.cost_usd is None:
            cost_known = False
        else:
            total += call.cost_usd
        if call.ok:
            score = float(call.parsed.score)
            report.scores[call.key] = score
            report.relevance[call.key] = rubric.normalize(score)
        else:
            report.errors[call.key] = (call.error_type or "error", call.error or "")
        if call.judge_model:
            report.judge_model = call.judge_model
    report.cost_usd = total if cost_known else None
    report.judged_at = dt.datetime.now(dt.UTC)
    return report
