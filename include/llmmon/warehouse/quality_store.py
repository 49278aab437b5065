"""Reads and writes of the quality capability: spans to check, judge scores to compare, and the per-window results.

Results are written window by window: each write deletes what the window held and inserts the new rows in one
transaction, so recomputing a window (a retried task, late spans) replaces it, and a slice that vanished from the
window vanishes from the table too. Functions take a :class:`~llmmon.warehouse.Warehouse`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from llmmon.errors import ConfigError
from llmmon.warehouse.schema import WarehouseError, metadata, to_utc
from llmmon.warehouse.schema_quality import judge_shift, traffic_quality
from llmmon.warehouse.store import READ_ONLY
from llmmon.warehouse.upsert import normalize_rows

if TYPE_CHECKING:
    from llmmon.quality_config import FeedbackSource
    from llmmon.warehouse import Warehouse

SPAN_CHECK_COLUMNS = (
    "trace_id", "span_id", "status", "endpoint", "model_version", "prompt_template", "user_segment",
    "completion", "finish_reason", "reference",
)
SCORE_COLUMNS = (
    "trace_id", "span_id", "rubric", "rubric_version", "stratum", "endpoint", "score", "window_start", "judged_at",
)
_STREAM_BATCH = 5000


def _table(name: str, owner: str) -> sa.Table:
    table = metadata.tables.get(name)
    if table is None:  # the capability's schema module defines it; without it there is nothing to read
        raise WarehouseError(f"table {name} is not in llmmon's schema (it belongs to {owner})")
    return table


def _check_window(rows: Sequence[dict[str, Any]], starts: set[dt.datetime], what: str) -> None:
    for i, row in enumerate(rows):
        if to_utc(row["window_start"]) not in starts:
            raise WarehouseError(
                f"{what}: row {i} has window_start {row['window_start']} outside the windows being replaced "
                f"({', '.join(sorted(s.isoformat() for s in starts))})"
            )


# -- traffic_quality ------------------------------------------------------------------------------------------


def replace_quality_windows(
    warehouse: Warehouse, window_starts: Sequence[dt.datetime], rows: Sequence[dict[str, Any]]
) -> int:
    """Replace every ``traffic_quality`` row of the given windows with ``rows``, in one transaction."""
    starts = {to_utc(s) for s in window_starts}
    _check_window(rows, starts, "replace_quality_windows")
    batch = normalize_rows(traffic_quality, rows, "replace_quality_windows")
    with warehouse.engine.begin() as conn:
        if starts:
            conn.execute(sa.delete(traffic_quality).where(traffic_quality.c.window_start.in_(sorted(starts))))
        if batch:
            conn.execute(sa.insert(traffic_quality), batch)
    return len(batch)


def quality_rows(
    warehouse: Warehouse, *, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """``traffic_quality`` rows with ``start <= window_start < end`` (either bound optional), in window and slice
    order."""
    c = traffic_quality.c
    q = sa.select(traffic_quality).order_by(c.window_start, c.endpoint, c.model_version, c.prompt_template,
                                            c.user_segment)
    if start is not None:
        q = q.where(c.window_start >= start)
    if end is not None:
        q = q.where(c.window_start < end)
    return warehouse.select_rows(q)


def refusal_reference(
    warehouse: Warehouse, *, start: dt.datetime, end: dt.datetime
) -> dict[tuple[str, str, str], tuple[int, int]]:
    """Answered spans and refusals per (endpoint, prompt_template, user_segment), all model versions, over the
    windows with ``start <= window_start < end``: the reference a window's refusal rate is compared with."""
    c = traffic_quality.c
    q = (
        sa.select(c.endpoint, c.prompt_template, c.user_segment, sa.func.sum(c.n_ok).label("n_ok"),
                  sa.func.sum(c.n_refusals).label("n_refusals"))
        .where(c.window_start >= start, c.window_start < end)
        .group_by(c.endpoint, c.prompt_template, c.user_segment)
    )
    return {(r["endpoint"], r["prompt_template"], r["user_segment"]): (int(r["n_ok"] or 0), int(r["n_refusals"] or 0))
            for r in warehouse.select_rows(q)}


# -- judge_shift ------------------------------------------------------------------------------------------------


def replace_judge_shift(warehouse: Warehouse, window_start: dt.datetime, rows: Sequence[dict[str, Any]]) -> int:
    """Replace every ``judge_shift`` row of the window starting at ``window_start`` with ``rows``, in one transaction."""
    start = to_utc(window_start)
    _check_window(rows, {start}, "replace_judge_shift")
    batch = normalize_rows(judge_shift, rows, "replace_judge_shift")
    with warehouse.engine.begin() as conn:
        conn.execute(sa.delete(judge_shift).where(judge_shift.c.window_start == start))
        if batch:
            conn.execute(sa.insert(judge_shift), batch)
    return len(batch)


def judge_shift_rows(warehouse: Warehouse, *, window_start: dt.datetime | None = None) -> list[dict[str, Any]]:
    """``judge_shift`` rows (of one window, or all), in window, endpoint, rubric and stratum order."""
    c = judge_shift.c
    q = sa.select(judge_shift).order_by(c.window_start, c.endpoint, c.rubric, c.stratum)
    if window_start is not None:
        q = q.where(c.window_start == to_utc(window_start))
    return warehouse.select_rows(q)


# -- inputs: spans and judge scores -----------------------------------------------------------------------------


def iter_spans(warehouse: Warehouse, start: dt.datetime, end: dt.datetime) -> Iterator[Mapping[str, Any]]:
    """The ``llm_spans`` columns the checks read (``SPAN_CHECK_COLUMNS``), for spans with
    ``start <= start_time < end``, as read-only mappings streamed in batches (memory stays flat however many spans
    a window holds)."""
    spans = _table("llm_spans", "the traffic capability")
    q = (sa.select(*(spans.c[name] for name in SPAN_CHECK_COLUMNS))
         .where(spans.c.start_time >= start, spans.c.start_time < end))
    with warehouse.engine.connect() as conn:
        conn = conn.execution_options(**{READ_ONLY: True}, yield_per=_STREAM_BATCH)
        for row in conn.execute(q):
            yield row._mapping


def _feedback_table(warehouse: Warehouse, source: FeedbackSource) -> sa.TableClause:
    schema, _, name = source.table.rpartition(".")
    if not sa.inspect(warehouse.engine).has_table(name, schema=schema or None):
        raise ConfigError(f"quality.feedback.table: table {source.table!r} does not exist in the warehouse database")
    cols = [source.span_id_column, source.value_column] + ([source.trace_id_column] if source.trace_id_column else [])
    return sa.table(name, *(sa.column(c) for c in cols), schema=schema or None)


def feedback_values(
    warehouse: Warehouse, source: FeedbackSource, start: dt.datetime, end: dt.datetime
) -> dict[tuple[str | None, str], list[Any]]:
    """The feedback values of spans with ``start <= start_time < end``, keyed by ``(trace_id, span_id)`` (trace_id
    None when the feedback table has no trace id column); a span may have several."""
    spans = _table("llm_spans", "the traffic capability")
    fb = _feedback_table(warehouse, source)
    on = fb.c[source.span_id_column] == spans.c.span_id
    if source.trace_id_column:
        on = sa.and_(on, fb.c[source.trace_id_column] == spans.c.trace_id)
    q = (sa.select(spans.c.trace_id, spans.c.span_id, fb.c[source.value_column].label("value"))
         .join_from(spans, fb, on)
         .where(spans.c.start_time >= start, spans.c.start_time < end, fb.c[source.value_column].is_not(None)))
    out: dict[tuple[str | None, str], list[Any]] = {}
    for row in warehouse.select_rows(q):
        key = (row["trace_id"] if source.trace_id_column else None, row["span_id"])
        out.setdefault(key, []).append(row["value"])
    return out


def judge_scores_between(warehouse: Warehouse, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Pointwise judge scores (score not null: judge errors left out) of the judging windows with
    ``start <= window_start < end``, oldest judgement first."""
    scores = _table("judge_scores", "the judge capability")
    c = scores.c
    q = (sa.select(*(c[name] for name in SCORE_COLUMNS))
         .where(c.window_start >= start, c.window_start < end, c.score.is_not(None), c.kind == "pointwise")
         .order_by(c.judged_at, c.judge_run_key))
    return warehouse.select_rows(q)
