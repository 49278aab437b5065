"""Aggregate production spans into SLO windows: one core function over an Arrow table, a Parquet file or an fsspec URL.

:func:`aggregate_windows` groups spans by window (``slo.window``, aligned to UTC midnight), model (the response
model, else the requested one) and endpoint, and by each configured slice dimension on top of that (one row per
value of each dimension, plus the ``all`` rollup; not the cross product of the dimensions). Per row: requests, errors,
exact TTFT and end-to-end percentiles (DuckDB ``quantile_cont``, linear interpolation as numpy's default),
output tokens per second, tokens, cost and the bad events of the latency budgets.

Why DuckDB, exact: 10M spans aggregate in ~4 CPU-seconds and under 0.5 GB; pandas takes ~2 GB, and approximate
quantiles (t-digest, ``approx_quantile``) missed the worst group's p99 by 14-20% on the same data (docs/slo.md).

Bad input is counted, not hidden: a missing or negative duration is counted in ``n_bad_duration`` and left out of
the latency figures; a negative TTFT is left out of the TTFT figures; a span with no cost (carried, or from the
price table on its start date) is counted in ``n_cost_unknown`` and never as 0; a span that ended after it was
ingested (beyond ``slo.clock_skew_s``) is counted in ``n_clock_skew``. Latency and TTFT figures cover answered
(ok) spans only: failed calls often fail fast and would make latency look better.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from llmmon.errors import LlmmonError

if TYPE_CHECKING:
    import pyarrow as pa

    from llmmon.config import Price
    from llmmon.slo_config import SloConfig

SPAN_COLUMNS = (
    "start_time", "end_time", "duration_s", "ttft_s", "status", "request_model", "response_model", "input_tokens",
    "output_tokens", "cost_usd", "endpoint", "model_version", "prompt_template", "user_segment", "replica",
    "ingested_at",
)
REQUIRED_COLUMNS = ("start_time", "status")
_SQL_TYPES = {
    "start_time": "TIMESTAMPTZ", "end_time": "TIMESTAMPTZ", "ingested_at": "TIMESTAMPTZ", "duration_s": "DOUBLE",
    "ttft_s": "DOUBLE", "cost_usd": "DOUBLE", "input_tokens": "BIGINT", "output_tokens": "BIGINT",
}
_US = 1_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_FOREVER_US = 2**62


class SloInputError(LlmmonError):
    """Spans handed to the aggregation cannot be read: no such file, or a required column is missing."""


def _price_rows(prices: Iterable[Price]) -> list[tuple[str, int, int, float, float]]:
    """(model, from_us, to_us, input rate, output rate): each entry in force from its day until the next entry."""
    by_model: dict[str, list[Price]] = {}
    for p in prices:
        by_model.setdefault(p.model, []).append(p)
    rows = []
    for model, entries in by_model.items():
        entries.sort(key=lambda p: p.effective_from)
        starts = [int((dt.datetime.combine(p.effective_from, dt.time(), dt.UTC) - _EPOCH).total_seconds()) * _US
                  for p in entries]
        for i, p in enumerate(entries):
            end = starts[i + 1] if i + 1 < len(entries) else _FOREVER_US
            rows.append((model, starts[i], end, float(p.input_per_mtok), float(p.output_per_mtok)))
    return rows


def _register_source(con: Any, source: Any) -> list[str]:
    """Make the spans readable as relation ``raw_spans``; return its column names."""
    import pyarrow as pa

    if isinstance(source, pa.Table | pa.RecordBatchReader):
        con.register("raw_spans", source)
        names = list(source.schema.names)
        return names
    if not isinstance(source, str):
        raise SloInputError(f"spans must be a pyarrow Table, a RecordBatchReader or a Parquet path/URL, got "
                            f"{type(source).__name__}")
    protocol, sep, rest = source.partition("://")
    if sep and protocol == "file":
        source = rest  # DuckDB reads local paths itself
    elif sep:  # s3://, gs://, memory://...: through fsspec
        import fsspec

        con.register_filesystem(fsspec.filesystem(protocol))
    quoted = source.replace("'", "''")
    try:
        con.execute(f"CREATE VIEW raw_spans AS SELECT * FROM read_parquet('{quoted}')")
        return [r[0] for r in con.execute("DESCRIBE raw_spans").fetchall()]
    except Exception as exc:  # duckdb.IOException and friends: name the source
        raise SloInputError(f"cannot read spans from {source!r}: {exc}") from exc


def _span_view(con: Any, names: Sequence[str]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise SloInputError(f"spans lack required column(s) {missing}; columns are: {', '.join(names)}")
    select = []
    for col in SPAN_COLUMNS:
        sql_type = _SQL_TYPES.get(col, "VARCHAR")
        if col in names:
            select.append(f'CAST("{col}" AS {sql_type}) AS {col}')
        else:
            select.append(f"CAST(NULL AS {sql_type}) AS {col}")
    con.execute(f"CREATE VIEW spans AS SELECT {', '.join(select)} FROM raw_spans WHERE start_time IS NOT NULL")


def _sql(window_us: int, dimension: str | None, ttft_slow: float | None, latency_slow: float | None,
         skew_us: int) -> str:
    """One grouping: (window, model, endpoint) for the ``all`` rollup, or plus one slice dimension. One query per
    grouping, not GROUPING SETS: exact quantiles hold every group's values, and one grouping at a time keeps the
    memory of the largest grouping, not of all of them at once."""
    if dimension is None:
        dims, group, dim_name, value = "", "GROUP BY w, model, endpoint", "'all'", "''"
    else:
        dims = f"coalesce(s.{dimension}, '') AS {dimension},"
        group, dim_name, value = f"GROUP BY w, model, endpoint, {dimension}", f"'{dimension}'", dimension
    ttft_bad = f"count_if(ttft > {ttft_slow!r})" if ttft_slow is not None else "0"
    lat_bad = f"count_if(lat > {latency_slow!r})" if latency_slow is not None else "0"
    cost = ("coalesce(s.cost_usd, (s.input_tokens * p1.rate_in + s.output_tokens * p1.rate_out) / 1e6, "
            "(s.input_tokens * p2.rate_in + s.output_tokens * p2.rate_out) / 1e6)")
    return f"""
WITH s AS (
  SELECT *, epoch_us(start_time) AS start_us FROM spans
), x AS (
  SELECT
    (s.start_us // {window_us}) * {window_us} AS w,
    coalesce(s.response_model, s.request_model, '') AS model,
    coalesce(s.endpoint, '') AS endpoint,
    {dims}
    s.status = 'error' AS err,
    CASE WHEN s.status <> 'error' AND s.duration_s >= 0 THEN s.duration_s END AS lat,
    s.duration_s IS NULL OR s.duration_s < 0 AS bad_dur,
    CASE WHEN s.status <> 'error' AND s.ttft_s >= 0 THEN s.ttft_s END AS ttft,
    CASE WHEN s.status <> 'error' AND s.output_tokens > 0 AND s.duration_s - coalesce(s.ttft_s, 0) > 0
         THEN s.duration_s - coalesce(s.ttft_s, 0) END AS gen_s,
    coalesce(s.input_tokens, 0) AS itok,
    coalesce(s.output_tokens, 0) AS otok,
    {cost} AS cost,
    coalesce(epoch_us(s.end_time), s.start_us + CAST(s.duration_s * 1e6 AS BIGINT))
      > epoch_us(s.ingested_at) + {skew_us} AS skew
  FROM s
  LEFT JOIN prices p1 ON p1.model = s.response_model AND s.start_us >= p1.from_us AND s.start_us < p1.to_us
  LEFT JOIN prices p2 ON p2.model = s.request_model AND s.start_us >= p2.from_us AND s.start_us < p2.to_us
)
SELECT
  w AS window_start_us, model, endpoint, {dim_name} AS dimension, {value} AS value,
  count(*) AS n_requests, count_if(err) AS n_errors, count(lat) AS n_latency, count_if(bad_dur) AS n_bad_duration,
  count(ttft) AS n_ttft,
  quantile_cont(ttft, [0.5, 0.95, 0.99]) AS ttft_q, quantile_cont(lat, [0.5, 0.95, 0.99]) AS lat_q,
  sum(CASE WHEN gen_s IS NOT NULL THEN otok END) / sum(gen_s) AS output_tokens_per_s,
  sum(itok) AS input_tokens, sum(otok) AS output_tokens,
  count(cost) AS n_priced, sum(cost) AS cost_usd,
  {ttft_bad} AS n_ttft_slow, {lat_bad} AS n_latency_slow, count_if(skew) AS n_clock_skew
FROM x
{group}
"""


def aggregate_windows(
    source: Any,
    config: SloConfig,
    prices: Iterable[Price] = (),
    *,
    computed_at: dt.datetime | None = None,
) -> pa.Table:
    """Spans (a pyarrow Table or RecordBatchReader with :data:`SPAN_COLUMNS`, or a Parquet path, glob or fsspec URL)
    aggregated into ``slo_windows`` rows, as a pyarrow Table with the table's columns.

    Only ``start_time`` and ``status`` are required; a missing column reads as null (no TTFT column: no TTFT
    figures). Timestamps must be timezone-aware (or UTC). ``prices``: the price table entries used for spans
    that carry no cost.
    """
    import duckdb
    import pyarrow as pa

    window_us = int(config.window.total_seconds()) * _US
    obj = config.objectives
    con = duckdb.connect(config={"threads": config.duckdb_threads, "memory_limit": config.duckdb_memory_limit})
    try:
        con.execute("SET TimeZone = 'UTC'")
        names = _register_source(con, source)
        _span_view(con, names)
        price_rows = _price_rows(prices)
        con.register("prices", pa.table({
            "model": pa.array([r[0] for r in price_rows], pa.string()),
            "from_us": pa.array([r[1] for r in price_rows], pa.int64()),
            "to_us": pa.array([r[2] for r in price_rows], pa.int64()),
            "rate_in": pa.array([r[3] for r in price_rows], pa.float64()),
            "rate_out": pa.array([r[4] for r in price_rows], pa.float64()),
        }))
        con.execute("SET preserve_insertion_order = false")
        parts = []
        for dimension in (None, *config.slices):
            sql = _sql(window_us, dimension, obj.ttft_p95_s, obj.latency_p99_s, int(config.clock_skew_s * _US))
            try:
                parts.append(con.sql(sql).to_arrow_table())
            except duckdb.Error as exc:
                raise SloInputError(f"cannot aggregate the spans: {exc}") from exc
        agg = pa.concat_tables(parts)
    finally:
        con.close()
    return _finish(agg, config, computed_at or dt.datetime.now(dt.UTC))


def _finish(agg: pa.Table, config: SloConfig, computed_at: dt.datetime) -> pa.Table:
    """Derived columns (rates, per-request cost, percentiles out of their lists, window bounds, sparse flag)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ts = pa.timestamp("us", tz="UTC")
    start = pc.cast(agg.column("window_start_us"), ts)
    end = pc.cast(pc.add(agg.column("window_start_us"), int(config.window.total_seconds()) * _US), ts)
    n = agg.column("n_requests")
    n_priced = agg.column("n_priced")
    cost = agg.column("cost_usd")
    per_request = pc.if_else(pc.greater(n_priced, 0), pc.divide(cost, pc.cast(n_priced, pa.float64())), None)

    def quantile(col: str, i: int) -> pa.Array:
        return pc.list_element(pc.fill_null(agg.column(col), pa.scalar([None, None, None], pa.list_(pa.float64()))),
                               i)

    obj = config.objectives
    n_rows = agg.num_rows
    columns = {
        "window_start": start, "model": agg.column("model"), "endpoint": agg.column("endpoint"),
        "dimension": agg.column("dimension"), "value": agg.column("value"), "window_end": end,
        "n_requests": n, "n_errors": agg.column("n_errors"),
        "error_rate": pc.divide(pc.cast(agg.column("n_errors"), pa.float64()), pc.cast(n, pa.float64())),
        "n_latency": agg.column("n_latency"), "n_bad_duration": agg.column("n_bad_duration"),
        "n_ttft": agg.column("n_ttft"),
        "ttft_p50_s": quantile("ttft_q", 0), "ttft_p95_s": quantile("ttft_q", 1), "ttft_p99_s": quantile("ttft_q", 2),
        "latency_p50_s": quantile("lat_q", 0), "latency_p95_s": quantile("lat_q", 1),
        "latency_p99_s": quantile("lat_q", 2),
        "output_tokens_per_s": agg.column("output_tokens_per_s"),
        "input_tokens": agg.column("input_tokens"), "output_tokens": agg.column("output_tokens"),
        "n_priced": n_priced, "n_cost_unknown": pc.subtract(n, n_priced),
        "cost_usd": cost, "cost_per_request_usd": per_request,
        "cost_per_1k_usd": pc.multiply(per_request, 1000.0),
        "ttft_slow_s": pa.array([obj.ttft_p95_s] * n_rows, pa.float64()),
        "n_ttft_slow": agg.column("n_ttft_slow"),
        "latency_slow_s": pa.array([obj.latency_p99_s] * n_rows, pa.float64()),
        "n_latency_slow": agg.column("n_latency_slow"),
        "error_rate_objective": pa.array([obj.error_rate] * n_rows, pa.float64()),
        "n_clock_skew": agg.column("n_clock_skew"),
        "sparse": pc.less(n, config.min_requests),
        "computed_at": pa.array([computed_at] * n_rows, ts),
    }
    ints = ("n_requests", "n_errors", "n_latency", "n_bad_duration", "n_ttft", "input_tokens", "output_tokens",
            "n_priced", "n_cost_unknown", "n_ttft_slow", "n_latency_slow", "n_clock_skew")
    for name in ints:
        columns[name] = pc.cast(pc.fill_null(columns[name], 0), pa.int64())
    for name in ("output_tokens_per_s", "cost_usd"):
        columns[name] = pc.cast(columns[name], pa.float64())
    table = pa.table(columns)
    return table.sort_by([("window_start", "ascending"), ("model", "ascending"), ("endpoint", "ascending"),
                          ("dimension", "ascending"), ("value", "ascending")])
