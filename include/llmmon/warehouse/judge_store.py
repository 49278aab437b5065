"""Warehouse reads and writes of the judge capability (tables in ``schema_judge.py``; spans from ``llm_spans``).

Plain functions over a :class:`~llmmon.warehouse.Warehouse`, each in one transaction. Writes are upserts by
natural key (a judge run by ``judge_run_key``; a score by run, trace, span and rubric; an agreement by
measurement and rubric), so a retried or cleared task converges to the same rows. Run totals are recomputed
from the run's ``judge_scores`` rows, never accumulated, so they cannot drift from the rows they count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from llmmon.judge.sampling import Candidate, stratum_of
from llmmon.warehouse.schema import WarehouseError, metadata, to_utc
from llmmon.warehouse.schema_judge import JUDGE_RUN_STATUSES, judge_agreement, judge_runs, judge_scores
from llmmon.warehouse.upsert import upsert

_CHUNK = 500  # keys per (trace_id, span_id) IN (...) query: well below every dialect's parameter limit
SpanKey = tuple[str, str]


def _spans() -> sa.Table:
    table = metadata.tables.get("llm_spans")
    if table is None:  # the traffic capability's schema module defines it
        raise WarehouseError("the llm_spans table is not defined (llmmon.warehouse.schema_traffic)")
    return table


def _window(table: sa.Table, start: dt.datetime, end: dt.datetime) -> sa.ColumnElement[bool]:
    c = table.c
    # Without the question or the answer (content capture off) there is nothing to judge.
    return sa.and_(c.start_time >= to_utc(start), c.start_time < to_utc(end), c.status == "ok",
                   c.prompt.is_not(None), c.completion.is_not(None))


def window_candidates(warehouse: Any, start: dt.datetime, end: dt.datetime) -> list[Candidate]:
    """The judgeable spans of ``[start, end)`` (status ok, with prompt and completion), ids and stratum only."""
    t = _spans()
    q = sa.select(t.c.trace_id, t.c.span_id, t.c.prompt_template, t.c.user_segment).where(_window(t, start, end))
    return [Candidate(r["trace_id"], r["span_id"], stratum_of(r["prompt_template"], r["user_segment"]))
            for r in warehouse.select_rows(q)]


def span_contents(warehouse: Any, keys: Sequence[SpanKey], context_attribute: str) -> dict[SpanKey, dict[str, Any]]:
    """What judging needs of each span in ``keys``: prompt, completion, reference, context and slices.

    ``context`` is the span attribute ``context_attribute`` (text, or a list of passages joined by blank lines).
    """
    t = _spans()
    c = t.c
    cols = (c.trace_id, c.span_id, c.prompt_template, c.user_segment, c.endpoint, c.model_version, c.start_time,
            c.prompt, c.completion, c.reference, c.attributes)
    out: dict[SpanKey, dict[str, Any]] = {}
    for i in range(0, len(keys), _CHUNK):
        chunk = list(keys[i : i + _CHUNK])
        for row in warehouse.select_rows(sa.select(*cols).where(sa.tuple_(c.trace_id, c.span_id).in_(chunk))):
            attributes = row.pop("attributes") or {}
            row["context"] = _context_text(attributes.get(context_attribute) if isinstance(attributes, dict)
                                           else None)
            out[(row["trace_id"], row["span_id"])] = row
    return out


def _context_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        text = "\n\n".join(str(v) for v in value if v is not None)
    else:
        text = str(value)
    return text if text.strip() else None


def existing_scores(warehouse: Any, judge_run_key: str) -> dict[tuple[str, str, str], str | None]:
    """``(trace_id, span_id, rubric) -> error_type`` of the rows a run already wrote (a retry resumes)."""
    c = judge_scores.c
    q = sa.select(c.trace_id, c.span_id, c.rubric, c.error_type).where(c.judge_run_key == judge_run_key)
    return {(r["trace_id"], r["span_id"], r["rubric"]): r["error_type"] for r in warehouse.select_rows(q)}


def start_judge_run(warehouse: Any, row: dict[str, Any]) -> None:
    """Upsert the run row with status running (a retry resets status, error and finished_at)."""
    if not row.get("judge_run_key"):
        raise WarehouseError("start_judge_run: the row has no judge_run_key")
    values = {**row, "status": "running", "error": None, "finished_at": None}
    values.setdefault("started_at", dt.datetime.now(dt.UTC))
    with warehouse.engine.begin() as conn:
        upsert(conn, judge_runs, [values], ["judge_run_key"])


def write_judge_scores(warehouse: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Upsert score rows by (judge_run_key, trace_id, span_id, rubric), as one batch; returns rows written."""
    rows = list(rows)
    if not rows:
        return 0
    with warehouse.engine.begin() as conn:
        return upsert(conn, judge_scores, rows, ["judge_run_key", "trace_id", "span_id", "rubric"])


def run_totals(conn: sa.Connection, judge_run_key: str) -> dict[str, Any]:
    """Counts, calls, tokens and cost of a run, summed from its judge_scores rows."""
    c = judge_scores.c
    scored = sa.case((c.score.is_not(None), 1), else_=0)
    failed = sa.case((c.error_type.is_not(None), 1), else_=0)
    q = sa.select(
        sa.func.count().label("rows"),
        sa.func.coalesce(sa.func.sum(scored), 0).label("judged"),
        sa.func.coalesce(sa.func.sum(failed), 0).label("errors"),
        sa.func.coalesce(sa.func.sum(c.judge_calls), 0).label("calls"),
        sa.func.coalesce(sa.func.sum(c.judge_input_tokens), 0).label("input_tokens"),
        sa.func.coalesce(sa.func.sum(c.judge_output_tokens), 0).label("output_tokens"),
        sa.func.sum(c.judge_cost_usd).label("cost_usd"),
        sa.func.count(c.judge_cost_usd).label("priced"),
    ).where(c.judge_run_key == judge_run_key)
    with_calls = sa.select(sa.func.count()).where(c.judge_run_key == judge_run_key, c.judge_calls > 0)
    r = conn.execute(q).one()
    n_called = conn.execute(with_calls).scalar_one()
    cost = float(r.cost_usd) if r.cost_usd is not None and r.priced == n_called else None
    if n_called == 0:
        cost = 0.0  # no call made: nothing was spent (known)
    return {"judged": int(r.judged), "errors": int(r.errors), "calls": int(r.calls),
            "input_tokens": int(r.input_tokens), "output_tokens": int(r.output_tokens), "cost_usd": cost}


def finish_judge_run(
    warehouse: Any, judge_run_key: str, *, status: str, error: str | None = None,
    update: dict[str, Any] | None = None, finished_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Close a run: totals recomputed from its score rows, ``update`` applied, status set. Returns the row."""
    if status not in JUDGE_RUN_STATUSES or status == "running":
        raise WarehouseError(f"finish_judge_run({judge_run_key!r}): status {status!r} must be success or failed")
    with warehouse.engine.begin() as conn:
        values = {**(update or {}), **run_totals(conn, judge_run_key), "status": status, "error": error,
                  "finished_at": finished_at or dt.datetime.now(dt.UTC)}
        done = conn.execute(sa.update(judge_runs).where(judge_runs.c.judge_run_key == judge_run_key).values(values))
        if done.rowcount == 0:
            raise WarehouseError(f"finish_judge_run: no judge_runs row {judge_run_key!r}; call start_judge_run first")
        return dict(conn.execute(sa.select(judge_runs).where(judge_runs.c.judge_run_key == judge_run_key))
                    .one()._mapping)


def judge_run(warehouse: Any, judge_run_key: str) -> dict[str, Any] | None:
    """The judge_runs row of ``judge_run_key``, or None."""
    rows = warehouse.select_rows(sa.select(judge_runs).where(judge_runs.c.judge_run_key == judge_run_key))
    return rows[0] if rows else None


def judge_scores_of(warehouse: Any, judge_run_key: str) -> list[dict[str, Any]]:
    """The judge_scores rows of a run, by trace, span and rubric."""
    c = judge_scores.c
    q = (sa.select(judge_scores).where(c.judge_run_key == judge_run_key)
         .order_by(c.trace_id, c.span_id, c.rubric))
    return warehouse.select_rows(q)


def write_agreement(warehouse: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Upsert agreement rows by (measure_key, rubric); returns rows written."""
    rows = list(rows)
    with warehouse.engine.begin() as conn:
        return upsert(conn, judge_agreement, rows, ["measure_key", "rubric"])


def latest_agreement(warehouse: Any, rubric: str, *, before: dt.datetime | None = None,
                     exclude_key: str | None = None) -> dict[str, Any] | None:
    """The latest agreement measurement of ``rubric`` (measured strictly before ``before``, if given)."""
    c = judge_agreement.c
    q = sa.select(judge_agreement).where(c.rubric == rubric)
    if before is not None:
        q = q.where(c.measured_at < to_utc(before))
    if exclude_key is not None:
        q = q.where(c.measure_key != exclude_key)
    q = q.order_by(c.measured_at.desc(), c.measure_key.desc()).limit(1)
    rows = warehouse.select_rows(q)
    return rows[0] if rows else None


def agreement_history(warehouse: Any, rubric: str | None = None) -> list[dict[str, Any]]:
    """Agreement measurements over time (oldest first), for one rubric or all."""
    c = judge_agreement.c
    q = sa.select(judge_agreement).order_by(c.measured_at, c.rubric, c.measure_key)
    if rubric is not None:
        q = q.where(c.rubric == rubric)
    return warehouse.select_rows(q)
