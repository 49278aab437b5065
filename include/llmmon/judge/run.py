"""``run_judging``: judge a window of production traffic — read spans, sample, judge, write ``judge_scores``.

Steps (each deterministic given the window, so a retried or cleared run converges):

1. Read the judgeable spans of ``[window_start, window_end)`` from ``llm_spans`` (status ok, with a prompt and
   a completion — spans recorded without content cannot be judged):
   ids and stratum only, so a busy window costs little memory.
2. Sample them (:mod:`llmmon.judge.sampling`): a hash of span id and window, stratified with minimums.
3. Read the sampled spans' content; pair each span with each rubric whose requirements it meets (a rubric that
   requires a reference or context skips spans without one — counted, not judged).
4. Cut the items to the budget (judge calls and estimated USD), in sample priority order.
5. Skip items this run already judged (a killed or retried run resumes; items that ended in an endpoint error
   are tried again, unparsable answers are not — that verdict stands).
6. Judge the rest with bounded concurrency; write rows in batches as they come, upserted by
   (judge_run_key, trace_id, span_id, rubric).
7. Close the ``judge_runs`` row with totals recomputed from its rows. Judge errors beyond
   ``judge.error_budget`` of the items mark the run failed and raise :class:`JudgeRunError` (after writing).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from llmmon.config import SecretResolver, Settings
from llmmon.errors import ConfigError, LlmmonError, RunConfError
from llmmon.judge.calls import UNPARSABLE, JudgeCall, JudgeTarget, judge_many, judge_target, run_sync
from llmmon.judge.parse import parse_judgement
from llmmon.judge.prompt import JudgeItem, estimate_tokens, judge_request, pointwise_messages
from llmmon.judge.rubrics import Rubric, configured_rubrics
from llmmon.judge.sampling import apply_budget, sample_spans, stratum_of
from llmmon.records import ChatRequest

log = logging.getLogger("llmmon.judge")

FLUSH_ROWS = 500
FLUSH_SECONDS = 2.0


class JudgeRunError(LlmmonError):
    """A judge run wrote its rows but ended with more judge errors than its error budget allows."""


@dataclass
class _Item:
    """One span x rubric to judge."""

    span: dict[str, Any]
    rubric: Rubric
    request: ChatRequest

    @property
    def row_key(self) -> tuple[str, str, str]:
        return (self.span["trace_id"], self.span["span_id"], self.rubric.name)


def _check_window(window_start: dt.datetime, window_end: dt.datetime) -> None:
    for name, value in (("window_start", window_start), ("window_end", window_end)):
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise RunConfError(f"{name} must be a timezone-aware datetime, got {value!r}")
    if window_start >= window_end:
        raise RunConfError(f"window_start {window_start.isoformat()} must be before window_end {window_end.isoformat()}")


def _pointwise(settings: Settings, names: list[str] | None) -> list[Rubric]:
    rubrics = configured_rubrics(settings, names)
    pairwise = [r.name for r in rubrics if r.kind != "pointwise"]
    if pairwise:
        raise ConfigError(f"run_judging scores spans one at a time; pairwise rubric(s) {pairwise} belong to "
                          "llmmon.judge.pairwise")
    return rubrics


def plan_items(
    settings: Settings, rubrics: list[Rubric], spans: list[dict[str, Any]]
) -> tuple[list[_Item], int]:
    """Judge items for the sampled spans, in sample order, and how many (span, rubric) pairs were skipped."""
    cfg = settings.judge
    items: list[_Item] = []
    skipped = 0
    for span in spans:
        for rubric in rubrics:
            if ("reference" in rubric.requires and not span.get("reference")) or (
                "context" in rubric.requires and not span.get("context")
            ):
                skipped += 1
                continue
            item = JudgeItem(
                key=f"{span['trace_id']}/{span['span_id']}/{rubric.name}",
                question=span.get("prompt") or "",
                answer=span.get("completion") or "",
                reference=span.get("reference") if "reference" in rubric.requires else None,
                context=span.get("context") if "context" in rubric.requires else None,
            )
            request = judge_request(item.key, pointwise_messages(rubric, item), rubric, mode=cfg.response_format,
                                    max_tokens=cfg.max_tokens)
            items.append(_Item(span, rubric, request))
    return items, skipped


def _cost_estimator(settings: Settings, target: JudgeTarget, day: dt.date):
    est_out = settings.judge.budget.est_output_tokens

    def cost_of(item: _Item) -> tuple[int, float | None]:
        return 1, target.prices.cost(target.endpoint.model, estimate_tokens(item.request.messages), est_out, day)

    return cost_of


def _score_row(
    item: _Item, call: JudgeCall, *, judge_run_key: str, window_start: dt.datetime, window_end: dt.datetime,
    default_model: str,
) -> dict[str, Any]:
    span, rubric = item.span, item.rubric
    judgement = call.parsed
    details = {"parse_problems": call.problems} if call.problems else None
    return {
        "judge_run_key": judge_run_key,
        "trace_id": span["trace_id"],
        "span_id": span["span_id"],
        "rubric": rubric.name,
        "rubric_version": rubric.version,
        "kind": "pointwise",
        "stratum": stratum_of(span.get("prompt_template"), span.get("user_segment")),
        "prompt_template": span.get("prompt_template"),
        "user_segment": span.get("user_segment"),
        "window_start": window_start,
        "window_end": window_end,
        "span_start_time": span.get("start_time"),
        "endpoint": span.get("endpoint"),
        "model_version": span.get("model_version"),
        "judge_model": call.judge_model or default_model,
        "score": float(judgement.score) if judgement is not None else None,
        "score_norm": rubric.normalize(judgement.score) if judgement is not None else None,
        "rationale": judgement.rationale if judgement is not None else None,
        "error_type": call.error_type,
        "error": call.error,
        "judge_calls": call.calls,
        "judge_input_tokens": call.input_tokens,
        "judge_output_tokens": call.output_tokens,
        "judge_cost_usd": call.cost_usd,
        "details": details,
        "judged_at": call.answered_at or dt.datetime.now(dt.UTC),
    }


class _BatchWriter:
    """Collects score rows on the event loop and writes them in batches from a worker thread."""

    def __init__(self, warehouse: Any) -> None:
        from llmmon.warehouse.judge_store import write_judge_scores

        self._write = write_judge_scores
        self._warehouse = warehouse
        self._rows: list[dict[str, Any]] = []
        self._last = time.monotonic()
        self._lock = asyncio.Lock()
        self.written = 0

    async def add(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= FLUSH_ROWS or time.monotonic() - self._last >= FLUSH_SECONDS:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:  # one write at a time, in order
            rows, self._rows = self._rows, []
            self._last = time.monotonic()
            if rows:
                self.written += await asyncio.to_thread(self._write, self._warehouse, rows)


def _by_rubric(warehouse: Any, judge_run_key: str) -> dict[str, dict[str, Any]]:
    from llmmon.warehouse.schema_judge import judge_scores

    c = judge_scores.c
    q = (
        sa.select(c.rubric, c.model_version, sa.func.count().label("rows"), sa.func.count(c.score).label("judged"),
                  sa.func.avg(c.score).label("mean_score"), sa.func.avg(c.score_norm).label("mean_score_norm"))
        .where(c.judge_run_key == judge_run_key)
        .group_by(c.rubric, c.model_version)
        .order_by(c.rubric, c.model_version)
    )
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for r in warehouse.select_rows(q):
        out[r["rubric"]][r["model_version"] or ""] = {
            "judged": int(r["judged"]), "errors": int(r["rows"]) - int(r["judged"]),
            "mean_score": None if r["mean_score"] is None else round(float(r["mean_score"]), 4),
            "mean_score_norm": None if r["mean_score_norm"] is None else round(float(r["mean_score_norm"]), 4),
        }
    return dict(out)


def run_judging(
    settings: Settings,
    warehouse: Any,
    *,
    window_start: dt.datetime,
    window_end: dt.datetime,
    judge_run_key: str,
    rubrics: list[str] | None = None,
    secrets: SecretResolver | None = None,
) -> dict[str, Any]:
    """Sample and judge the window's spans, write ``judge_scores`` idempotently; return a summary dict.

    ``rubrics``: names of pointwise rubrics (default ``settings.judge.rubrics``). ``secrets`` resolves the
    judge endpoint's API key (default: environment variables). Raises ConfigError for an unknown rubric or
    judge endpoint, RunConfError for a bad window, JudgeRunError (after writing) past the error budget.
    """
    from llmmon.warehouse import judge_store

    _check_window(window_start, window_end)
    if not judge_run_key:
        raise RunConfError("judge_run_key must be a non-empty string")
    cfg = settings.judge
    rubric_list = _pointwise(settings, rubrics)
    target = judge_target(settings, secrets=secrets)
    t0 = time.perf_counter()

    candidates = judge_store.window_candidates(warehouse, window_start, window_end)
    plan = sample_spans(candidates, config=cfg.sampling, window_start=window_start, window_end=window_end)
    contents = judge_store.span_contents(warehouse, [(c.trace_id, c.span_id) for c in plan.ordered],
                                         cfg.context_attribute)
    spans = [contents[(c.trace_id, c.span_id)] for c in plan.ordered if (c.trace_id, c.span_id) in contents]
    items, skipped = plan_items(settings, rubric_list, spans)
    today = dt.datetime.now(dt.UTC).date()
    budget = apply_budget(items, _cost_estimator(settings, target, today), max_calls=cfg.budget.max_calls,
                          max_usd=cfg.budget.max_usd)
    if budget.est_usd is None and cfg.budget.max_usd is not None and budget.kept:
        log.warning("judge model %r has no price: the USD budget (%s) cannot be enforced, only max_calls",
                    target.endpoint.model, cfg.budget.max_usd)
    if budget.cut:
        log.info("judge budget (%s) left out %d of %d items", budget.reason, budget.cut, len(items))

    done = judge_store.existing_scores(warehouse, judge_run_key)
    # An endpoint error may be transient (a timeout, a 5xx): try it again. An unparsable verdict stands.
    todo = [it for it in budget.kept if it.row_key not in done or done[it.row_key] not in (None, UNPARSABLE)]
    resumed = len(budget.kept) - len(todo)

    judge_store.start_judge_run(warehouse, {
        "judge_run_key": judge_run_key, "kind": "pointwise", "window_start": window_start, "window_end": window_end,
        "rubrics": [r.label for r in rubric_list], "judge_endpoint": target.endpoint.name,
        "judge_model": target.endpoint.model, "spans_in_window": len(candidates), "sampled": plan.size,
        "planned": len(budget.kept), "budget_cut": budget.cut, "skipped": skipped,
        "details": {
            "sampling": cfg.sampling.model_dump(), "strata": plan.strata,
            "budget": {"max_calls": cfg.budget.max_calls, "max_usd": cfg.budget.max_usd, "cut_by": budget.reason,
                       "est_calls": budget.calls, "est_usd": budget.est_usd},
        },
    })

    stats: dict[str, Any] = {}
    if todo:
        stats = _judge(warehouse, target, todo, judge_run_key=judge_run_key, window_start=window_start,
                       window_end=window_end)

    rows = len(budget.kept)
    existing_after = judge_store.existing_scores(warehouse, judge_run_key)
    errors = sum(1 for key in (it.row_key for it in budget.kept) if existing_after.get(key) is not None)
    over = rows > 0 and errors / rows > cfg.error_budget
    error = (f"{errors} of {rows} judge items ended in a judge error, above the error budget of "
             f"{cfg.error_budget:.0%}") if over else None
    run = judge_store.finish_judge_run(warehouse, judge_run_key, status="failed" if over else "success", error=error)
    summary = {
        "judge_run_key": judge_run_key,
        "window_start": window_start.isoformat(),
        "window_end": window_end.isoformat(),
        "rubrics": [r.label for r in rubric_list],
        "judge_model": target.endpoint.model,
        "spans_in_window": len(candidates),
        "sampled": plan.size,
        "strata": len(plan.strata),
        "planned": rows,
        "budget_cut": budget.cut,
        "skipped": skipped,
        "resumed": resumed,
        "judged": run["judged"],
        "errors": run["errors"],
        "calls": run["calls"],
        "input_tokens": run["input_tokens"],
        "output_tokens": run["output_tokens"],
        "cost_usd": run["cost_usd"],
        "status": run["status"],
        "by_rubric": _by_rubric(warehouse, judge_run_key),
        "wall_s": round(time.perf_counter() - t0, 3),
        **stats,
    }
    if over:
        raise JudgeRunError(f"judge run {judge_run_key}: {error} (rows are written; see judge_scores.error)")
    return summary


def _judge(
    warehouse: Any, target: JudgeTarget, todo: list[_Item], *, judge_run_key: str, window_start: dt.datetime,
    window_end: dt.datetime,
) -> dict[str, Any]:
    by_key = {it.request.key: it for it in todo}
    jobs = [(it.request, lambda text, r=it.rubric: parse_judgement(text, r), it.rubric) for it in todo]

    async def main() -> dict[str, Any]:
        writer = _BatchWriter(warehouse)

        async def on_done(call: JudgeCall) -> None:
            row = _score_row(by_key[call.key], call, judge_run_key=judge_run_key, window_start=window_start,
                             window_end=window_end, default_model=target.endpoint.model)
            await writer.add(row)

        async with target.client() as client:
            t = time.perf_counter()
            await judge_many(client, jobs, workers=target.concurrency, on_done=on_done)
            judge_wall = time.perf_counter() - t
        await writer.flush()
        return {"judge_wall_s": round(judge_wall, 3), "concurrency": target.concurrency}

    return run_sync(main)
